import { IpvmError, registerError } from '@ipvm/core'

/**
 * A job ran longer than its wall-clock limit (`timeoutMs`). The worker running it was terminated and
 * replaced; `details.limit` is the limit in milliseconds.
 */
export class TimeoutError extends IpvmError {
  static override readonly name = 'TimeoutError'
  static override readonly code = 'ERR_TIMEOUT'

  constructor (limit: number, message = `the job exceeded its time limit of ${limit} ms`) {
    super(message, { limit })
  }
}

/** Why a worker died underneath a job. */
export type CrashReason = 'exit' | 'error' | 'out-of-memory'

/**
 * The worker running a job died (uncaught exception, `process.exit`/`self.close()`, out of memory).
 * Only that worker's job fails with this; the pool replaces the worker.
 * `details`: `{ reason, workerId, exitCode?, cause? }`.
 */
export class WorkerCrashedError extends IpvmError {
  static override readonly name = 'WorkerCrashedError'
  static override readonly code = 'ERR_WORKER_CRASHED'
}

/** A worker could not be started: its script or the handler module failed to load or initialise. */
export class WorkerStartError extends IpvmError {
  static override readonly name = 'WorkerStartError'
  static override readonly code = 'ERR_WORKER_START'
}

/** The pool was stopped while the job was queued or running, or `run()` was called after `stop()`. */
export class PoolStoppedError extends IpvmError {
  static override readonly name = 'PoolStoppedError'
  static override readonly code = 'ERR_POOL_STOPPED'

  constructor (message = 'the worker pool was stopped') {
    super(message)
  }
}

for (const ErrorClass of [TimeoutError, WorkerCrashedError, WorkerStartError, PoolStoppedError]) {
  registerError(ErrorClass)
}
