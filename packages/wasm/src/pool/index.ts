/**
 * The worker pool: run jobs on Web Workers / worker_threads through comlink, with FIFO queueing,
 * cancellation, wall-clock time limits, crash healing and a warm spare worker.
 */
export { createWorkerPool } from './pool.js'
export type { JobOutcome, PoolProgressEvent, PoolProgressListener, PoolStats, ReplaceReason, RunOptions, WorkerPool, WorkerPoolOptions } from './pool.js'
export { PoolStoppedError, TimeoutError, WorkerCrashedError, WorkerStartError } from './errors.js'
export type { CrashReason } from './errors.js'
export { createWorkerApi } from './worker.js'
export type { HandlerModule, JobContext, JobHandler, WorkerApi } from './protocol.js'
export type { NodeResourceLimits } from './platform.js'
