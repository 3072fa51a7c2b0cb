/**
 * The IPVM ABI for components: IPLD arguments converted by the export's declared WIT types, and WIT
 * results converted back to IPLD, following Homestar's IPLD↔WIT table (homestar-wasm `ipld.rs`).
 *
 * Deliberate differences from Homestar: arguments beyond the function's parameters are an error
 * (Homestar ignores them), a variant map must have exactly one key (Homestar takes the first), and a
 * case without a payload must be given `null`. Both make a mistyped task fail loudly, never trap.
 */
import type { IpldMap, IpldValue } from '@ipvm/core'
import { CID } from 'multiformats/cid'
import { ArgumentTypeError, FunctionNotFoundError, ResultTypeError } from '../errors.js'
import type { WitValue } from './abi.js'
import type { ComponentInstance } from './instantiate.js'
import { type FuncType, type ValType, witName } from './types.js'
import { nameVariants, resolveExportName } from '../core-module.js'

class Mismatch extends Error {
  constructor (readonly path: string, readonly type: ValType, readonly value: unknown, readonly reason?: string) {
    super(reason ?? 'mismatch')
  }
}

function kind (v: unknown): string {
  if (v === null) return 'null'
  if (v === undefined) return 'nothing'
  if (Array.isArray(v)) return `a list of ${v.length}`
  if (v instanceof Uint8Array) return `${v.byteLength} bytes`
  if (CID.asCID(v) !== null) return 'a link'
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`
  if (typeof v === 'number') return Number.isInteger(v) ? `the integer ${v}` : `the float ${v}`
  if (typeof v === 'bigint') return `the integer ${v}`
  if (typeof v === 'boolean') return `${v}`
  return 'a map'
}

function isMap (v: unknown): v is IpldMap {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array) && CID.asCID(v) === null
}

const INT_BOUNDS: Record<string, [bigint, bigint]> = {
  u8: [0n, 0xffn], u16: [0n, 0xffffn], u32: [0n, 0xffffffffn], u64: [0n, (1n << 64n) - 1n],
  s8: [-0x80n, 0x7fn], s16: [-0x8000n, 0x7fffn], s32: [-0x80000000n, 0x7fffffffn], s64: [-(1n << 63n), (1n << 63n) - 1n]
}

// Rust's `f64 as iN`: truncates toward zero, saturates at the bounds, NaN becomes 0.
function saturate (f: number, kindName: string): number | bigint {
  const [lo, hi] = INT_BOUNDS[kindName]!
  let n = Number.isNaN(f) ? 0n : f === Infinity ? hi : f === -Infinity ? lo : BigInt(Math.trunc(f))
  if (n < lo) n = lo
  if (n > hi) n = hi
  return kindName === 'u64' ? n : Number(n)
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

/** RFC 4648 standard base64 without padding (Homestar's Bytes→string rule). */
export function base64NoPad (bytes: Uint8Array): string {
  let out = ''
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0)
    out += B64[n >> 18]! + B64[(n >> 12) & 63]!
    if (i + 1 < bytes.length) out += B64[(n >> 6) & 63]!
    if (i + 2 < bytes.length) out += B64[n & 63]!
  }
  return out
}

function toWit (v: IpldValue, t: ValType, path: string): WitValue {
  const fail = (reason?: string): never => { throw new Mismatch(path, t, v, reason) }
  if (v === null) {
    if (t.kind === 'option') return { tag: 'none' }
    if (t.kind === 'string') return 'null'
    return fail()
  }
  switch (t.kind) {
    case 'option': return { tag: 'some', val: toWit(v, t.type, path) }
    case 'result': {
      if (!Array.isArray(v) || v.length !== 2) return fail('a result is [ok, null] or [null, error]')
      const [ok, err] = v as [IpldValue, IpldValue]
      if (ok !== null && err === null) return { tag: 'ok', val: t.ok === undefined ? undefined : toWit(ok, t.ok, `${path}[0]`) }
      if (ok === null && err !== null) return { tag: 'err', val: t.err === undefined ? undefined : toWit(err, t.err, `${path}[1]`) }
      return fail('a result is [ok, null] or [null, error]')
    }
    case 'bool': return typeof v === 'boolean' ? v : fail()
    case 'u8': case 'u16': case 'u32': case 'u64': case 's8': case 's16': case 's32': case 's64': {
      if (typeof v === 'number' && !Number.isInteger(v)) {
        return t.kind === 's64' ? fail() : saturate(v, t.kind)
      }
      if (typeof v !== 'number' && typeof v !== 'bigint') return fail()
      const n = BigInt(v)
      const [lo, hi] = INT_BOUNDS[t.kind]!
      if (n < lo || n > hi) return fail(`out of range ${lo}..${hi}`)
      return t.kind === 'u64' || t.kind === 's64' ? n : Number(n)
    }
    case 'f32': case 'f64': {
      if (typeof v !== 'number' && typeof v !== 'bigint') return fail()
      const f = Number(v)
      return t.kind === 'f32' ? Math.fround(f) : f
    }
    case 'char':
      return typeof v === 'string' && [...v].length === 1 ? v : fail('a char is a string of exactly one character')
    case 'string': {
      if (typeof v === 'string') return v
      if (v instanceof Uint8Array) return base64NoPad(v)
      const cid = CID.asCID(v)
      return cid !== null ? cid.toString() : fail()
    }
    case 'enum':
      return typeof v === 'string' && t.names.includes(v) ? v : fail(`one of ${t.names.join(', ')}`)
    case 'list': {
      if (v instanceof Uint8Array && t.elem.kind === 'u8') return v.slice()
      if (isMap(v)) {
        // list<tuple<string, T>> from a map: key/value pairs
        const el = t.elem
        if (el.kind !== 'tuple' || el.types.length !== 2 || el.types[0]!.kind !== 'string') return fail()
        return Object.entries(v).map(([k, item]) => [k, toWit(item, el.types[1]!, `${path}.${k}`)])
      }
      if (!Array.isArray(v)) return fail()
      if (t.elem.kind === 'u8') return Uint8Array.from(v.map((item, i) => toWit(item, t.elem, `${path}[${i}]`) as number))
      return v.map((item, i) => toWit(item, t.elem, `${path}[${i}]`))
    }
    case 'tuple': {
      if (!Array.isArray(v)) return fail()
      if (v.length !== t.types.length) return fail(`expected ${t.types.length} elements`)
      return t.types.map((et, i) => toWit(v[i]!, et, `${path}[${i}]`))
    }
    case 'flags': {
      if (!Array.isArray(v)) return fail()
      for (const name of v) if (typeof name !== 'string' || !t.names.includes(name)) fail(`flag names are ${t.names.join(', ')}`)
      return [...new Set(v as string[])]
    }
    case 'record': {
      if (!isMap(v)) return fail()
      const out: Record<string, WitValue> = {}
      for (const f of t.fields) {
        if (!Object.hasOwn(v, f.name)) return fail(`missing field ${f.name}`)
        out[f.name] = toWit(v[f.name]!, f.type, `${path}.${f.name}`)
      }
      return out
    }
    case 'variant': {
      if (!isMap(v)) return fail()
      const keys = Object.keys(v)
      if (keys.length !== 1) return fail('a variant is a map with exactly one key, the case name')
      const c = t.cases.find((cc) => cc.name === keys[0])
      if (c === undefined) return fail(`cases are ${t.cases.map((cc) => cc.name).join(', ')}`)
      const payload = v[c.name]!
      if (c.type === undefined) return payload === null ? { tag: c.name } : fail(`case ${c.name} has no payload: give null`)
      return { tag: c.name, val: toWit(payload, c.type, `${path}.${c.name}`) }
    }
    default: return fail('resources are not supported')
  }
}

/** The shortest decimal that reads back as the same f32, as an f64 (Homestar: 0.1f32 → 0.1). */
function f32ToF64 (f: number): number {
  for (let p = 1; p <= 9; p++) {
    const d = Number.parseFloat(f.toPrecision(p))
    if (Math.fround(d) === f) return d
  }
  return f
}

function parseCidString (s: string): CID | undefined {
  // Only strings that look like CIDs are tried: base32 CIDv1 (b…), base58btc CIDv1 (z…) and CIDv0 (Qm…).
  if (!/^(b[a-z2-7]{50,}|z[1-9A-HJ-NP-Za-km-z]{40,}|Qm[1-9A-HJ-NP-Za-km-z]{44})$/.test(s)) return undefined
  try {
    return CID.parse(s)
  } catch {
    return undefined
  }
}

function toIpld (v: WitValue, t: ValType | undefined, path: string): IpldValue {
  if (t === undefined) return null
  switch (t.kind) {
    case 'bool': return v as boolean
    case 's8': case 'u8': case 's16': case 'u16': case 's32': case 'u32': return v as number
    case 's64': case 'u64': {
      const n = v as bigint
      return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n
    }
    case 'f32': case 'f64': {
      const f = v as number
      if (!Number.isFinite(f)) throw new ResultTypeError(`result${path} is ${f}, which IPLD cannot represent`, { path })
      return t.kind === 'f32' ? f32ToF64(f) : f
    }
    case 'char': return v as string
    case 'string': {
      const s = v as string
      if (s === 'null') return null
      return parseCidString(s) ?? s
    }
    case 'list': {
      if (v instanceof Uint8Array) return v.byteLength > 0 ? v : []
      const items = v as WitValue[]
      const el = t.elem
      if (el.kind === 'tuple' && el.types.length === 2 && el.types[0]!.kind === 'string') {
        const out: IpldMap = {}
        for (const item of items) {
          const [k, value] = item as [string, WitValue]
          out[k] = toIpld(value, el.types[1], `${path}.${k}`)
        }
        return out
      }
      return items.map((item, i) => toIpld(item, el, `${path}[${i}]`))
    }
    case 'tuple': return (v as WitValue[]).map((item, i) => toIpld(item, t.types[i], `${path}[${i}]`))
    case 'record': {
      const rec = v as Record<string, WitValue>
      const out: IpldMap = {}
      for (const f of t.fields) out[f.name] = toIpld(rec[f.name], f.type, `${path}.${f.name}`)
      return out
    }
    case 'variant': {
      const { tag, val } = v as { tag: string, val?: WitValue }
      const c = t.cases.find((cc) => cc.name === tag)
      return { [tag]: c?.type === undefined ? null : toIpld(val, c.type, `${path}.${tag}`) }
    }
    case 'enum': return v as string
    case 'flags': return v as string[]
    case 'option': {
      const { tag, val } = v as { tag: string, val?: WitValue }
      return tag === 'none' ? null : toIpld(val, t.type, path)
    }
    case 'result': {
      // Homestar's encoding: [ok, null] / [null, err], with 1 standing for a missing payload.
      const { tag, val } = v as { tag: string, val?: WitValue }
      if (tag === 'ok') return [t.ok === undefined ? 1 : toIpld(val, t.ok, `${path}[0]`), null]
      return [null, t.err === undefined ? 1 : toIpld(val, t.err, `${path}[1]`)]
    }
    default: throw new ResultTypeError(`result${path} is a resource handle, which IPLD cannot represent`, { path })
  }
}

/** Converts IPLD arguments to WIT values by the function's parameter types. Throws {@link ArgumentTypeError}. */
export function ipldToWitArgs (type: FuncType, args: readonly IpldValue[], funcName = 'function'): WitValue[] {
  const signature = (): string => `${funcName}(${type.params.map((p) => `${p.name}: ${witName(p.type)}`).join(', ')})`
  if (args.length > type.params.length) {
    throw new ArgumentTypeError(`too many arguments: ${signature()} takes ${type.params.length}, got ${args.length}`, { expected: type.params.length, got: args.length })
  }
  return type.params.map((p, i) => {
    if (i >= args.length) {
      throw new ArgumentTypeError(`missing argument ${p.name}: ${signature()} expects ${witName(p.type)}`, { param: p.name, expected: witName(p.type) })
    }
    try {
      return toWit(args[i]!, p.type, '')
    } catch (err) {
      if (!(err instanceof Mismatch)) throw err
      const at = err.path === '' ? '' : ` at ${err.path}`
      const why = err.reason === undefined ? '' : ` (${err.reason})`
      throw new ArgumentTypeError(
        `argument ${p.name}${at}: expected ${witName(err.type)}, got ${kind(err.value)}${why}`,
        { param: p.name, path: err.path, expected: witName(err.type), paramType: witName(p.type), got: kind(err.value) }
      )
    }
  })
}

/** Converts a function's WIT result to IPLD (no result → null). Throws {@link ResultTypeError}. */
export function witResultToIpld (type: FuncType, value: WitValue): IpldValue {
  return toIpld(value, type.result, '')
}

/** Converts a WIT value of type `t` to IPLD. */
export function witToIpld (value: WitValue, t: ValType): IpldValue {
  return toIpld(value, t, '')
}

/** Converts an IPLD value to a WIT value of type `t`; throws {@link ArgumentTypeError} naming `name`. */
export function ipldToWit (value: IpldValue, t: ValType, name = 'value'): WitValue {
  return ipldToWitArgs({ kind: 'func', params: [{ name, type: t }], result: undefined }, [value])[0]
}

// ---- function lookup -------------------------------------------------------------------------

/**
 * The names tried for an export, in order: Homestar's exact, UPPERCASE, kebab-case, snake_case,
 * lowerCamelCase, PascalCase, then SHOUTY_SNAKE_CASE and `%name` — the same spellings core modules use.
 */
export const exportNameVariants: (name: string) => string[] = nameVariants

/** Finds an export by Homestar's case variants; throws {@link FunctionNotFoundError} listing the exports. */
export function findFunctionName (available: Iterable<string>, name: string): string {
  const names = [...available]
  const found = resolveExportName(name, names)
  if (found === undefined) throw new FunctionNotFoundError(name, names)
  return found
}

/**
 * Calls an exported function with IPLD arguments and returns its result as IPLD: the IPVM ABI.
 * `name` is matched with Homestar's case variants. Bad arguments throw {@link ArgumentTypeError}
 * before the guest runs; a trap throws `WasmTrapError`.
 */
export function callIpld (instance: ComponentInstance, name: string, args: readonly IpldValue[]): IpldValue {
  const found = instance.functions.has(name) ? name : findFunctionName(instance.functions.keys(), name)
  const f = instance.functions.get(found)!
  return witResultToIpld(f.type, f.call(...ipldToWitArgs(f.type, args, found)))
}
