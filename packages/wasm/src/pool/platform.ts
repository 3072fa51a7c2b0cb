import type { Remote } from 'comlink'
import type { CrashReason } from './errors.js'
import type { HandlerSpec, WorkerApi } from './protocol.js'

/** How a worker died on its own (not through `terminate()`). */
export interface WorkerDeath {
  reason: CrashReason
  exitCode?: number
  message?: string
}

/** Node worker_threads heap limits; a worker exceeding them dies with reason `out-of-memory`. */
export interface NodeResourceLimits {
  maxOldGenerationSizeMb?: number
  maxYoungGenerationSizeMb?: number
  codeRangeSizeMb?: number
  stackSizeMb?: number
}

/** What a platform needs to start one worker. */
export interface SpawnOptions {
  /** A worker entry script that exposes the worker API (see `createWorkerApi`). */
  workerUrl?: string | URL
  /** Browser: builds the Worker, so bundlers see a literal `new Worker(new URL(…))` in the caller's code. */
  createWorker?: () => Worker
  /** Node only. */
  resourceLimits?: NodeResourceLimits
}

/** One started worker, as the pool sees it. */
export interface WorkerHandle {
  readonly remote: Remote<WorkerApi>
  /** Stops the worker; the death callback is not called for this. */
  terminate (): Promise<void>
  /**
   * Node: whether the worker keeps the process alive. Idle workers don't, so a program that forgets
   * `stop()` still exits; starting and busy ones do, so a pending job is never abandoned.
   */
  setActive?: (active: boolean) => void
  /** `callback` runs at most once, when the worker dies by itself (crash, exit, close). */
  onDeath (callback: (death: WorkerDeath) => void): void
}

export interface Platform {
  /** Once per start: resolves the worker entry and handler URLs (Node bundles TypeScript ones here). */
  prepare?: (options: SpawnOptions, spec: HandlerSpec) => Promise<{ options: SpawnOptions, spec: HandlerSpec }>
  spawn (options: SpawnOptions): WorkerHandle
}

/** True in Node (and runtimes that offer its worker_threads), false in browsers and Web Workers. */
export function isNode (): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: unknown } } }).process
  return typeof proc?.versions?.node === 'string' && typeof (globalThis as { window?: unknown }).window === 'undefined'
}

/** hardwareConcurrency bounded to [1, 8]; Node 20 has no `navigator`, so ask `os` there. */
export function defaultPoolSize (): number {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator
  let n = nav?.hardwareConcurrency
  if (typeof n !== 'number') {
    type Os = { availableParallelism?: () => number, cpus?: () => unknown[] }
    const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => Os | undefined } }).process
    const os = proc?.getBuiltinModule?.('node:os')
    n = os?.availableParallelism?.() ?? os?.cpus?.().length ?? 4
  }
  return Math.min(8, Math.max(1, Math.floor(n)))
}

/**
 * Loads the platform's worker code. The Node module is imported through a variable specifier so
 * that Vite (and other bundlers) never see `node:worker_threads` in a browser build.
 */
export async function loadPlatform (): Promise<Platform> {
  if (isNode()) {
    const spec = './platform.node.js'
    return await import(/* @vite-ignore */ spec) as Platform
  }
  return await import('./platform.browser.js')
}

/**
 * A worker's death, reported once: `die` records it (later calls are ignored), `silence` marks a
 * termination we asked for (nothing is reported), and a listener subscribed after the death still
 * hears about it.
 */
export function deathReport (): { die: (death: WorkerDeath) => void, silence: () => void, onDeath: (callback: (death: WorkerDeath) => void) => void } {
  let dead = false
  let listener: ((death: WorkerDeath) => void) | undefined
  let pending: WorkerDeath | undefined
  return {
    die (death) {
      if (dead) return
      dead = true
      if (listener !== undefined) listener(death)
      else pending = death
    },
    silence () {
      dead = true
    },
    onDeath (callback) {
      listener = callback
      if (pending !== undefined) callback(pending)
    }
  }
}
