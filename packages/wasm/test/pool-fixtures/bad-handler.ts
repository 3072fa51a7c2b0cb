// A module with no run() and no default export: the pool must refuse it at start-up.
export const nothing = 1
