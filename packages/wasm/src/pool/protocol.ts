import type { SerializedError } from '@ipvm/core'

/**
 * What a handler module is given with each job. `transfer` lists buffers of the result to move back
 * to the main thread instead of copying them (they become detached in the worker).
 */
export interface JobContext {
  transfer (...transferables: Transferable[]): void
}

/** Runs one job inside a worker. Throwing (or rejecting) fails only this job; the worker stays up. */
export type JobHandler<Job = unknown, Result = unknown> = (job: Job, context: JobContext) => Result | Promise<Result>

/**
 * The shape of a handler module. The worker imports it once at start-up, calls `init(options)` if
 * present, then `run` (or a default-exported function) for every job.
 */
export interface HandlerModule<Job = unknown, Result = unknown> {
  run?: JobHandler<Job, Result>
  default?: JobHandler<Job, Result> | { run: JobHandler<Job, Result> }
  init?: (options: unknown) => void | Promise<void>
}

/** How the worker finds its handler: a module URL (string form) and structured-cloneable options. */
export interface HandlerSpec {
  url?: string
  options?: unknown
}

/**
 * Errors are returned as data rather than thrown because comlink only keeps `name`, `message` and
 * `stack` of a thrown Error; the pool needs `code` and `details` too.
 */
export type WorkerReply =
  | { ok: true, value: unknown }
  | { ok: false, error: SerializedError }

/** The API a pool worker exposes through comlink. */
export interface WorkerApi {
  init (spec: HandlerSpec): Promise<void>
  run (job: unknown): Promise<WorkerReply>
}

/**
 * Sent by a browser worker just before `self.close()`: a closed Web Worker fires no event on the
 * main thread, so without it the pool would wait forever for the job it was running.
 */
export const CLOSING_MESSAGE = 'ipvm:worker-closing'
