// Never finishes loading: its worker must be given up after startTimeoutMs.
const until = (globalThis as { __forever?: number }).__forever ?? Number.POSITIVE_INFINITY
for (let i = 0; i < until; i++) { /* spin */ }

export function run (): void {}
