import { CID } from 'multiformats/cid'
import { beforeAll, describe, expect, test } from 'vitest'
import { ArgumentTypeError, FunctionNotFoundError, InvalidModuleError, WasmTrapError } from '../src/errors.js'
import { WasmFormatError } from '../src/binary.js'
import {
  callIpld, type ComponentInstance, componentFunctions, exportNameVariants, instantiateComponent, type LogEntry, loadComponent,
  MissingImportError, parseComponent, UnsupportedComponentError, witName
} from '../src/component/index.js'
import { loadFixture } from './fixtures/load.js'

const kinds = ['component', 'embedded'] as const
const fixtures: Record<string, Uint8Array> = {}

beforeAll(async () => {
  for (const name of ['guest.component.wasm', 'guest.embedded.wasm', 'guest.core.wasm', 'resources.component.wasm', 'resources.embedded.wasm', 'imports.component.wasm', 'imports.embedded.wasm']) {
    fixtures[name] = await loadFixture(name)
  }
})

const CALC_ADD = 'ipvm:fixtures/calc@0.1.0#add'

describe.each(kinds)('guest as %s', (kind) => {
  let inst: ComponentInstance
  const bytes = (): Uint8Array => fixtures[`guest.${kind}.wasm`]!
  beforeAll(async () => { inst = await instantiateComponent(bytes()) })

  test('lists every export with its WIT type', () => {
    expect([...inst.functions.keys()]).toContain('add-one')
    expect([...inst.functions.keys()]).toContain(CALC_ADD)
    expect(inst.functions.size).toBe(33)
    const types = componentFunctions(loadComponent(bytes()))
    expect(witName(types.get('move-point')!.params[0]!.type)).toBe('point (record { x: s32, y: s32, label: string })')
    expect(witName(types.get('safe-div')!.result)).toBe('result<s32, string>')
  })

  test('bool and integers wrap like the guest computes them', () => {
    expect(inst.call('add-one', 41)).toBe(42)
    expect(inst.call('add-one', 2147483647)).toBe(-2147483648)
    expect(inst.call('negate', true)).toBe(false)
    expect(inst.call('negate', false)).toBe(true)
    expect(inst.call('inc-s8', 127)).toBe(-128)
    expect(inst.call('inc-s8', -5)).toBe(-4)
    expect(inst.call('inc-u8', 255)).toBe(0)
    expect(inst.call('inc-s16', 32767)).toBe(-32768)
    expect(inst.call('inc-u16', 65535)).toBe(0)
    expect(inst.call('inc-u32', 4294967294)).toBe(4294967295)
    expect(inst.call('subtract-int', 1, 2)).toBe(-1)
  })

  test('s64/u64 are bigints without precision loss', () => {
    expect(inst.call('inc-s64', 9007199254740993n)).toBe(9007199254740994n)
    expect(inst.call('inc-s64', -9223372036854775808n)).toBe(-9223372036854775807n)
    expect(inst.call('inc-s64', 9223372036854775807n)).toBe(-9223372036854775808n)
    expect(inst.call('inc-u64', 18446744073709551614n)).toBe(18446744073709551615n)
    expect(inst.call('inc-u64', 18446744073709551615n)).toBe(0n)
    expect(inst.call('inc-u64', 5)).toBe(6n)
  })

  test('floats and chars', () => {
    expect(inst.call('half-f32', 3)).toBe(1.5)
    expect(inst.call('half-f32', 0.1)).toBe(Math.fround(Math.fround(0.1) / 2))
    expect(inst.call('half-f64', 0.3)).toBe(0.15)
    expect(inst.call('next-char', 'a')).toBe('b')
    expect(inst.call('next-char', '😀')).toBe('😁')
    expect(inst.call(CALC_ADD, 1.25, 2)).toBe(3.25)
  })

  test('strings are UTF-8 and post-return runs after the result is read', () => {
    const before = inst.call('post-count') as number
    expect(inst.call('shout', 'héllo wörld')).toBe('HéLLO WöRLD!')
    expect(inst.call('shout', '')).toBe('!')
    expect(inst.call('post-count')).toBe(before + 2)
  })

  test('lists', () => {
    expect(inst.call('reverse-bytes', Uint8Array.of(1, 2, 3))).toEqual(Uint8Array.of(3, 2, 1))
    expect(inst.call('reverse-bytes', [9, 8])).toEqual(Uint8Array.of(8, 9))
    expect(inst.call('reverse-bytes', new Uint8Array())).toEqual(new Uint8Array())
    expect(inst.call('range', 5)).toEqual([0, 1, 2, 3, 4])
    expect(inst.call('transpose', [[1, 2, 3], [4, 5, 6]])).toEqual([[1, 4], [2, 5], [3, 6]])
    expect(inst.call('sum-kv', [['a', 1], ['b', 4294967295]])).toBe(4294967296n)
  })

  test('records, tuples and lists of records', () => {
    expect(inst.call('move-point', { x: 1, y: -2, label: 'p' }, 5)).toEqual({ x: 6, y: -2, label: 'p+' })
    expect(inst.call('labels', [{ x: 1, y: 2, label: 'a' }, { x: -3, y: 4, label: 'bé' }])).toEqual(['a@1,2', 'bé@-3,4'])
    expect(inst.call('swap', [7, 'seven'])).toEqual(['seven', 7])
  })

  test('variants join their payloads (f32 and u16 through an i64 slot)', () => {
    expect(inst.call('grow', { tag: 'circle', val: 1.5 })).toEqual({ tag: 'circle', val: 3 })
    expect(inst.call('grow', { tag: 'circle', val: -0.25 })).toEqual({ tag: 'circle', val: -0.5 })
    expect(inst.call('grow', { tag: 'rect', val: [3, 4] })).toEqual({ tag: 'rect', val: [6, 8] })
    expect(inst.call('grow', { tag: 'big', val: 2n ** 62n })).toEqual({ tag: 'big', val: 2n ** 63n })
    expect(inst.call('grow', { tag: 'empty' })).toEqual({ tag: 'empty', val: undefined })
  })

  test('enum, flags, option, result', () => {
    expect(inst.call('next-color', 'red')).toBe('green')
    expect(inst.call('next-color', 'blue')).toBe('red')
    expect(inst.call('toggle', ['read'])).toEqual(['write', 'exec'])
    expect(inst.call('toggle', [])).toEqual(['read', 'write', 'exec'])
    expect(inst.call('maybe-double', { tag: 'some', val: 21 })).toEqual({ tag: 'some', val: 42 })
    expect(inst.call('maybe-double', { tag: 'none' })).toEqual({ tag: 'none', val: undefined })
    expect(inst.call('safe-div', 7, 2)).toEqual({ tag: 'ok', val: 3 })
    expect(inst.call('safe-div', 1, 0)).toEqual({ tag: 'err', val: 'division by zero' })
    expect(inst.call('num-to-kv', { tag: 'ok', val: 7 })).toEqual({ name: '7', val: { tag: 'some', val: 7 } })
  })

  test('more than 16 flat parameters are passed in memory', () => {
    expect(inst.call('sum17', ...Array.from({ length: 17 }, (_, i) => i + 1))).toBe(153)
  })

  test('a wrong JS argument throws ArgumentTypeError naming the parameter and leaves the instance usable', () => {
    expect(() => inst.call('add-one', 'x')).toThrow(ArgumentTypeError)
    expect(() => inst.call('add-one', 'x')).toThrow(/argument a: expected s32/)
    expect(() => inst.call('move-point', { x: 1, y: 2 }, 1)).toThrow(/argument p: expected point/)
    expect(() => inst.call('add-one')).toThrow(/expected 1 argument/)
    expect(() => inst.call('addOne', 1)).toThrow(FunctionNotFoundError)
    expect(inst.poisoned).toBe(false)
    expect(inst.call('add-one', 1)).toBe(2)
  })
})

describe('IPVM ABI (IPLD arguments and results)', () => {
  let inst: ComponentInstance
  beforeAll(async () => { inst = await instantiateComponent(fixtures['guest.component.wasm']!) })

  test('Homestar known answers', () => {
    expect(callIpld(inst, 'add-one', [10])).toBe(11)
    expect(callIpld(inst, 'num-to-kv', [[1, null]])).toEqual({ name: '1', val: 1 })
    expect(callIpld(inst, 'num-to-kv', [[null, 'bad stuff']])).toEqual({ name: 'NAN', val: null })
    expect(callIpld(inst, 'subtractInt', [1.0, 2.0])).toBe(-1)
    expect(callIpld(inst, 'transpose', [[[1, 2], [3, 4]]])).toEqual([[1, 3], [2, 4]])
  })

  test('every WIT type converts from and to IPLD', () => {
    expect(callIpld(inst, 'negate', [false])).toBe(true)
    expect(callIpld(inst, 'inc-u64', [18446744073709551614n])).toBe(18446744073709551615n)
    expect(callIpld(inst, 'inc-s64', [41])).toBe(42)
    // floats to integer parameters are cast like Rust's `as`: truncated, saturated
    expect(callIpld(inst, 'inc-u8', [254.9])).toBe(255)
    expect(callIpld(inst, 'inc-s8', [-1000.5])).toBe(-127)
    expect(callIpld(inst, 'half-f64', [3n])).toBe(1.5)
    expect(callIpld(inst, 'half-f32', [0.2])).toBe(0.1)
    expect(callIpld(inst, 'next-char', ['y'])).toBe('z')
    expect(callIpld(inst, 'shout', ['hi'])).toBe('HI!')
    expect(callIpld(inst, 'reverse-bytes', [Uint8Array.of(1, 2)])).toEqual(Uint8Array.of(2, 1))
    expect(callIpld(inst, 'reverse-bytes', [[1, 2]])).toEqual(Uint8Array.of(2, 1))
    expect(callIpld(inst, 'reverse-bytes', [[]])).toEqual([])
    expect(callIpld(inst, 'range', [3])).toEqual([0, 1, 2])
    expect(callIpld(inst, 'move-point', [{ x: 1, y: 2, label: 'q', extra: true }, 1])).toEqual({ x: 2, y: 2, label: 'q+' })
    expect(callIpld(inst, 'swap', [[1, 'one']])).toEqual(['one', 1])
    expect(callIpld(inst, 'grow', [{ circle: 0.5 }])).toEqual({ circle: 1 })
    expect(callIpld(inst, 'grow', [{ rect: [1, 2] }])).toEqual({ rect: [2, 4] })
    expect(callIpld(inst, 'grow', [{ empty: null }])).toEqual({ empty: null })
    expect(callIpld(inst, 'next-color', ['green'])).toBe('blue')
    expect(callIpld(inst, 'toggle', [['read', 'exec']])).toEqual(['write'])
    expect(callIpld(inst, 'maybe-double', [4])).toBe(8)
    expect(callIpld(inst, 'maybe-double', [null])).toBe(null)
    expect(callIpld(inst, 'safe-div', [9, 3])).toEqual([3, null])
    expect(callIpld(inst, 'safe-div', [9, 0])).toEqual([null, 'division by zero'])
    expect(callIpld(inst, 'sum-kv', [{ a: 1, b: 2 }])).toBe(3)
    expect(callIpld(inst, 'sum-kv', [{}])).toBe(0)
    expect(callIpld(inst, CALC_ADD, [1, 0.5])).toBe(1.5)
  })

  test('Bytes to a string parameter is base64 (standard, unpadded); "null" and CIDs come back as null and links', () => {
    // shout upper-cases ASCII letters: base64 of [0xfb, 0xff] is "+/8", of "hi" is "aGk"
    expect(callIpld(inst, 'shout', [Uint8Array.of(0xfb, 0xff)])).toBe('+/8!')
    expect(callIpld(inst, 'shout', [new TextEncoder().encode('hi')])).toBe('AGK!')
    expect(callIpld(inst, 'shout', [null])).toBe('NULL!')
    expect(callIpld(inst, 'labels', [[{ x: 0, y: 0, label: 'nul' }]])).toEqual(['nul@0,0'])
  })

  test('links go in as strings (v1 base32, v0 base58btc) and strings that parse as CIDs come back as links', () => {
    const v1 = CID.parse('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku')
    const v0 = CID.parse('QmWATWQ7fVPP2EFGu71UkfnqhYXDYH566qy47CnJDgvs8u')
    const [back1] = callIpld(inst, 'swap', [[1, v1]]) as [CID, number]
    expect(CID.asCID(back1)?.equals(v1)).toBe(true)
    const [back0] = callIpld(inst, 'swap', [[1, v0]]) as [CID, number]
    expect(CID.asCID(back0)?.toString()).toBe('QmWATWQ7fVPP2EFGu71UkfnqhYXDYH566qy47CnJDgvs8u')
    expect(callIpld(inst, 'swap', [[2, 'null']])).toEqual([null, 2])
    expect(callIpld(inst, 'swap', [[3, 'bafy-not-a-cid']])).toEqual(['bafy-not-a-cid', 3])
    expect(callIpld(inst, 'swap', [[4, Uint8Array.of(0xfb, 0xff, 0x01, 0x02)]])).toEqual(['+/8BAg', 4])
  })

  test('a wrong IPLD argument throws ArgumentTypeError naming the parameter and its WIT type, never a trap', () => {
    const cases: [string, unknown[], RegExp][] = [
      ['add-one', ['1'], /argument a: expected s32, got the string "1"/],
      ['add-one', [2147483648], /argument a: expected s32, got the integer 2147483648 \(out of range/],
      ['inc-u8', [-1], /argument a: expected u8/],
      ['next-char', ['ab'], /argument c: expected char.*exactly one character/],
      ['next-color', ['purple'], /argument c: expected color \(enum \{ red, green, blue \}\).*one of red, green, blue/],
      ['toggle', [['read', 'fly']], /argument p: expected perms/],
      ['move-point', [{ x: 1, y: 2 }, 1], /argument p: expected point .*missing field label/],
      ['move-point', [{ x: 1, y: 'two', label: '' }, 1], /argument p at \.y: expected s32/],
      ['swap', [[1]], /argument t: expected tuple<u16, string>.*2 elements/],
      ['grow', [{ circle: 1, rect: [1, 1] }], /argument s: expected shape .*exactly one key/],
      ['grow', [{ hexagon: 1 }], /argument s: expected shape .*cases are circle, rect, big, empty/],
      ['safe-div', [1, null], /argument b: expected s32, got null/],
      ['num-to-kv', [[null, null]], /argument num: expected result<u32, string>/],
      ['num-to-kv', [[1, 'x']], /argument num: expected result<u32, string>/],
      ['reverse-bytes', ['AQI'], /argument b: expected list<u8>/],
      ['add-one', [1, 2], /too many arguments: add-one\(a: s32\) takes 1, got 2/],
      ['subtract-int', [1], /missing argument b: .* expects s8/]
    ]
    for (const [name, args, message] of cases) {
      let error: unknown
      try {
        callIpld(inst, name, args as never)
      } catch (err) {
        error = err
      }
      expect(error, name).toBeInstanceOf(ArgumentTypeError)
      expect((error as Error).message, name).toMatch(message)
    }
    expect(inst.poisoned).toBe(false)
  })

  test('functions are found by Homestar case variants; unknown names list the exports', () => {
    expect(exportNameVariants('subtractInt')).toEqual(['subtractInt', 'SUBTRACTINT', 'subtract-int', 'subtract_int', 'SubtractInt', 'SUBTRACT_INT', '%subtractInt'])
    expect(exportNameVariants('HTTPServer2go')).toContain('http-server2go')
    expect(callIpld(inst, 'addOne', [1])).toBe(2)
    expect(callIpld(inst, 'add_one', [1])).toBe(2)
    expect(callIpld(inst, 'ADD_ONE', [1])).toBe(2)
    expect(callIpld(inst, 'AddOne', [1])).toBe(2)
    expect(callIpld(inst, 'NEGATE', [true])).toBe(false)
    expect(callIpld(inst, 'next_color', ['red'])).toBe('green')
    let error: unknown
    try {
      callIpld(inst, 'add-onez', [1])
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(FunctionNotFoundError)
    expect((error as FunctionNotFoundError).message).toMatch(/add-onez.*available: add-one, negate/)
    expect((error as FunctionNotFoundError).details['available']).toContain(CALC_ADD)
  })
})

describe('host imports', () => {
  test.each(kinds)('wasi:logging and homestar:host/helpers are provided by default (%s)', async (kind) => {
    const logs: LogEntry[] = []
    const printed: string[] = []
    let clock = 1000
    const inst = await instantiateComponent(fixtures[`guest.${kind}.wasm`]!, {}, {
      onLog: (e) => logs.push(e), onPrint: (m) => printed.push(m), now: () => clock
    })
    expect(inst.call('greet', 'Ada')).toBe('hello, Ada')
    expect(logs).toEqual([{ level: 'info', context: 'run-fn', message: 'greet' }])
    expect(printed).toEqual(['Ada'])
    clock += 2345.678912
    expect(inst.call('now')).toEqual({ seconds: 2n, milliseconds: 345, nanoseconds: 345678912 })
    expect(callIpld(inst, 'now', [])).toEqual({ seconds: 2, milliseconds: 345, nanoseconds: 345678912 })
  })

  test('caller imports override the defaults, matched without the version suffix and in camelCase', async () => {
    const inst = await instantiateComponent(fixtures['guest.component.wasm']!, {
      'homestar:host/helpers': { getCurrentTime: () => ({ seconds: 7n, milliseconds: 8, nanoseconds: 9 }), print: (_message: string) => {} }
    })
    expect(inst.call('now')).toEqual({ seconds: 7n, milliseconds: 8, nanoseconds: 9 })
  })

  test('a host import that throws or returns a bad value traps the call', async () => {
    const inst = await instantiateComponent(fixtures['guest.embedded.wasm']!, {
      'homestar:host/helpers@0.1.1': { 'get-current-time': () => ({ seconds: 'soon' }), print: () => { throw new Error('printer on fire') } }
    })
    expect(() => inst.call('now')).toThrow(WasmTrapError)
    expect(inst.poisoned).toBe(true)
    const inst2 = await instantiateComponent(fixtures['guest.component.wasm']!, {
      'homestar:host/helpers@0.1.1': { print: () => { throw new Error('printer on fire') }, 'get-current-time': () => undefined }
    })
    expect(() => inst2.call('greet', 'x')).toThrow(/printer on fire/)
  })

  test.each(kinds)('imports that are not provided are named at instantiation (%s)', async (kind) => {
    const error = await instantiateComponent(fixtures[`guest.${kind}.wasm`]!, {}, { defaultImports: false }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MissingImportError)
    expect((error as MissingImportError).missing.sort()).toEqual(['homestar:host/helpers@0.1.1', 'wasi:logging/logging'])
    expect((error as Error).message).toMatch(/needs imports the host does not provide: .*wasi:logging\/logging/)
  })

  test.each(kinds)('imports of resource interfaces (WASI) are refused with a clear error (%s)', async (kind) => {
    const error = await instantiateComponent(fixtures[`resources.${kind}.wasm`]!, {
      'wasi:filesystem/types': { '[method]descriptor.size': () => 0n }
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MissingImportError)
    expect((error as Error).message).toBe('component needs WASI resources (unsupported): wasi:filesystem/types@0.2.0')
  })
})

describe('caller-provided imports', () => {
  const measure = {
    area: (s: { w: number, h: number }) => BigInt(s.w) * BigInt(s.h),
    describe: (s: { w: number, h: number }) => `${s.w}×${s.h} ✓`
  }

  test.each(kinds)('interface imports using another interface\'s types, string results and bare function imports (%s)', async (kind) => {
    const calls: number[] = []
    const inst = await instantiateComponent(fixtures[`imports.${kind}.wasm`]!, {
      'ipvm:imports/measure@0.1.0': measure,
      'host-double': (x: number) => { calls.push(x); return x * 2 }
    })
    expect(inst.call('area-of', 4294967295, 2)).toBe(8589934590n)
    expect(inst.call('describe-size', 3, 40)).toBe('3×40 ✓')
    expect(inst.call('double-via-host', 20)).toBe(41)
    expect(calls).toEqual([20])
    expect(callIpld(inst, 'describeSize', [1, 2])).toBe('1×2 ✓')
  })

  test.each(kinds)('a missing function of a provided interface is named (%s)', async (kind) => {
    const error = await instantiateComponent(fixtures[`imports.${kind}.wasm`]!, {
      'ipvm:imports/measure': { area: measure.area }
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MissingImportError)
    expect((error as MissingImportError).missing.sort()).toEqual(['host-double', 'ipvm:imports/measure@0.1.0#describe'])
  })

  test('a host result of the wrong type traps the call instead of corrupting memory', async () => {
    const inst = await instantiateComponent(fixtures['imports.component.wasm']!, {
      'ipvm:imports/measure': { area: () => -1n, describe: () => 42 },
      'host-double': () => 2 ** 32
    })
    expect(() => inst.call('area-of', 1, 1)).toThrow(/wasm trap: expected u64, got bigint -1/)
    expect(inst.poisoned).toBe(true)
  })
})

describe('re-entrance and async host functions', () => {
  test.each(kinds)('an import calling back into its own instance traps (%s)', async (kind) => {
    let inst: ComponentInstance | undefined
    inst = await instantiateComponent(fixtures[`imports.${kind}.wasm`]!, {
      'ipvm:imports/measure': { area: () => 0n, describe: () => '' },
      'host-double': (x: number) => inst!.call('double-via-host', x) as number
    })
    expect(() => inst!.call('double-via-host', 1)).toThrow(/cannot be re-entered/)
    expect(inst.poisoned).toBe(true)
  })

  test('a host function returning a Promise traps with a clear message', async () => {
    const inst = await instantiateComponent(fixtures['imports.embedded.wasm']!, {
      'ipvm:imports/measure': { area: async () => 1n, describe: () => '' },
      'host-double': (x: number) => x
    })
    expect(() => inst.call('area-of', 1, 1)).toThrow(/returned a Promise/)
  })
})

describe('traps', () => {
  test.each(kinds)('a trap poisons the instance: later calls throw (%s)', async (kind) => {
    const inst = await instantiateComponent(fixtures[`guest.${kind}.wasm`]!)
    expect(inst.call('boom', 4)).toBe(25)
    expect(() => inst.call('boom', 0)).toThrow(WasmTrapError)
    expect(inst.poisoned).toBe(true)
    expect(() => inst.call('add-one', 1)).toThrow(/trapped earlier/)
    expect(() => callIpld(inst, 'add-one', [1])).toThrow(WasmTrapError)
    // a fresh instance of the same bytes is unaffected
    const fresh = await instantiateComponent(fixtures[`guest.${kind}.wasm`]!)
    expect(fresh.call('add-one', 1)).toBe(2)
  })
})

describe('instantiation', () => {
  test('the compile hook sees every core module; core instances are exposed', async () => {
    const seen: Uint8Array[] = []
    const compile = (b: Uint8Array): Promise<WebAssembly.Module> => {
      seen.push(b)
      return WebAssembly.compile(b as Uint8Array<ArrayBuffer>)
    }
    const inst = await instantiateComponent(fixtures['guest.component.wasm']!, {}, { compile })
    // wit-component emits the main module plus its shim and fixup modules for lowered imports
    expect(seen.length).toBe(3)
    for (const b of seen) expect([...b.subarray(0, 8)]).toEqual([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])
    expect(inst.coreInstances.length).toBe(3)
    expect(inst.coreExport('memory')).toBeInstanceOf(WebAssembly.Memory)
    expect(inst.coreExport('__ipvm_fuel')).toBe(undefined)
    expect(inst.call('greet', 'z')).toBe('hello, z')

    seen.length = 0
    const embedded = await instantiateComponent(fixtures['guest.embedded.wasm']!, {}, { compile })
    expect(seen).toEqual([fixtures['guest.embedded.wasm']])
    expect(embedded.coreExport('cabi_realloc')).toBeTypeOf('function')
  })

  test('a core module without a component-type section is refused', async () => {
    await expect(instantiateComponent(fixtures['guest.core.wasm']!)).rejects.toThrow(InvalidModuleError)
    await expect(instantiateComponent(fixtures['guest.core.wasm']!)).rejects.toThrow(/component-type/)
  })

  test('truncated bytes give WasmFormatError; unsupported features a clear error', () => {
    const bytes = fixtures['guest.component.wasm']!
    expect(() => parseComponent(bytes.subarray(0, bytes.length - 10))).toThrow(WasmFormatError)
    // a component whose type section defines a resource type: (type (resource (rep i32)))
    const resource = Uint8Array.of(0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0, 7, 4, 1, 0x3f, 0x7f, 0)
    expect(() => parseComponent(resource)).toThrow(UnsupportedComponentError)
    expect(() => parseComponent(resource)).toThrow(/resource/)
    // a component start function (section 9)
    const start = Uint8Array.of(0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0, 9, 3, 0, 0, 0)
    expect(() => parseComponent(start)).toThrow(/start functions/)
  })
})
