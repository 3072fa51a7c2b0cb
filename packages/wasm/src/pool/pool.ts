/**
 * A pool of Web Workers (browsers) or worker_threads (Node) driven with comlink. Generic over the
 * job: each worker loads a handler module and calls it once per job. Jobs wait in FIFO order for an
 * idle worker; a job that times out, is aborted while running, or whose worker crashes costs only its
 * own worker, which is replaced (from a warm spare when there is one).
 */
import { AbortError, deserializeError } from '@ipvm/core'
import * as Comlink from 'comlink'
import { PoolStoppedError, TimeoutError, WorkerCrashedError, WorkerStartError } from './errors.js'
import { defaultPoolSize, loadPlatform, type NodeResourceLimits, type Platform, type SpawnOptions, type WorkerDeath, type WorkerHandle } from './platform.js'
import type { HandlerSpec, WorkerApi, WorkerReply } from './protocol.js'

/** Stands in for a worker whose constructor threw, so the failure takes the ordinary start-failure path. */
function brokenHandle (err: unknown): WorkerHandle {
  const api: WorkerApi = {
    init: async () => { throw err },
    run: async () => { throw err }
  }
  return {
    remote: api as unknown as Comlink.Remote<WorkerApi>,
    terminate: async () => {},
    onDeath: () => {}
  }
}

/** Why a worker was replaced. */
export type ReplaceReason = 'timeout' | 'crash' | 'abort'

/** How a job ended. */
export type JobOutcome = 'ok' | 'error' | 'timeout' | 'abort' | 'crash' | 'stopped'

/** Progress events, `{ type, detail }` as in js-libp2p / Helia's progress events. */
export type PoolProgressEvent =
  | { type: 'job:queued', detail: { jobId: number, queued: number } }
  | { type: 'job:started', detail: { jobId: number, workerId: number } }
  | { type: 'job:finished', detail: { jobId: number, workerId?: number, outcome: JobOutcome } }
  | { type: 'worker:started', detail: { workerId: number, spare: boolean } }
  | { type: 'worker:replaced', detail: { workerId: number, replacementId: number, reason: ReplaceReason, fromSpare: boolean } }

export type PoolProgressListener = (event: PoolProgressEvent) => void

export interface WorkerPoolOptions {
  /** Number of workers running jobs. Default: hardwareConcurrency bounded to [1, 8]. */
  size?: number
  /**
   * Keep one extra started worker that takes over at once when a worker is terminated (timeout,
   * abort, crash); a new spare then starts in the background. Default: true.
   */
  spare?: boolean
  /**
   * URL of the handler module the default worker entry imports (`export function run(job, ctx)` or a
   * default export; optional `init(options)`). Must be loadable by the worker: a file URL in Node
   * (TypeScript from source works under the dev loader), an ES module URL in browsers. To bundle the
   * handler into the worker instead, write a worker entry that calls `createWorkerApi(handler)` and
   * pass it as `workerUrl` / `createWorker`.
   */
  handler?: string | URL
  /** Structured-cloneable value given to the handler's `init(options)` in each worker. */
  handlerOptions?: unknown
  /** A custom worker entry script (module). */
  workerUrl?: string | URL
  /**
   * Browsers: builds a worker from a custom entry, written by the caller as
   * `() => new Worker(new URL('./my-worker.js', import.meta.url), { type: 'module' })` so that the
   * caller's bundler sees and bundles it. Ignored in Node.
   */
  createWorker?: () => Worker
  /**
   * A worker that has not loaded and initialised its handler within this many milliseconds is
   * terminated and counts as failed to start (a hanging `init` must not hold the queue forever).
   * Default: 30 000.
   */
  startTimeoutMs?: number
  /** Node: heap limits of each worker thread (exceeding them crashes only that worker). */
  resourceLimits?: NodeResourceLimits
  /** Every event of the pool. */
  onProgress?: PoolProgressListener
}

export interface RunOptions {
  /** Aborting removes a queued job, or terminates (and replaces) the worker running it. */
  signal?: AbortSignal
  /**
   * Wall-clock limit of the job's execution on a worker (time spent queued is not counted; use
   * `signal: AbortSignal.timeout(ms)` for an overall deadline). When exceeded, the worker is
   * terminated and replaced and the job rejects with a {@link TimeoutError}.
   */
  timeoutMs?: number
  /** Buffers inside `job` to transfer (they become detached here) instead of copying. */
  transfer?: Transferable[]
  /** Events about this job (queued, started, finished, and the replacement of its worker). */
  onProgress?: PoolProgressListener
}

export interface PoolStats {
  /** Configured number of job workers. */
  size: number
  /** Job workers still starting (loading the script and the handler). */
  starting: number
  idle: number
  busy: number
  queued: number
  /** 1 when a warm spare is ready, else 0. */
  spare: number
  /** Workers replaced after a timeout, abort or crash. */
  replaced: number
  /** Jobs that ended, by any outcome. */
  finished: number
}

export interface WorkerPool<Job = unknown, Result = unknown> {
  readonly size: number
  readonly stats: PoolStats
  /** Starts the workers; resolves when all have loaded their handler. `run()` starts the pool too. */
  start (): Promise<void>
  /** Terminates every worker and rejects queued and running jobs with a {@link PoolStoppedError}. */
  stop (): Promise<void>
  run (job: Job, options?: RunOptions): Promise<Result>
}

type SlotState = 'starting' | 'idle' | 'busy' | 'dead'

interface Slot {
  readonly id: number
  readonly handle: WorkerHandle
  state: SlotState
  spare: boolean
  job: PendingJob | undefined
  /**
   * Resolves when the worker has started, failed to, died or was killed: a worker that dies while
   * starting never answers `init`, and `start()` must not wait for it forever.
   */
  ready: Promise<void>
  settle: () => void
}

interface PendingJob {
  readonly id: number
  readonly job: unknown
  readonly transfer: Transferable[]
  readonly timeoutMs: number | undefined
  readonly onProgress: PoolProgressListener | undefined
  readonly resolve: (value: unknown) => void
  readonly reject: (reason: unknown) => void
  readonly detach: () => void
  phase: 'queued' | 'running' | 'done'
  slot: Slot | undefined
  timer: ReturnType<typeof setTimeout> | undefined
}

function validSize (size: number | undefined): number {
  if (size === undefined) return defaultPoolSize()
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`pool size must be a positive integer, got ${size}`)
  return size
}

// setTimeout fires at once for delays above 2^31 - 1 ms (and for Infinity): treat those as "no limit".
const MAX_TIMER_MS = 2 ** 31 - 1

function validTimeout (ms: number | undefined): number | undefined {
  if (ms === undefined) return undefined
  if (typeof ms !== 'number' || Number.isNaN(ms) || ms < 0) throw new RangeError(`timeoutMs must be a non-negative number, got ${ms}`)
  return ms > MAX_TIMER_MS ? undefined : ms
}

function abortReason (signal: AbortSignal): AbortError {
  const reason: unknown = signal.reason
  return new AbortError(reason instanceof Error && reason.message !== '' ? reason.message : undefined)
}

/** Creates a worker pool; workers start on `start()` or the first `run()`. */
export function createWorkerPool<Job = unknown, Result = unknown> (options: WorkerPoolOptions = {}): WorkerPool<Job, Result> {
  const size = validSize(options.size)
  const useSpare = options.spare ?? true
  const startTimeoutMs = validTimeout(options.startTimeoutMs ?? 30_000)
  if (options.handler === undefined && options.workerUrl === undefined && options.createWorker === undefined) {
    throw new TypeError('createWorkerPool needs a handler module URL (handler) or a worker entry (workerUrl / createWorker)')
  }
  let spec: HandlerSpec = {
    ...(options.handler !== undefined ? { url: String(options.handler) } : {}),
    ...(options.handlerOptions !== undefined ? { options: options.handlerOptions } : {})
  }
  let spawnOptions: SpawnOptions = {
    ...(options.workerUrl !== undefined ? { workerUrl: options.workerUrl } : {}),
    ...(options.createWorker !== undefined ? { createWorker: options.createWorker } : {}),
    ...(options.resourceLimits !== undefined ? { resourceLimits: options.resourceLimits } : {})
  }

  let status: 'new' | 'started' | 'stopped' = 'new'
  let platform: Platform | undefined
  let starting: Promise<void> | undefined
  let workers: Slot[] = []
  let spare: Slot | undefined
  let queue: PendingJob[] = []
  let nextWorkerId = 0
  let nextJobId = 0
  let replaced = 0
  let finished = 0

  const emit = (event: PoolProgressEvent, job?: PendingJob): void => {
    // A throwing listener must not break the pool's bookkeeping.
    try { options.onProgress?.(event) } catch {}
    try { job?.onProgress?.(event) } catch {}
  }

  const finish = (p: PendingJob, outcome: JobOutcome, value: unknown): void => {
    if (p.phase === 'done') return
    p.phase = 'done'
    if (p.timer !== undefined) clearTimeout(p.timer)
    p.detach()
    finished++
    emit({ type: 'job:finished', detail: { jobId: p.id, ...(p.slot !== undefined ? { workerId: p.slot.id } : {}), outcome } }, p)
    if (outcome === 'ok') p.resolve(value)
    else p.reject(value)
  }

  const kill = (slot: Slot): void => {
    slot.state = 'dead'
    slot.job = undefined
    slot.settle()
    slot.handle.terminate().catch(() => {})
  }

  const spawn = (asSpare: boolean): Slot => {
    if (platform === undefined) throw new Error('platform not loaded')
    let handle: WorkerHandle
    try {
      handle = platform.spawn(spawnOptions)
    } catch (err) {
      handle = brokenHandle(err)
    }
    let resolveReady!: () => void
    const ready = new Promise<void>((resolve) => { resolveReady = resolve })
    let startTimer: ReturnType<typeof setTimeout> | undefined
    const settle = (): void => {
      if (startTimer !== undefined) clearTimeout(startTimer)
      resolveReady()
    }
    const slot: Slot = { id: ++nextWorkerId, handle, state: 'starting', spare: asSpare, job: undefined, ready, settle }
    handle.onDeath((death) => { onDeath(slot, death) })
    if (startTimeoutMs !== undefined) {
      startTimer = setTimeout(() => {
        if (slot.state !== 'starting') return
        startFailed(slot, new WorkerStartError(`worker ${slot.id} did not start within ${startTimeoutMs} ms`, { workerId: slot.id, reason: 'timeout', limit: startTimeoutMs }))
      }, startTimeoutMs)
    }
    handle.remote.init(spec).then(() => {
      if (slot.state !== 'starting') return
      slot.state = 'idle'
      slot.settle()
      slot.handle.setActive?.(false)
      emit({ type: 'worker:started', detail: { workerId: slot.id, spare: slot.spare } })
      dispatch()
    }, (err: unknown) => {
      if (slot.state !== 'starting') return
      const cause = err instanceof Error ? { name: err.name, message: err.message } : { name: 'Error', message: String(err) }
      startFailed(slot, new WorkerStartError(`worker ${slot.id} failed to start: ${cause.message}`, { workerId: slot.id, cause }))
    })
    return slot
  }

  const startFailed = (slot: Slot, err: WorkerStartError): void => {
    kill(slot)
    if (slot === spare) {
      spare = undefined
      return
    }
    workers = workers.filter((s) => s !== slot)
    // Without any worker alive or coming, queued jobs would wait forever: fail them. Slots are
    // refilled by the next run(), not here, so a handler that never loads cannot spin.
    if (!workers.some((s) => s.state !== 'dead')) {
      for (const p of queue.splice(0)) finish(p, 'error', err)
    }
    starting = undefined
    lastStartError = err
  }
  let lastStartError: WorkerStartError | undefined

  const onDeath = (slot: Slot, death: WorkerDeath): void => {
    if (slot.state === 'dead') return
    if (slot.state === 'starting') {
      startFailed(slot, new WorkerStartError(`worker ${slot.id} died while starting: ${death.message ?? death.reason}`, { workerId: slot.id, ...death }))
      return
    }
    const p = slot.job
    if (p !== undefined) {
      finish(p, 'crash', new WorkerCrashedError(`worker ${slot.id} crashed while running job ${p.id}: ${death.message ?? death.reason}`, { workerId: slot.id, ...death }))
    }
    if (slot === spare) {
      kill(slot)
      spare = undefined
      refillSpare()
      return
    }
    replace(slot, 'crash', p)
  }

  const refillSpare = (): void => {
    if (useSpare && status === 'started' && spare === undefined) spare = spawn(true)
  }

  /** Terminates `slot` and puts a worker in its place: the spare (even if still starting) or a new one. */
  const replace = (slot: Slot, reason: ReplaceReason, cause: PendingJob | undefined): void => {
    kill(slot)
    let replacement: Slot
    let fromSpare = false
    if (spare !== undefined) {
      replacement = spare
      replacement.spare = false
      spare = undefined
      fromSpare = true
    } else {
      replacement = spawn(false)
    }
    workers = workers.map((s) => s === slot ? replacement : s)
    replaced++
    emit({ type: 'worker:replaced', detail: { workerId: slot.id, replacementId: replacement.id, reason, fromSpare } }, cause)
    // Hand queued jobs to the promoted spare before paying for a new Worker on this thread.
    dispatch()
    refillSpare()
  }

  const execute = (slot: Slot, p: PendingJob): void => {
    slot.state = 'busy'
    slot.job = p
    slot.handle.setActive?.(true)
    p.slot = slot
    p.phase = 'running'
    emit({ type: 'job:started', detail: { jobId: p.id, workerId: slot.id } }, p)
    if (p.timeoutMs !== undefined) {
      const limit = p.timeoutMs
      p.timer = setTimeout(() => {
        if (slot.job !== p) return
        finish(p, 'timeout', new TimeoutError(limit))
        replace(slot, 'timeout', p)
      }, limit)
    }
    let call: Promise<WorkerReply>
    try {
      call = slot.handle.remote.run(p.transfer.length > 0 ? Comlink.transfer(p.job, p.transfer) : p.job)
    } catch (err) {
      call = Promise.reject(err)
    }
    call.then((reply) => {
      if (slot.job !== p) return // settled already: timeout, abort, crash or stop
      slot.job = undefined
      slot.state = 'idle'
      slot.handle.setActive?.(false)
      if (reply.ok) finish(p, 'ok', reply.value)
      else finish(p, 'error', deserializeError(reply.error))
      dispatch()
    }, (err: unknown) => {
      // The job could not be posted (e.g. a DataCloneError); the worker itself is unaffected.
      if (slot.job !== p) return
      slot.job = undefined
      slot.state = 'idle'
      slot.handle.setActive?.(false)
      finish(p, 'error', err)
      dispatch()
    })
  }

  const dispatch = (): void => {
    while (queue.length > 0) {
      const slot = workers.find((s) => s.state === 'idle')
      if (slot === undefined) return
      const p = queue.shift()!
      execute(slot, p)
    }
  }

  /** Brings the job workers back to `size` (after a failed start) and starts the spare. */
  const fill = (): Slot[] => {
    const added: Slot[] = []
    while (workers.length < size) {
      const slot = spawn(false)
      workers.push(slot)
      added.push(slot)
    }
    if (spare === undefined) {
      refillSpare()
      if (spare !== undefined) added.push(spare)
    }
    return added
  }

  const start = async (): Promise<void> => {
    if (status === 'started' && starting !== undefined) return await starting
    status = 'started'
    lastStartError = undefined
    starting = (async () => {
      try {
        if (platform === undefined) {
          const loaded = await loadPlatform()
          if (loaded.prepare !== undefined) ({ options: spawnOptions, spec } = await loaded.prepare(spawnOptions, spec))
          platform = loaded
        }
      } catch (err) {
        const error = new WorkerStartError(`the worker platform failed to load: ${err instanceof Error ? err.message : String(err)}`)
        for (const p of queue.splice(0)) finish(p, 'error', error)
        throw error
      }
      if (status !== 'started') return
      const added = fill()
      await Promise.all(added.map(async (s) => await s.ready))
      // A spare that failed to start is not fatal: only job workers count.
      if (lastStartError !== undefined && added.some((s) => s.state === 'dead' && !s.spare)) throw lastStartError
    })()
    const current = starting
    try {
      await current
    } catch (err) {
      if (starting === current) starting = undefined
      throw err
    }
  }

  const stop = async (): Promise<void> => {
    status = 'stopped'
    starting = undefined
    const err = new PoolStoppedError()
    for (const p of queue.splice(0)) finish(p, 'stopped', err)
    const all = spare !== undefined ? [...workers, spare] : [...workers]
    workers = []
    spare = undefined
    for (const slot of all) {
      if (slot.job !== undefined) finish(slot.job, 'stopped', err)
      slot.state = 'dead'
      slot.job = undefined
      slot.settle()
    }
    await Promise.all(all.map(async (slot) => { await slot.handle.terminate().catch(() => {}) }))
  }

  const run = async (job: Job, runOptions: RunOptions = {}): Promise<Result> => {
    if (status === 'stopped') throw new PoolStoppedError()
    const timeoutMs = validTimeout(runOptions.timeoutMs)
    const { signal } = runOptions
    if (signal?.aborted === true) throw abortReason(signal)

    let resolve!: (value: unknown) => void
    let reject!: (reason: unknown) => void
    const promise = new Promise<unknown>((res, rej) => { resolve = res; reject = rej })
    const onAbort = (): void => {
      if (signal === undefined) return
      if (p.phase === 'queued') {
        queue = queue.filter((q) => q !== p)
        finish(p, 'abort', abortReason(signal))
      } else if (p.phase === 'running' && p.slot !== undefined) {
        const slot = p.slot
        finish(p, 'abort', abortReason(signal))
        replace(slot, 'abort', p)
      }
    }
    const p: PendingJob = {
      id: ++nextJobId,
      job,
      transfer: runOptions.transfer ?? [],
      timeoutMs,
      onProgress: runOptions.onProgress,
      resolve,
      reject,
      detach: () => { signal?.removeEventListener('abort', onAbort) },
      phase: 'queued',
      slot: undefined,
      timer: undefined
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    queue.push(p)
    emit({ type: 'job:queued', detail: { jobId: p.id, queued: queue.length } }, p)

    if (status === 'new' || starting === undefined) {
      // First use, or refilling after a failed start: start() fails the queue itself if no worker can start.
      start().catch(() => {})
    } else {
      dispatch()
    }
    return await promise as Result
  }

  return {
    get size () { return size },
    get stats (): PoolStats {
      return {
        size,
        starting: workers.filter((s) => s.state === 'starting').length,
        idle: workers.filter((s) => s.state === 'idle').length,
        busy: workers.filter((s) => s.state === 'busy').length,
        queued: queue.length,
        spare: spare?.state === 'idle' ? 1 : 0,
        replaced,
        finished
      }
    },
    start,
    stop,
    run
  }
}
