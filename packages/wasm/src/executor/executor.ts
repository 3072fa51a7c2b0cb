/**
 * `createWasmExecutor()`: runs `wasm/run` tasks on the worker pool. Modules are prepared once per
 * (module CID, metering) on the main thread — validated, metered for fuel, memory-capped, compiled —
 * and the compiled `WebAssembly.Module` is posted to whichever worker runs the task.
 */
import { CID, type IpldValue, isIpldMap } from '@ipvm/core'
import { binaryKind, readCustomSection, readSections } from '../binary.js'
import { prepareCoreModule, type PreparedCoreModule } from '../core-module.js'
import { InvalidModuleError } from '../errors.js'
import type { Limits } from '../limits.js'
import { createWorkerPool, type PoolProgressListener, type PoolStats, type WorkerPool } from '../pool/index.js'
import { spawnOptions } from './worker-entry.js'
import type { TaskJob, TaskJobResult } from './protocol.js'

export interface WasmRunRequest {
  module: CID
  bytes: Uint8Array
  func: string
  args: IpldValue[]
  limits: Limits
}

export interface WasmRunResult {
  value: IpldValue
  fuelUsed?: bigint
  logs?: string[]
  /** Time the worker spent on the task (instantiate + call): what running it costs, without queueing for a worker. */
  runMs?: number
}

export interface WasmExecutorOptions {
  /** Workers (default: hardwareConcurrency, bounded to [1, 8]). */
  size?: number
  /** Keep a warm spare worker for instant replacement after a timeout or crash (default true). */
  spare?: boolean
  /** Prepared modules kept (default 32). */
  cacheSize?: number
  onProgress?: PoolProgressListener
}

export interface WasmExecutor {
  readonly concurrency: number
  readonly stats: PoolStats
  run: (request: WasmRunRequest, options?: { signal?: AbortSignal }) => Promise<WasmRunResult>
  start: () => Promise<void>
  stop: () => Promise<void>
}

/** How a module is run: a plain core module, or through the component ABI. */
export type ModuleKind = 'core' | 'component'

/** A component, or a core module carrying a `component-type` section (wit-bindgen output). */
export function moduleKind (bytes: Uint8Array): ModuleKind {
  let kind: ReturnType<typeof binaryKind>
  try {
    kind = binaryKind(bytes)
  } catch (err) {
    throw new InvalidModuleError(`not a WebAssembly module or component: ${(err as Error).message}`, {}, { cause: err })
  }
  if (kind === 'component') return 'component'
  try {
    for (const section of readSections(bytes)) {
      if (section.id === 0 && readCustomSection(section.content).name.startsWith('component-type')) return 'component'
    }
  } catch (err) {
    throw new InvalidModuleError(`malformed module: ${(err as Error).message}`, {}, { cause: err })
  }
  return 'core'
}

// Values that crossed postMessage lost their CID prototype; make them CIDs again.
function reviveCids (value: IpldValue): IpldValue {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value
  const cid = CID.asCID(value)
  if (cid !== null) return CID.decode(cid.bytes)
  if (Array.isArray(value)) return value.map(reviveCids)
  if (isIpldMap(value)) {
    const out: Record<string, IpldValue> = {}
    for (const [k, v] of Object.entries(value)) out[k] = reviveCids(v)
    return out
  }
  return value
}

export function createWasmExecutor (options: WasmExecutorOptions = {}): WasmExecutor {
  const pool: WorkerPool<TaskJob, TaskJobResult> = createWorkerPool<TaskJob, TaskJobResult>({
    ...spawnOptions(),
    ...(options.size === undefined ? {} : { size: options.size }),
    ...(options.spare === undefined ? {} : { spare: options.spare }),
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress })
  })
  const capacity = options.cacheSize ?? 32
  const prepared = new Map<string, Promise<PreparedCoreModule>>()
  const kinds = new Map<string, ModuleKind>()

  const prepare = async (request: WasmRunRequest, key: string): Promise<PreparedCoreModule> => {
    let entry = prepared.get(key)
    if (entry === undefined) {
      entry = prepareCoreModule(request.bytes, {
        ...(request.limits.fuel === undefined ? {} : { fuel: request.limits.fuel }),
        ...(request.limits.memoryBytes === undefined ? {} : { memoryBytes: request.limits.memoryBytes })
      })
      prepared.set(key, entry)
      entry.catch(() => { prepared.delete(key) })
      if (prepared.size > capacity) prepared.delete(prepared.keys().next().value!)
    } else {
      prepared.delete(key)
      prepared.set(key, entry)
    }
    return await entry
  }

  return {
    get concurrency () { return pool.size },
    get stats () { return pool.stats },
    start: async () => { await pool.start() },
    stop: async () => { await pool.stop() },
    async run (request, runOptions = {}) {
      const moduleKey = request.module.toString()
      let kind = kinds.get(moduleKey)
      if (kind === undefined) {
        kind = moduleKind(request.bytes)
        kinds.set(moduleKey, kind)
      }
      // Metering is part of the prepared module: key by what was applied.
      const key = `${moduleKey}|${request.limits.fuel === undefined ? '' : 'fuel'}|${request.limits.memoryBytes ?? ''}`
      const limits = {
        ...(request.limits.fuel === undefined ? {} : { fuel: request.limits.fuel }),
        ...(request.limits.memoryBytes === undefined ? {} : { memoryBytes: request.limits.memoryBytes })
      }
      let job: TaskJob
      if (kind === 'core') {
        const { module, info } = await prepare(request, key)
        job = { kind: 'core', module, info, func: request.func, args: request.args, ...limits }
      } else {
        job = { kind: 'component', key, bytes: request.bytes, func: request.func, args: request.args, ...limits }
      }
      const result = await pool.run(job, {
        ...(runOptions.signal === undefined ? {} : { signal: runOptions.signal }),
        ...(request.limits.timeMs === undefined ? {} : { timeoutMs: request.limits.timeMs })
      })
      const out: WasmRunResult = { value: reviveCids(result.value), logs: result.logs }
      if (result.fuelUsed !== undefined) out.fuelUsed = result.fuelUsed
      if (result.runMs !== undefined) out.runMs = result.runMs
      return out
    }
  }
}
