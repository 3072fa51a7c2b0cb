/**
 * Running one export of a plain core module with a numeric signature: IPLD numbers in, IPLD numbers
 * out, a fresh instance per call (so fuel use does not depend on earlier calls), and every failure
 * turned into a typed error (out of fuel, out of memory, trap, invalid module, bad argument).
 */
import type { IpldValue } from '@ipvm/core'
import { ByteReader, WasmFormatError, binaryKind } from './binary.js'
import {
  ArgumentTypeError, FunctionNotFoundError, InvalidLimitError, InvalidModuleError, OutOfFuelError,
  OutOfMemoryError, ResultTypeError, WasmTrapError
} from './errors.js'
import type { Limits } from './limits.js'
import {
  DEFAULT_INITIAL_FUEL, FUEL_EXPORT, FUEL_IMPORT_MODULE, FUEL_IMPORT_NAME, MAX_FUEL, OOM_EXPORT, START_EXPORT, fuelLeft, meterCoreModule, memoryGrowFailed, setFuel
} from './meter.js'

/** A core Wasm value type, as far as calls from IPLD care. */
export type CoreValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128' | 'funcref' | 'externref' | 'ref'

/** Parameter and result types of one function. */
export interface CoreFuncSignature {
  params: CoreValType[]
  results: CoreValType[]
}

/** What {@link runCoreExport} needs to know about a module; plain data, safe to post to a worker. */
export interface CoreModuleInfo {
  /** Exported functions by export name. */
  functions: Map<string, CoreFuncSignature>
  /** The module exports `__ipvm_fuel` (it was instrumented for fuel). */
  metered: boolean
  /** Initial value of the fuel global (what the start function runs on), when metered. */
  initialFuel?: bigint
  /** The module exports `__ipvm_oom` (it was instrumented with a memory cap). */
  memoryCapped: boolean
  /** The start function was deferred to the `__ipvm_start` export (called before each call). */
  deferredStart: boolean
  /** The fuel global is imported (`"__ipvm" "fuel"`); {@link runCoreExport} supplies it. */
  fuelImported: boolean
  /** Smallest declared maximum over the module's memories, in bytes, if any declares one. */
  memoryMaxBytes?: number
}

const VALTYPES = new Map<number, CoreValType>([
  [0x7f, 'i32'], [0x7e, 'i64'], [0x7d, 'f32'], [0x7c, 'f64'], [0x7b, 'v128'], [0x70, 'funcref'], [0x6f, 'externref']
])

function valType (r: ByteReader): CoreValType {
  const b = r.u8()
  if (b === 0x63 || b === 0x64) { r.skipLeb(); return 'ref' }
  const t = VALTYPES.get(b)
  if (t !== undefined) return t
  // Other one-byte reference abbreviations (exnref, anyref, …) are negative s33 values.
  if (b >= 0x40 && b < 0x80) return 'ref'
  return r.fail(`unknown value type 0x${b.toString(16)}`)
}

function limitsMax (r: ByteReader): number | undefined {
  const flags = r.u8()
  const is64 = (flags & 0x04) !== 0
  const read = (): number => is64 ? Number(r.u64()) : r.u32()
  read()
  return (flags & 0x01) !== 0 ? read() : undefined
}

/**
 * Reads the signatures of a core module's exported functions (and whether it was metered).
 * @throws InvalidModuleError when the bytes are not a well-formed core module.
 */
export function readCoreModuleInfo (bytes: Uint8Array): CoreModuleInfo {
  try {
    return readInfo(bytes)
  } catch (err) {
    if (err instanceof WasmFormatError) throw new InvalidModuleError(`malformed module: ${err.message}`, {}, { cause: err })
    throw err
  }
}

function readInfo (bytes: Uint8Array): CoreModuleInfo {
  if (binaryKind(bytes) !== 'module') throw new InvalidModuleError('expected a core module, got a component')
  const types: Array<CoreFuncSignature | undefined> = []
  const funcTypes: number[] = []
  // Initial values by global index (imported globals first, unknown to us).
  const globalInits: Array<bigint | undefined> = []
  const exports: Array<{ name: string, kind: number, index: number }> = []
  let memoryMax: number | undefined
  const noteMemory = (max: number | undefined): void => {
    if (max !== undefined) memoryMax = memoryMax === undefined ? max : Math.min(memoryMax, max)
  }
  let fuelImported = false
  const r = new ByteReader(bytes, 8)
  while (!r.done) {
    const id = r.u8()
    const s = r.slice(r.u32())
    switch (id) {
      case 1: // types
        for (let n = s.u32(); n > 0; n--) {
          const form = s.u8()
          if (form !== 0x60) throw new InvalidModuleError(`unsupported type form 0x${form.toString(16)} (GC types)`)
          const params: CoreValType[] = []
          for (let k = s.u32(); k > 0; k--) params.push(valType(s))
          const results: CoreValType[] = []
          for (let k = s.u32(); k > 0; k--) results.push(valType(s))
          types.push({ params, results })
        }
        break
      case 2: // imports
        for (let n = s.u32(); n > 0; n--) {
          const from = s.name()
          const field = s.name()
          const kind = s.u8()
          if (kind === 0x03 && from === FUEL_IMPORT_MODULE && field === FUEL_IMPORT_NAME) fuelImported = true
          if (kind === 0x00) funcTypes.push(s.u32())
          else if (kind === 0x01) { valType(s); limitsMax(s) }
          else if (kind === 0x02) noteMemory(limitsMax(s))
          else if (kind === 0x03) { valType(s); s.u8(); globalInits.push(undefined) }
          else if (kind === 0x04) { s.u8(); s.u32() }
          else s.fail(`unknown import kind ${kind}`)
        }
        break
      case 3: // functions
        for (let n = s.u32(); n > 0; n--) funcTypes.push(s.u32())
        break
      case 5: // memories
        for (let n = s.u32(); n > 0; n--) noteMemory(limitsMax(s))
        break
      case 6: // globals: only `i64.const N end` initializers matter (the fuel global's)
        for (let n = s.u32(); n > 0; n--) {
          valType(s); s.u8()
          const first = s.u8()
          let value: bigint | undefined
          if (first === 0x42) {
            value = s.s64()
            const next = s.u8()
            if (next !== 0x0b) { value = undefined; skipConstExpr(s, next) }
          } else skipConstExpr(s, first)
          globalInits.push(value)
        }
        break
      case 7: // exports
        for (let n = s.u32(); n > 0; n--) exports.push({ name: s.name(), kind: s.u8(), index: s.u32() })
        break
      default:
        break
    }
  }
  const functions = new Map<string, CoreFuncSignature>()
  let metered = false
  let initialFuel: bigint | undefined
  let memoryCapped = false
  let deferredStart = false
  for (const e of exports) {
    if (e.kind === 0x00 && e.name === START_EXPORT) {
      deferredStart = true
    } else if (e.kind === 0x00) {
      const typeIndex = funcTypes[e.index]
      const type = typeIndex === undefined ? undefined : types[typeIndex]
      if (type === undefined) throw new InvalidModuleError(`export ${e.name} names function ${e.index} of unknown type`)
      functions.set(e.name, type)
    } else if (e.kind === 0x03 && e.name === FUEL_EXPORT) {
      metered = true
      initialFuel = globalInits[e.index] ?? DEFAULT_INITIAL_FUEL
    } else if (e.kind === 0x03 && e.name === OOM_EXPORT) {
      memoryCapped = true
    }
  }
  const info: CoreModuleInfo = { functions, metered, memoryCapped, deferredStart, fuelImported }
  if (initialFuel !== undefined) info.initialFuel = initialFuel
  if (memoryMax !== undefined) info.memoryMaxBytes = memoryMax * 65536
  return info
}

/** Skips a constant expression whose first opcode was already read, through its `end`. */
function skipConstExpr (r: ByteReader, op: number): void {
  for (;;) {
    switch (op) {
      case 0x0b: return
      case 0x41: case 0x42: case 0x23: case 0xd2: case 0xd0: r.skipLeb(); break
      case 0x43: r.take(4); break
      case 0x44: r.take(8); break
      case 0xfd: r.u32(); r.take(16); break // v128.const
      default: break // extended-const arithmetic has no immediates
    }
    op = r.u8()
  }
}

/** The prepared form of a core module: compiled, plus the info {@link runCoreExport} needs. */
export interface PreparedCoreModule {
  module: WebAssembly.Module
  info: CoreModuleInfo
}

/**
 * Meters (fuel when `limits.fuel` is set, memory cap when `limits.memoryBytes` is set; the start
 * function deferred, so it runs under each call's budget), compiles and reads a core module.
 * Both results can be posted to a worker.
 * @throws InvalidModuleError when the module is malformed, invalid or uses unsupported features.
 * @throws OutOfMemoryError when its memory minimum exceeds `limits.memoryBytes`.
 */
export async function prepareCoreModule (bytes: Uint8Array, limits: Pick<Limits, 'fuel' | 'memoryBytes'> = {}): Promise<PreparedCoreModule> {
  let metered: Uint8Array
  try {
    metered = meterCoreModule(bytes, limits, { deferStart: true }).bytes
  } catch (err) {
    if (err instanceof WasmFormatError) throw new InvalidModuleError(`cannot meter module: ${err.message}`, {}, { cause: err })
    throw err
  }
  let module: WebAssembly.Module
  try {
    module = await WebAssembly.compile(metered as Uint8Array<ArrayBuffer>)
  } catch (err) {
    throw new InvalidModuleError(`invalid module: ${err instanceof Error ? err.message : String(err)}`, {}, { cause: err })
  }
  return { module, info: readCoreModuleInfo(metered) }
}

// ---------------------------------------------------------------------------------------------
// Export names: Homestar accepts a function name in several spellings.

/** Splits an identifier into words at separators and case changes (`getHTTPStatus2` → get HTTP Status2). */
function words (name: string): string[] {
  const out: string[] = []
  for (const part of name.split(/[^\p{L}\p{N}]+/u)) {
    if (part === '') continue
    let word = ''
    const chars = [...part]
    for (let i = 0; i < chars.length; i++) {
      const c = chars[i]!
      const prev = chars[i - 1]
      const nextChar = chars[i + 1]
      const isUpper = c !== c.toLowerCase()
      const prevLower = prev !== undefined && (prev !== prev.toUpperCase() || /\p{N}/u.test(prev))
      const prevUpper = prev !== undefined && prev !== prev.toLowerCase()
      const nextLower = nextChar !== undefined && nextChar !== nextChar.toUpperCase()
      if (word !== '' && isUpper && (prevLower || (prevUpper && nextLower))) { out.push(word); word = '' }
      word += c
    }
    if (word !== '') out.push(word)
  }
  return out
}

const capitalize = (w: string): string => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()

/**
 * The spellings tried for a function name, in order: exact, UPPERCASE, kebab-case, snake_case,
 * lowerCamelCase, PascalCase, SHOUTY_SNAKE_CASE and `%name`.
 */
export function nameVariants (name: string): string[] {
  const w = words(name)
  const lower = w.map((x) => x.toLowerCase())
  const variants = [
    name,
    name.toUpperCase(),
    lower.join('-'),
    lower.join('_'),
    lower.map((x, i) => i === 0 ? x : capitalize(x)).join(''),
    w.map(capitalize).join(''),
    lower.join('_').toUpperCase(),
    `%${name}`
  ]
  return [...new Set(variants.filter((v) => v !== ''))]
}

/** The first spelling of `name` (see {@link nameVariants}) that is in `available`, if any. */
export function resolveExportName (name: string, available: Iterable<string>): string | undefined {
  const set = available instanceof Set ? available as Set<string> : new Set(available)
  for (const candidate of nameVariants(name)) if (set.has(candidate)) return candidate
  return undefined
}

// ---------------------------------------------------------------------------------------------
// IPLD ↔ Wasm values.

const I32_MIN = -(2 ** 31)
const U32_MAX = 2 ** 32 - 1
const I64_MIN = -(1n << 63n)
const U64_MAX = (1n << 64n) - 1n

function describe (value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'list'
  if (value instanceof Uint8Array) return 'bytes'
  if (typeof value === 'number') return Number.isInteger(value) ? `integer ${value}` : `float ${value}`
  if (typeof value === 'bigint') return `integer ${value}`
  return typeof value === 'object' ? 'map or link' : typeof value
}

function badArgument (index: number, type: CoreValType, value: unknown, why: string): ArgumentTypeError {
  return new ArgumentTypeError(`argument ${index} must be ${why} (parameter type ${type}), got ${describe(value)}`,
    { index, expected: type, got: describe(value) })
}

/** Converts one IPLD argument to the JS value the Wasm JS API expects for `type`. */
export function toWasmValue (value: IpldValue, type: CoreValType, index: number): number | bigint {
  switch (type) {
    case 'i32': {
      const n = typeof value === 'bigint' && value >= BigInt(I32_MIN) && value <= BigInt(U32_MAX) ? Number(value) : value
      if (typeof n !== 'number' || !Number.isInteger(n) || n < I32_MIN || n > U32_MAX) {
        throw badArgument(index, type, value, 'an integer from -2^31 to 2^32-1')
      }
      return n | 0
    }
    case 'i64': {
      if (typeof value === 'bigint' && value >= I64_MIN && value <= U64_MAX) return BigInt.asIntN(64, value)
      if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value)
      throw badArgument(index, type, value, 'an integer from -2^63 to 2^64-1 (a bigint beyond 2^53)')
    }
    case 'f32': case 'f64': {
      if (typeof value === 'number') return value
      if (typeof value === 'bigint' && value >= -(1n << 53n) && value <= 1n << 53n) return Number(value)
      throw badArgument(index, type, value, 'a number')
    }
    default:
      throw new ArgumentTypeError(`parameter ${index} has type ${type}, which IPLD arguments cannot supply`,
        { index, expected: type, got: describe(value) })
  }
}

/** Converts one Wasm result (as the JS API returns it) to IPLD. */
export function fromWasmValue (value: unknown, type: CoreValType, index = 0): IpldValue {
  switch (type) {
    case 'i32':
      return value as number
    case 'i64': {
      const b = value as bigint
      return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b
    }
    case 'f32': case 'f64': {
      const n = value as number
      if (!Number.isFinite(n)) throw new ResultTypeError(`result ${index} is ${n}, which IPLD cannot represent`, { index, type })
      return n
    }
    default:
      throw new ResultTypeError(`result ${index} has type ${type}, which IPLD cannot represent`, { index, type })
  }
}

// ---------------------------------------------------------------------------------------------
// Running.

/** Per-call limits of {@link runCoreExport}. */
export interface CoreCallLimits {
  /** Fuel budget; the module must have been metered. Absent: unlimited (fuel is still counted when metered). */
  fuel?: number | bigint
  /** The memory cap the module was instrumented with, for error reports. */
  memoryBytes?: number
}

/** The outcome of a successful {@link runCoreExport}. */
export interface CoreRunResult {
  /** The result: null for none, the value for one, a list for several. */
  value: IpldValue
  /** Fuel consumed by the start function and the call, when the module is metered. */
  fuelUsed?: bigint
}

function fuelBudget (fuel: number | bigint | undefined): bigint | undefined {
  if (fuel === undefined) return undefined
  if (typeof fuel === 'number' && !Number.isSafeInteger(fuel)) throw new InvalidLimitError(`fuel must be an integer, got ${fuel}`, { fuel })
  const value = BigInt(fuel)
  if (value < 0n) throw new InvalidLimitError(`fuel must not be negative, got ${value}`, { fuel: value })
  return value > MAX_FUEL ? MAX_FUEL : value
}

/**
 * Calls export `func` of `module` on a fresh instance with `args`, under `limits`.
 * `info` is {@link readCoreModuleInfo} of the bytes the module was compiled from (or those bytes).
 * @throws FunctionNotFoundError, ArgumentTypeError, OutOfFuelError, OutOfMemoryError,
 *   WasmTrapError, InvalidModuleError (link errors), ResultTypeError; errors thrown by host
 *   imports propagate unchanged.
 */
export async function runCoreExport (
  module: WebAssembly.Module,
  info: CoreModuleInfo | Uint8Array,
  func: string,
  args: IpldValue[],
  limits: CoreCallLimits = {},
  imports: WebAssembly.Imports = {}
): Promise<CoreRunResult> {
  const meta = info instanceof Uint8Array ? readCoreModuleInfo(info) : info
  const name = resolveExportName(func, meta.functions.keys())
  if (name === undefined) throw new FunctionNotFoundError(func, [...meta.functions.keys()])
  const sig = meta.functions.get(name)!
  if (args.length !== sig.params.length) {
    throw new ArgumentTypeError(`${name} takes ${sig.params.length} argument(s), got ${args.length}`,
      { expected: sig.params.length, got: args.length })
  }
  const wasmArgs = sig.params.map((type, i) => toWasmValue(args[i]!, type, i))
  const limit = fuelBudget(limits.fuel)
  if (limit !== undefined && !meta.metered) {
    throw new InvalidModuleError('a fuel limit was given but the module was not instrumented for fuel')
  }
  const memoryLimit = limits.memoryBytes ?? meta.memoryMaxBytes

  const budget = meta.metered ? limit ?? MAX_FUEL : undefined
  // An imported fuel global holds the budget before instantiation, so a start function is charged
  // to it and can be told out of fuel even though instantiation leaves no instance behind.
  let sharedFuel: WebAssembly.Global | undefined
  if (meta.fuelImported && budget !== undefined) {
    sharedFuel = new WebAssembly.Global({ value: 'i64', mutable: true }, budget)
    imports = { ...imports, [FUEL_IMPORT_MODULE]: { ...imports[FUEL_IMPORT_MODULE], [FUEL_IMPORT_NAME]: sharedFuel } }
  }
  let instance: WebAssembly.Instance
  try {
    instance = await WebAssembly.instantiate(module, imports)
  } catch (err) {
    // A missing import module is a TypeError, a missing or mistyped import a LinkError.
    if (err instanceof WebAssembly.LinkError || err instanceof WebAssembly.CompileError || err instanceof TypeError) {
      throw new InvalidModuleError(`cannot instantiate: ${err.message}`, {}, { cause: err })
    }
    if (sharedFuel !== undefined && budget !== undefined && (sharedFuel.value as bigint) < 0n) {
      throw new OutOfFuelError(budget, budget - (sharedFuel.value as bigint))
    }
    // The start function failed; without an instance its OOM flag cannot be read.
    throw classify(err, undefined, undefined, memoryLimit)
  }

  if (budget !== undefined && sharedFuel === undefined) {
    const startUsed = (meta.initialFuel ?? DEFAULT_INITIAL_FUEL) - fuelLeft(instance)
    if (startUsed > budget) throw new OutOfFuelError(budget, startUsed)
    setFuel(instance, budget - startUsed)
  }
  const fn = instance.exports[name] as (...a: Array<number | bigint>) => unknown
  let raw: unknown
  try {
    if (meta.deferredStart) (instance.exports[START_EXPORT] as () => void)()
    raw = fn(...wasmArgs)
  } catch (err) {
    throw classify(err, instance, budget, memoryLimit)
  }
  const result: CoreRunResult = { value: null }
  if (budget !== undefined) {
    // Fuel is checked only at function entries, loop headers and host calls, so a call can finish
    // a few straight-line segments past its budget: a negative counter after it means out of fuel.
    const left = fuelLeft(instance)
    if (left < 0n) throw new OutOfFuelError(budget, budget - left)
    result.fuelUsed = budget - left
  }
  if (sig.results.length === 1) result.value = fromWasmValue(raw, sig.results[0]!)
  else if (sig.results.length > 1) {
    const list = raw as unknown[]
    result.value = sig.results.map((type, i) => fromWasmValue(list[i], type, i))
  }
  return result
}

/** Turns what a call threw into a typed error, using the instance's fuel and OOM globals. */
function classify (err: unknown, instance: WebAssembly.Instance | undefined, budget: bigint | undefined, memoryLimit: number | undefined): unknown {
  if (instance !== undefined && budget !== undefined) {
    const left = fuelLeft(instance)
    if (left < 0n) return new OutOfFuelError(budget, budget - left)
  }
  if (instance !== undefined && memoryGrowFailed(instance)) {
    return new OutOfMemoryError(memoryLimit, undefined, { trap: err instanceof Error ? err.message : String(err) })
  }
  if (err instanceof WebAssembly.RuntimeError) return new WasmTrapError(err.message, {}, { cause: err })
  if (err instanceof RangeError) {
    if (/call stack/i.test(err.message)) return new WasmTrapError(`call stack exhausted: ${err.message}`, { reason: 'stack-overflow' }, { cause: err })
    if (/memory/i.test(err.message)) return new OutOfMemoryError(memoryLimit, `out of memory: ${err.message}`)
  }
  // WebAssembly.Exception is not in every TypeScript lib (nor every engine): look it up at run time.
  const WasmException = (WebAssembly as unknown as { Exception?: abstract new (...args: never[]) => unknown }).Exception
  if (typeof WasmException === 'function' && err instanceof WasmException) {
    return new WasmTrapError('uncaught Wasm exception', { reason: 'exception' }, { cause: err })
  }
  return err
}
