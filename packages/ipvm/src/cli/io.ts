/** Where a command writes; a terminal gets colour and progress, a pipe gets plain text. */
export interface CliIO {
  stdout: { write: (text: string) => unknown, isTTY?: boolean }
  stderr: { write: (text: string) => unknown, isTTY?: boolean }
}

/** Exit codes: 0 all good, 1 a task failed, 2 bad input (usage, unreadable or invalid file). */
export const EXIT_OK = 0
export const EXIT_FAILED = 1
export const EXIT_BAD_INPUT = 2

/** A problem with the command line or its input: printed as one line, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}
