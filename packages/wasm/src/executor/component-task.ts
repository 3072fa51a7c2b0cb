/**
 * Runs a component task inside a worker: the component (or core module with a component-type
 * section) is parsed once per worker and its core modules are metered and compiled once per
 * (module, limits); every task gets a fresh instance so fuel used is reproducible.
 */
import { type ComponentSource, callIpld, instantiateComponent, loadComponent } from '../component/index.js'
import { OutOfFuelError, OutOfMemoryError, WasmTrapError } from '../errors.js'
import { DEFAULT_INITIAL_FUEL, fuelLeft, isMetered, MAX_FUEL, memoryGrowFailed, meterCoreModule, setFuel } from '../meter.js'
import type { ComponentTaskJob, TaskJobResult } from './protocol.js'

interface Prepared {
  source: ComponentSource
  compiled: Map<Uint8Array, Promise<WebAssembly.Module>>
}

const prepared = new Map<string, Prepared>()
const CAPACITY = 16

function prepare (job: ComponentTaskJob): Prepared {
  let entry = prepared.get(job.key)
  if (entry === undefined) {
    entry = { source: loadComponent(job.bytes), compiled: new Map() }
    prepared.set(job.key, entry)
    if (prepared.size > CAPACITY) prepared.delete(prepared.keys().next().value!)
  }
  return entry
}

export async function runComponentTask (job: ComponentTaskJob): Promise<TaskJobResult> {
  const entry = prepare(job)
  const limits = {
    ...(job.fuel === undefined ? {} : { fuel: job.fuel }),
    ...(job.memoryBytes === undefined ? {} : { memoryBytes: job.memoryBytes })
  }
  const logs: string[] = []
  const instance = await instantiateComponent(entry.source, {}, {
    compile: async (coreBytes) => {
      let module = entry.compiled.get(coreBytes)
      if (module === undefined) {
        module = WebAssembly.compile(meterCoreModule(coreBytes, limits).bytes as Uint8Array<ArrayBuffer>)
        entry.compiled.set(coreBytes, module)
      }
      return await module
    },
    onLog: (log) => { logs.push(`${log.level} ${log.context}: ${log.message}`) },
    onPrint: (message) => { logs.push(message) }
  })
  // Every core module of the component is metered separately (wit-component's shim modules are
  // trampolines of a few instructions); fuel used is the sum, and each gets the whole budget.
  const metered = job.fuel === undefined ? [] : instance.coreInstances.filter(isMetered)
  const budget = job.fuel === undefined ? undefined : minBigInt(job.fuel, MAX_FUEL)
  let startUsed = 0n
  for (const core of metered) {
    startUsed += DEFAULT_INITIAL_FUEL - fuelLeft(core)
    setFuel(core, budget!)
  }
  const used = (): bigint => metered.reduce((sum, core) => sum + (budget! - fuelLeft(core)), startUsed)
  try {
    const value = callIpld(instance, job.func, job.args)
    // Fuel is checked only at function entries, loop headers and host calls: a call can finish a
    // few straight-line segments past its budget, and that is out of fuel too.
    if (budget !== undefined && metered.some((core) => fuelLeft(core) < 0n)) throw new OutOfFuelError(budget, used())
    const result: TaskJobResult = { value, logs }
    if (budget !== undefined) result.fuelUsed = used()
    return result
  } catch (err) {
    if (budget !== undefined && metered.some((core) => fuelLeft(core) < 0n)) throw new OutOfFuelError(budget, used())
    if (instance.coreInstances.some((core) => isMetered(core) || 'memory' in core.exports ? safeGrowFailed(core) : false)) {
      throw new OutOfMemoryError(job.memoryBytes, undefined, { trap: err instanceof Error ? err.message : String(err) })
    }
    // A guest that logs why it is about to trap (at level error) makes that reason the error's.
    const reason = logs.filter((line) => line.startsWith('error ')).at(-1)
    if (err instanceof WasmTrapError && reason !== undefined) {
      throw new WasmTrapError(`${err.message}: ${reason.slice('error '.length)}`, { ...err.details, logs }, { cause: err })
    }
    throw err
  }
}

function safeGrowFailed (core: WebAssembly.Instance): boolean {
  try {
    return memoryGrowFailed(core)
  } catch {
    return false
  }
}

function minBigInt (a: bigint, b: bigint): bigint {
  return a < b ? a : b
}
