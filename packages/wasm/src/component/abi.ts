/**
 * The canonical ABI (component-model CanonicalABI.md) between JavaScript values and a guest's core
 * values and linear memory: load/store, lift/lower of flat values, and the calling conventions of
 * `canon lift` (the host calls a guest export) and `canon lower` (the guest calls a host import).
 *
 * JavaScript representation of WIT values: bool → boolean; s8…u32, f32, f64 → number; s64/u64 →
 * bigint; char and string → string; list<u8> → Uint8Array; other lists and tuples → arrays; record
 * → object keyed by field name; variant/option/result → `{ tag, val }` (`tag` is the case name,
 * `some`/`none`, `ok`/`err`); enum → case name; flags → array of the names that are set.
 */
import { ArgumentTypeError, WasmTrapError } from '../errors.js'
import {
  alignTo, caseCount, caseTypes, type CoreValType, discriminantSize, type FuncType, layout, MAX_FLAT_PARAMS,
  MAX_FLAT_RESULTS, type ValType, witName
} from './types.js'

/** A WIT value in its JavaScript form (see the module comment). */
export type WitValue =
  | boolean | number | bigint | string | Uint8Array | undefined
  | WitValue[] | { tag: string, val?: WitValue } | { [field: string]: WitValue }

/** A core Wasm value as the JS API passes it: i64 as bigint, the rest as number. */
export type CoreValue = number | bigint

/** The guest side of a call: its memory and allocator, looked up late (they exist after instantiation). */
export interface GuestMemory {
  memory (): WebAssembly.Memory
  realloc (): ((oldPtr: number, oldSize: number, align: number, newSize: number) => number) | undefined
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true })
const utf8Encoder = new TextEncoder()
const scratch = new DataView(new ArrayBuffer(8))

function trap (message: string): never {
  throw new WasmTrapError(`canonical ABI: ${message}`)
}

function describe (v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return `a list of ${v.length}`
  if (v instanceof Uint8Array) return `${v.byteLength} bytes`
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return `${typeof v} ${String(v)}`
  return typeof v
}

function bad (t: ValType, v: unknown): never {
  throw new ArgumentTypeError(`expected ${witName(t)}, got ${describe(v)}`, { expected: witName(t) })
}

/** Memory access with a DataView that follows `memory.grow` (which detaches the old buffer). */
class Mem {
  private dv: DataView | undefined
  constructor (readonly guest: GuestMemory) {}

  get view (): DataView {
    const buffer = this.guest.memory().buffer
    if (this.dv?.buffer !== buffer) this.dv = new DataView(buffer)
    return this.dv
  }

  check (ptr: number, size: number, align: number): void {
    if (ptr % align !== 0) trap(`pointer ${ptr} is not aligned to ${align}`)
    if (ptr + size > this.view.byteLength) trap(`range ${ptr}+${size} is outside memory (${this.view.byteLength} bytes)`)
  }

  alloc (align: number, size: number): number {
    const realloc = this.guest.realloc()
    if (realloc === undefined) trap('the guest exports no realloc function')
    const ptr = realloc(0, 0, align, size) >>> 0
    this.check(ptr, size, align)
    return ptr
  }
}

// ---- integer/float helpers -------------------------------------------------------------------

const INT_RANGES: Record<string, [number, number]> = {
  s8: [-0x80, 0x7f], u8: [0, 0xff], s16: [-0x8000, 0x7fff], u16: [0, 0xffff], s32: [-0x80000000, 0x7fffffff], u32: [0, 0xffffffff]
}

function checkInt (t: ValType, v: unknown): number {
  const range = INT_RANGES[t.kind]!
  const n = typeof v === 'bigint' ? Number(v) : v
  if (typeof n !== 'number' || !Number.isInteger(n) || n < range[0] || n > range[1]) bad(t, v)
  return n
}

function checkBigInt (t: ValType, v: unknown): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v)) v = BigInt(v)
  if (typeof v !== 'bigint') bad(t, v)
  if (t.kind === 's64' ? BigInt.asIntN(64, v) !== v : BigInt.asUintN(64, v) !== v) bad(t, v)
  return v
}

function checkChar (t: ValType, v: unknown): number {
  if (typeof v !== 'string') bad(t, v)
  const cp = v.codePointAt(0)
  if (cp === undefined || v.length !== (cp > 0xffff ? 2 : 1) || (cp >= 0xd800 && cp <= 0xdfff)) bad(t, v)
  return cp
}

function liftChar (cp: number): string {
  cp >>>= 0
  if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) trap(`${cp} is not a Unicode scalar value`)
  return String.fromCodePoint(cp)
}

function checkNumber (t: ValType, v: unknown): number {
  if (typeof v === 'bigint') v = Number(v)
  if (typeof v !== 'number') bad(t, v)
  return t.kind === 'f32' ? Math.fround(v) : v
}

function variantCase (t: ValType, v: unknown): [number, unknown] {
  if (t.kind === 'enum') {
    const index = typeof v === 'string' ? t.names.indexOf(v) : -1
    if (index < 0) bad(t, v)
    return [index, undefined]
  }
  if (v === null || typeof v !== 'object' || !('tag' in v) || typeof v.tag !== 'string') bad(t, v)
  const tag = v.tag
  const val = (v as { val?: unknown }).val
  let index = -1
  if (t.kind === 'variant') index = t.cases.findIndex((c) => c.name === tag)
  else if (t.kind === 'option') index = tag === 'none' ? 0 : tag === 'some' ? 1 : -1
  else if (t.kind === 'result') index = tag === 'ok' ? 0 : tag === 'err' ? 1 : -1
  if (index < 0) bad(t, v)
  return [index, val]
}

function caseName (t: ValType, index: number): string {
  switch (t.kind) {
    case 'variant': return t.cases[index]!.name
    case 'option': return index === 0 ? 'none' : 'some'
    case 'result': return index === 0 ? 'ok' : 'err'
    default: return String(index)
  }
}

function flagBits (t: ValType & { kind: 'flags' }, v: unknown): number[] {
  if (!Array.isArray(v)) bad(t, v)
  const words = new Array<number>(Math.ceil(t.names.length / 32)).fill(0)
  for (const name of v) {
    const i = typeof name === 'string' ? t.names.indexOf(name) : -1
    if (i < 0) bad(t, v)
    words[i >> 5]! |= 1 << (i & 31)
  }
  return words
}

function liftFlags (t: ValType & { kind: 'flags' }, words: number[]): string[] {
  return t.names.filter((_, i) => ((words[i >> 5]! >>> (i & 31)) & 1) === 1)
}

function fieldsOf (t: ValType & { kind: 'record' | 'tuple' }): ValType[] {
  return t.kind === 'record' ? t.fields.map((f) => f.type) : t.types
}

function fieldValues (t: ValType & { kind: 'record' | 'tuple' }, v: unknown): unknown[] {
  if (t.kind === 'tuple') {
    if (!Array.isArray(v) || v.length !== t.types.length) bad(t, v)
    return v
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) bad(t, v)
  const rec = v as Record<string, unknown>
  return t.fields.map((f) => {
    if (!(f.name in rec)) bad(t, v)
    return rec[f.name]
  })
}

function buildFields (t: ValType & { kind: 'record' | 'tuple' }, values: WitValue[]): WitValue {
  if (t.kind === 'tuple') return values
  const out: Record<string, WitValue> = {}
  for (const [i, f] of t.fields.entries()) out[f.name] = values[i]
  return out
}

// ---- scalars ---------------------------------------------------------------------------------

const SCALARS = new Set(['bool', 's8', 'u8', 's16', 'u16', 's32', 'u32', 's64', 'u64', 'f32', 'f64', 'char'])

/** A scalar's core value (checked): i32 types as a number, i64 as a bigint, floats as a number. */
function lowerScalar (t: ValType, v: unknown): CoreValue {
  switch (t.kind) {
    case 'bool':
      if (typeof v !== 'boolean') bad(t, v)
      return v ? 1 : 0
    case 's64': case 'u64': return BigInt.asIntN(64, checkBigInt(t, v))
    case 'f32': case 'f64': return checkNumber(t, v)
    case 'char': return checkChar(t, v)
    default: return checkInt(t, v) | 0
  }
}

/** A scalar from its core value (or the raw integer read from memory). */
function liftScalar (t: ValType, c: CoreValue): WitValue {
  const n = c as number
  switch (t.kind) {
    case 'bool': return c !== 0
    case 's8': return (n << 24) >> 24
    case 'u8': return n & 0xff
    case 's16': return (n << 16) >> 16
    case 'u16': return n & 0xffff
    case 's32': return n | 0
    case 'u32': return n >>> 0
    case 's64': return BigInt.asIntN(64, c as bigint)
    case 'u64': return BigInt.asUintN(64, c as bigint)
    case 'char': return liftChar(n)
    default: return n // f32, f64
  }
}

function readScalar (dv: DataView, t: ValType, ptr: number): CoreValue {
  switch (t.kind) {
    case 'f32': return dv.getFloat32(ptr, true)
    case 'f64': return dv.getFloat64(ptr, true)
    case 's64': case 'u64': return dv.getBigInt64(ptr, true)
  }
  const size = layout(t).size
  return size === 1 ? dv.getUint8(ptr) : size === 2 ? dv.getUint16(ptr, true) : dv.getInt32(ptr, true)
}

function writeScalar (dv: DataView, t: ValType, ptr: number, c: CoreValue): void {
  switch (t.kind) {
    case 'f32': dv.setFloat32(ptr, c as number, true); return
    case 'f64': dv.setFloat64(ptr, c as number, true); return
    case 's64': case 'u64': dv.setBigInt64(ptr, c as bigint, true); return
  }
  const size = layout(t).size
  if (size === 1) dv.setUint8(ptr, c as number)
  else if (size === 2) dv.setUint16(ptr, c as number, true)
  else dv.setInt32(ptr, c as number, true)
}

// ---- load / store ----------------------------------------------------------------------------

export function load (mem: Mem, t: ValType, ptr: number): WitValue {
  const dv = mem.view
  const l = layout(t)
  if (ptr + l.size > dv.byteLength) trap(`load of ${witName(t)} at ${ptr} is outside memory`)
  if (SCALARS.has(t.kind)) return liftScalar(t, readScalar(dv, t, ptr))
  switch (t.kind) {
    case 'string': return loadString(mem, dv.getUint32(ptr, true), dv.getUint32(ptr + 4, true))
    case 'list': return loadList(mem, t.elem, dv.getUint32(ptr, true), dv.getUint32(ptr + 4, true))
    case 'record': case 'tuple': {
      let offset = ptr
      return buildFields(t, fieldsOf(t).map((ft) => {
        const fl = layout(ft)
        offset = alignTo(offset, fl.align)
        const value = load(mem, ft, offset)
        offset += fl.size
        return value
      }))
    }
    case 'flags': {
      const words: number[] = []
      if (l.size === 1) words.push(dv.getUint8(ptr))
      else if (l.size === 2) words.push(dv.getUint16(ptr, true))
      else for (let i = 0; i < l.size; i += 4) words.push(dv.getUint32(ptr + i, true))
      return liftFlags(t, words)
    }
    case 'enum': case 'variant': case 'option': case 'result': {
      const size = discriminantSize(caseCount(t))
      const index = size === 1 ? dv.getUint8(ptr) : size === 2 ? dv.getUint16(ptr, true) : dv.getUint32(ptr, true)
      if (index >= caseCount(t)) trap(`case index ${index} out of range for ${witName(t)}`)
      if (t.kind === 'enum') return t.names[index]!
      const ct = caseTypes(t)[index]
      return { tag: caseName(t, index), val: ct === undefined ? undefined : load(mem, ct, ptr + l.payloadOffset) }
    }
    case 'own': case 'borrow': throw new WasmTrapError('resources are not supported')
  }
}

function loadString (mem: Mem, ptr: number, len: number): string {
  mem.check(ptr, len, 1)
  try {
    return utf8Decoder.decode(new Uint8Array(mem.view.buffer, ptr, len))
  } catch {
    return trap('string is not valid UTF-8')
  }
}

function loadList (mem: Mem, elem: ValType, ptr: number, len: number): WitValue {
  const el = layout(elem)
  mem.check(ptr, len * el.size, el.align)
  if (elem.kind === 'u8') return new Uint8Array(mem.view.buffer, ptr, len).slice()
  const out: WitValue[] = new Array(len)
  for (let i = 0; i < len; i++) out[i] = load(mem, elem, ptr + i * el.size)
  return out
}

export function store (mem: Mem, t: ValType, v: unknown, ptr: number): void {
  const l = layout(t)
  if (SCALARS.has(t.kind)) {
    writeScalar(mem.view, t, ptr, lowerScalar(t, v))
    return
  }
  switch (t.kind) {
    case 'string': case 'list': {
      const [p, n] = t.kind === 'list' ? storeList(mem, t, v) : storeString(mem, t, v)
      mem.view.setUint32(ptr, p, true)
      mem.view.setUint32(ptr + 4, n, true)
      return
    }
    case 'record': case 'tuple': {
      const values = fieldValues(t, v)
      let offset = ptr
      fieldsOf(t).forEach((ft, i) => {
        const fl = layout(ft)
        offset = alignTo(offset, fl.align)
        store(mem, ft, values[i], offset)
        offset += fl.size
      })
      return
    }
    case 'flags': {
      const words = flagBits(t, v)
      if (l.size === 1) mem.view.setUint8(ptr, words[0]!)
      else if (l.size === 2) mem.view.setUint16(ptr, words[0]!, true)
      else for (const [i, w] of words.entries()) mem.view.setUint32(ptr + i * 4, w, true)
      return
    }
    case 'enum': case 'variant': case 'option': case 'result': {
      const [index, payload] = variantCase(t, v)
      const size = discriminantSize(caseCount(t))
      if (size === 1) mem.view.setUint8(ptr, index)
      else if (size === 2) mem.view.setUint16(ptr, index, true)
      else mem.view.setUint32(ptr, index, true)
      const ct = t.kind === 'enum' ? undefined : caseTypes(t)[index]
      if (ct !== undefined) store(mem, ct, payload, ptr + l.payloadOffset)
      return
    }
    case 'own': case 'borrow': throw new ArgumentTypeError('resources are not supported')
  }
}

function storeString (mem: Mem, t: ValType, v: unknown): [number, number] {
  if (typeof v !== 'string') bad(t, v)
  const bytes = utf8Encoder.encode(v)
  const ptr = mem.alloc(1, bytes.byteLength)
  new Uint8Array(mem.view.buffer, ptr, bytes.byteLength).set(bytes)
  return [ptr, bytes.byteLength]
}

function storeList (mem: Mem, t: ValType & { kind: 'list' }, v: unknown): [number, number] {
  const el = layout(t.elem)
  if (t.elem.kind === 'u8' && v instanceof Uint8Array) {
    const ptr = mem.alloc(1, v.byteLength)
    new Uint8Array(mem.view.buffer, ptr, v.byteLength).set(v)
    return [ptr, v.byteLength]
  }
  if (!Array.isArray(v)) bad(t, v)
  const ptr = mem.alloc(el.align, v.length * el.size)
  for (const [i, item] of v.entries()) store(mem, t.elem, item, ptr + i * el.size)
  return [ptr, v.length]
}

// ---- flat lift / lower -----------------------------------------------------------------------

function f32Bits (f: number): number {
  scratch.setFloat32(0, f, true)
  return scratch.getInt32(0, true)
}

function bitsF32 (i: number): number {
  scratch.setInt32(0, i, true)
  return scratch.getFloat32(0, true)
}

/** Converts a value of a case's own flat type to the variant's joined flat type. */
function widen (v: CoreValue, from: CoreValType, to: CoreValType): CoreValue {
  if (from === to) return v
  if (to === 'i32') return f32Bits(v as number) // from f32
  // to i64
  if (from === 'i32') return BigInt((v as number) >>> 0)
  if (from === 'f32') return BigInt(f32Bits(v as number) >>> 0)
  scratch.setFloat64(0, v as number, true)
  return scratch.getBigInt64(0, true)
}

/** The inverse of {@link widen}: the joined flat value back to the case's own flat type. */
function narrow (v: CoreValue, from: CoreValType, to: CoreValType): CoreValue {
  if (from === to) return v
  if (from === 'i32') return bitsF32(v as number) // to f32
  const big = v as bigint
  if (to === 'i32') return Number(BigInt.asIntN(32, big))
  if (to === 'f32') return bitsF32(Number(BigInt.asIntN(32, big)))
  scratch.setBigInt64(0, BigInt.asIntN(64, big), true)
  return scratch.getFloat64(0, true)
}

const ZERO: Record<CoreValType, CoreValue> = { i32: 0, i64: 0n, f32: 0, f64: 0 }

export function lowerFlat (mem: Mem, t: ValType, v: unknown, out: CoreValue[]): void {
  if (SCALARS.has(t.kind)) {
    out.push(lowerScalar(t, v))
    return
  }
  switch (t.kind) {
    case 'string': case 'list': {
      const [p, n] = t.kind === 'list' ? storeList(mem, t, v) : storeString(mem, t, v)
      out.push(p, n)
      return
    }
    case 'record': case 'tuple': {
      const values = fieldValues(t, v)
      for (const [i, ft] of fieldsOf(t).entries()) lowerFlat(mem, ft, values[i], out)
      return
    }
    case 'flags': out.push(...flagBits(t, v)); return
    case 'enum': out.push(variantCase(t, v)[0]); return
    case 'variant': case 'option': case 'result': {
      const [index, payload] = variantCase(t, v)
      const joined = layout(t).flat.slice(1)
      const ct = caseTypes(t)[index]
      const own: CoreValue[] = []
      if (ct !== undefined) lowerFlat(mem, ct, payload, own)
      const ownTypes = ct === undefined ? [] : layout(ct).flat
      out.push(index, ...joined.map((jt, i) => i < own.length ? widen(own[i]!, ownTypes[i]!, jt) : ZERO[jt]))
      return
    }
    case 'own': case 'borrow': throw new ArgumentTypeError('resources are not supported')
  }
}

/** A cursor over flat core values. */
interface Cursor { values: CoreValue[], i: number }

function next (c: Cursor): CoreValue {
  if (c.i >= c.values.length) trap('too few flat values')
  return c.values[c.i++]!
}

export function liftFlat (mem: Mem, t: ValType, c: Cursor): WitValue {
  if (SCALARS.has(t.kind)) return liftScalar(t, next(c))
  switch (t.kind) {
    case 'string': {
      const ptr = (next(c) as number) >>> 0
      return loadString(mem, ptr, (next(c) as number) >>> 0)
    }
    case 'list': {
      const ptr = (next(c) as number) >>> 0
      return loadList(mem, t.elem, ptr, (next(c) as number) >>> 0)
    }
    case 'record': case 'tuple': return buildFields(t, fieldsOf(t).map((ft) => liftFlat(mem, ft, c)))
    case 'flags': return liftFlags(t, layout(t).flat.map(() => next(c) as number))
    case 'enum': {
      const index = (next(c) as number) >>> 0
      if (index >= t.names.length) trap(`case index ${index} out of range for ${witName(t)}`)
      return t.names[index]!
    }
    case 'variant': case 'option': case 'result': {
      const index = (next(c) as number) >>> 0
      const joined = layout(t).flat.slice(1)
      const payload = joined.map(() => next(c))
      if (index >= caseCount(t)) trap(`case index ${index} out of range for ${witName(t)}`)
      const ct = caseTypes(t)[index]
      if (ct === undefined) return { tag: caseName(t, index), val: undefined }
      const own = layout(ct).flat
      return { tag: caseName(t, index), val: liftFlat(mem, ct, { values: own.map((ot, i) => narrow(payload[i]!, joined[i]!, ot)), i: 0 }) }
    }
    case 'own': case 'borrow': throw new WasmTrapError('resources are not supported')
  }
}

// ---- calling conventions ---------------------------------------------------------------------

const tuples = new WeakMap<FuncType, ValType>()

/** The parameters as one tuple type (cached: its layout says how many flat values they take). */
function paramsTuple (type: FuncType): ValType {
  let t = tuples.get(type)
  if (t === undefined) {
    t = { kind: 'tuple', types: type.params.map((p) => p.type) }
    tuples.set(type, t)
  }
  return t
}

/** A core function as the JS API exposes it. */
export type CoreFunction = (...args: CoreValue[]) => CoreValue | undefined

/**
 * Calls a lifted guest export (`canon lift`) from the host: lowers `args` by the function type,
 * calls `core`, lifts the result and runs `postReturn`. Argument errors are thrown before the call.
 */
export function callLifted (guest: GuestMemory, type: FuncType, core: CoreFunction, postReturn: CoreFunction | undefined, args: readonly unknown[]): WitValue {
  const mem = new Mem(guest)
  const params = type.params
  if (args.length !== params.length) {
    throw new ArgumentTypeError(`expected ${params.length} argument${params.length === 1 ? '' : 's'} (${params.map((p) => `${p.name}: ${witName(p.type)}`).join(', ')}), got ${args.length}`)
  }
  let flat: CoreValue[] = []
  const tuple = paramsTuple(type)
  if (layout(tuple).flat.length > MAX_FLAT_PARAMS) {
    const ptr = mem.alloc(layout(tuple).align, layout(tuple).size)
    store(mem, tuple, args, ptr)
    flat = [ptr]
  } else {
    params.forEach((p, i) => {
      try {
        lowerFlat(mem, p.type, args[i], flat)
      } catch (err) {
        if (err instanceof ArgumentTypeError) throw new ArgumentTypeError(`argument ${p.name}: ${err.message}`, { ...err.details, param: p.name }, { cause: err })
        throw err
      }
    })
  }
  let result: WitValue
  try {
    const raw = core(...flat)
    const rt = type.result
    if (rt === undefined) result = undefined
    else if (layout(rt).flat.length > MAX_FLAT_RESULTS) {
      const ptr = (raw as number) >>> 0
      mem.check(ptr, layout(rt).size, layout(rt).align)
      result = load(mem, rt, ptr)
    }
    else result = liftFlat(mem, rt, { values: raw === undefined ? [] : [raw], i: 0 })
    if (postReturn !== undefined) {
      if (raw === undefined) postReturn()
      else postReturn(raw)
    }
  } catch (err) {
    // Once the guest runs, any failure (a trap, a host import that threw or returned a bad value)
    // leaves the instance in an unknown state: it is a trap.
    if (err instanceof WasmTrapError) throw err
    throw new WasmTrapError(`wasm trap: ${err instanceof Error ? err.message : String(err)}`, {}, { cause: err })
  }
  return result
}

/**
 * A host function as a component import: takes WIT values and returns one (checked when lowered).
 * Declared through a method so that `(msg: string) => void` is accepted (method parameters are bivariant).
 */
export type HostFunction = { bivariant (...args: WitValue[]): unknown }['bivariant']

/** Builds the core function for `canon lower` of a host function (the guest calls the host). */
export function lowerHost (guest: GuestMemory, type: FuncType, host: HostFunction): CoreFunction {
  const tuple = paramsTuple(type)
  const paramFlat = layout(tuple).flat.length
  const rt = type.result
  const resultFlat = rt === undefined ? 0 : layout(rt).flat.length
  return (...raw: CoreValue[]): CoreValue | undefined => {
    const mem = new Mem(guest)
    let args: WitValue[]
    if (paramFlat > MAX_FLAT_PARAMS) {
      const ptr = (raw[0] as number) >>> 0
      mem.check(ptr, layout(tuple).size, layout(tuple).align)
      args = load(mem, tuple, ptr) as WitValue[]
    }
    else {
      const c: Cursor = { values: raw, i: 0 }
      args = type.params.map((p) => liftFlat(mem, p.type, c))
    }
    const value = host(...args)
    if (value instanceof Promise) throw new WasmTrapError('a host import returned a Promise: host functions must be synchronous')
    if (rt === undefined) return undefined
    if (resultFlat > MAX_FLAT_RESULTS) {
      const retptr = (raw[raw.length - 1] as number) >>> 0
      mem.check(retptr, layout(rt).size, layout(rt).align)
      store(mem, rt, value, retptr)
      return undefined
    }
    const out: CoreValue[] = []
    lowerFlat(mem, rt, value, out)
    return out[0]
  }
}
