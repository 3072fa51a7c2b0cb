// Property test of the canonical ABI on random WIT types: a host function lowered with `canon lower`
// and then lifted with `canon lift` (glued as a guest would be: a return area for results that do not
// flatten to one value) must be the identity. This crosses every path: flat lowering and lifting
// with variant joins, more than 16 flat parameters spilled to memory, store/load of every type.
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { WasmTrapError } from '../src/errors.js'
import { callLifted, type CoreFunction, type CoreValue, type GuestMemory, lowerHost, type WitValue } from '../src/component/abi.js'
import { type FuncType, layout, MAX_FLAT_RESULTS, type ValType } from '../src/component/types.js'

function guestMemory (): GuestMemory & { allocations: number } {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1024 })
  let top = 8
  const g = {
    allocations: 0,
    memory: () => memory,
    realloc: () => (_old: number, _oldSize: number, align: number, size: number): number => {
      g.allocations++
      top = Math.ceil(top / align) * align
      const ptr = top
      top += size
      const need = Math.ceil(top / 65536) - memory.buffer.byteLength / 65536
      if (need > 0) memory.grow(need)
      return ptr
    }
  }
  return g
}

/** Glues a lowered import to the calling convention of a lifted export (the guest's side). */
function asExport (guest: GuestMemory, type: FuncType, lowered: CoreFunction): CoreFunction {
  const rt = type.result
  if (rt === undefined || layout(rt).flat.length <= MAX_FLAT_RESULTS) return lowered
  return (...flat: CoreValue[]) => {
    const ret = guest.realloc()!(0, 0, layout(rt).align, layout(rt).size)
    lowered(...flat, ret)
    return ret
  }
}

const PRIMS = ['bool', 's8', 'u8', 's16', 'u16', 's32', 'u32', 's64', 'u64', 'f32', 'f64', 'char', 'string'] as const
const names = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`)

const typeArb: fc.Arbitrary<ValType> = fc.letrec<{ t: ValType }>((tie) => ({
  t: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...PRIMS).map((kind): ValType => ({ kind })),
    tie('t').map((elem): ValType => ({ kind: 'list', elem })),
    fc.array(tie('t'), { minLength: 1, maxLength: 4 }).map((types): ValType => ({ kind: 'record', fields: types.map((type, i) => ({ name: `f${i}`, type })) })),
    fc.array(tie('t'), { minLength: 1, maxLength: 4 }).map((types): ValType => ({ kind: 'tuple', types })),
    fc.array(fc.option(tie('t'), { nil: undefined }), { minLength: 1, maxLength: 5 }).map((cases): ValType => ({ kind: 'variant', cases: cases.map((type, i) => ({ name: `c${i}`, type })) })),
    fc.integer({ min: 1, max: 300 }).map((n): ValType => ({ kind: 'enum', names: names('e', n) })),
    fc.integer({ min: 1, max: 70 }).map((n): ValType => ({ kind: 'flags', names: names('g', n) })),
    tie('t').map((type): ValType => ({ kind: 'option', type })),
    fc.tuple(fc.option(tie('t'), { nil: undefined }), fc.option(tie('t'), { nil: undefined })).map(([ok, err]): ValType => ({ kind: 'result', ok, err }))
  )
})).t

const charArb = fc.integer({ min: 0, max: 0x10ffff }).filter((c) => c < 0xd800 || c > 0xdfff).map((c) => String.fromCodePoint(c))

function valueArb (t: ValType): fc.Arbitrary<WitValue> {
  switch (t.kind) {
    case 'bool': return fc.boolean()
    case 's8': return fc.integer({ min: -128, max: 127 })
    case 'u8': return fc.integer({ min: 0, max: 255 })
    case 's16': return fc.integer({ min: -32768, max: 32767 })
    case 'u16': return fc.integer({ min: 0, max: 65535 })
    case 's32': return fc.integer({ min: -2147483648, max: 2147483647 })
    case 'u32': return fc.integer({ min: 0, max: 4294967295 })
    case 's64': return fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n })
    case 'u64': return fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })
    case 'f32': return fc.float({ noNaN: true })
    case 'f64': return fc.double({ noNaN: true })
    case 'char': return charArb
    case 'string': return fc.array(charArb, { maxLength: 8 }).map((a) => a.join(''))
    case 'list': return t.elem.kind === 'u8' ? fc.uint8Array({ maxLength: 8 }) : fc.array(valueArb(t.elem), { maxLength: 4 })
    case 'record': return fc.record(Object.fromEntries(t.fields.map((f) => [f.name, valueArb(f.type)])))
    case 'tuple': return fc.tuple(...t.types.map(valueArb))
    case 'variant': return fc.oneof(...t.cases.map((c) => c.type === undefined ? fc.constant({ tag: c.name, val: undefined }) : valueArb(c.type).map((val) => ({ tag: c.name, val }))))
    case 'enum': return fc.constantFrom(...t.names)
    case 'flags': return fc.subarray(t.names)
    case 'option': return fc.oneof(fc.constant({ tag: 'none', val: undefined }), valueArb(t.type).map((val) => ({ tag: 'some', val })))
    case 'result': return fc.oneof(
      t.ok === undefined ? fc.constant({ tag: 'ok', val: undefined }) : valueArb(t.ok).map((val) => ({ tag: 'ok', val })),
      t.err === undefined ? fc.constant({ tag: 'err', val: undefined }) : valueArb(t.err).map((val) => ({ tag: 'err', val }))
    )
    default: throw new Error(`no values of ${t.kind}`)
  }
}

/** A function type with random parameters (up to 20, so some spill) returning all of them as a tuple. */
const caseArb = fc.array(typeArb, { minLength: 0, maxLength: 20 }).chain((params) =>
  fc.tuple(fc.constant(params), fc.tuple(...params.map(valueArb))))

describe('canonical ABI round trip (lower ∘ lift = identity)', () => {
  test('random types and values', () => {
    fc.assert(fc.property(caseArb, ([params, args]) => {
      const type: FuncType = {
        kind: 'func',
        params: params.map((t, i) => ({ name: `p${i}`, type: t })),
        result: params.length === 0 ? undefined : { kind: 'tuple', types: params }
      }
      const guest = guestMemory()
      const identity = (...a: WitValue[]): WitValue => a
      let postReturnCalls = 0
      const out = callLifted(guest, type, asExport(guest, type, lowerHost(guest, type, identity)), () => { postReturnCalls++; return undefined }, args)
      expect(out).toEqual(params.length === 0 ? undefined : args)
      expect(postReturnCalls).toBe(1)
    }), { numRuns: 300 })
  })

  test('a single scalar result comes back through the flat path, not memory', () => {
    const type: FuncType = { kind: 'func', params: [{ name: 'x', type: { kind: 'u64' } }], result: { kind: 'u64' } }
    const guest = guestMemory()
    const core = lowerHost(guest, type, (x) => (x as bigint) + 1n)
    expect(callLifted(guest, type, core, undefined, [(1n << 64n) - 2n])).toBe((1n << 64n) - 1n)
    expect(guest.allocations).toBe(0)
  })

  test('invalid data from the guest traps instead of producing a value', () => {
    const guest = guestMemory()
    const view = new DataView(guest.memory().buffer)
    const pair: FuncType = { kind: 'func', params: [], result: { kind: 'tuple', types: [{ kind: 'u32' }, { kind: 'u32' }] } }
    const str: FuncType = { kind: 'func', params: [], result: { kind: 'string' } }
    const ch: FuncType = { kind: 'func', params: [], result: { kind: 'char' } }
    const en: FuncType = { kind: 'func', params: [], result: { kind: 'enum', names: ['a', 'b'] } }
    const lift = (type: FuncType, raw: CoreValue) => () => callLifted(guest, type, () => raw, undefined, [])
    expect(lift(pair, 3)).toThrow(WasmTrapError)
    expect(lift(pair, 3)).toThrow(/not aligned/)
    expect(lift(pair, 65536 - 4)).toThrow(/outside memory/)
    // a string (ptr 64, len 2) whose bytes are not UTF-8
    view.setUint32(16, 64, true)
    view.setUint32(20, 2, true)
    view.setUint8(64, 0xc3)
    view.setUint8(65, 0x28)
    expect(lift(str, 16)).toThrow(/not valid UTF-8/)
    view.setUint32(20, 70000, true)
    expect(lift(str, 16)).toThrow(/outside memory/)
    expect(lift(ch, 0xd800)).toThrow(/not a Unicode scalar value/)
    expect(lift(ch, 0x110000)).toThrow(/not a Unicode scalar value/)
    expect(lift(en, 2)).toThrow(/case index 2 out of range/)
    expect(lift(en, 1)()).toBe('b')
  })
})
