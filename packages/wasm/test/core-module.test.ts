import { deserializeError, type IpldValue, serializeError } from '@ipvm/core'
import { describe, expect, test } from 'vitest'
import {
  type CoreCallLimits, type PreparedCoreModule, nameVariants, prepareCoreModule, readCoreModuleInfo, resolveExportName, runCoreExport
} from '../src/core-module.js'
import {
  ArgumentTypeError, FunctionNotFoundError, InvalidLimitError, InvalidModuleError, OutOfFuelError, OutOfMemoryError,
  ResultTypeError, WasmTrapError
} from '../src/errors.js'
import { limitsFromMeta } from '../src/limits.js'
import { instrument } from '../src/meter.js'
import { wat } from './wat.js'

const MODULE = `(module
  (memory 1)
  (global $calls (mut i32) (i32.const 0))
  ;; 5 charged ops: local.get, local.get, i32.add, i32.const, i32.mul
  (func (export "straight") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add i32.const 3 i32.mul)
  ;; Counts to n: 4 ops per test (local.get, local.get, i32.ge_u, br_if) and 5 per step
  ;; (local.get, i32.const, i32.add, local.set, br), then local.get: 9n + 5 in all.
  (func (export "count") (param $n i32) (result i32) (local $i i32)
    block $done
      loop $l
        local.get $i local.get $n i32.ge_u br_if $done
        local.get $i i32.const 1 i32.add local.set $i br $l
      end
    end
    local.get $i)
  ;; 5 ops an iteration (local.get, i32.const, i32.add, local.set, br), forever.
  (func (export "spin") (local i32)
    loop $l local.get 0 i32.const 1 i32.add local.set 0 br $l end)
  (func (export "bomb") (result i32)
    loop $l
      i32.const 1 memory.grow i32.const -1 i32.eq
      if unreachable end
      br $l
    end
    i32.const 0)
  (func (export "unreachable") unreachable)
  (func (export "divide") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "id64") (param i64) (result i64) (local.get 0))
  (func (export "add64") (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
  (func (export "id32") (param i32) (result i32) (local.get 0))
  (func (export "mix") (param i32 i64 f32 f64) (result f64)
    (f64.add (f64.add (f64.convert_i32_s (local.get 0)) (f64.convert_i64_s (local.get 1)))
             (f64.add (f64.promote_f32 (local.get 2)) (local.get 3))))
  (func (export "pair") (param i32) (result i32 i64) (local.get 0) (i64.const 9007199254740993))
  (func (export "nothing"))
  (func (export "nan") (result f64) (f64.div (f64.const 0) (f64.const 0)))
  (func (export "bump") (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1))) (global.get $calls))
  (func $deep (export "deep") (param i32) (result i32) (call $deep (i32.add (local.get 0) (i32.const 1))))
  (func (export "add-one") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func (export "get_value") (result i32) (i32.const 7))
  (func (export "computeSum") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
  (func (export "ParseThing") (result i32) (i32.const 11))
  (func (export "LOUD") (result i32) (i32.const 12))
  (func (export "%weird") (result i32) (i32.const 13)))`

async function prepared (limits: { fuel?: bigint, memoryBytes?: number } = { fuel: 1n, memoryBytes: 4 * 65536 }): Promise<PreparedCoreModule> {
  return prepareCoreModule(await wat(MODULE), limits)
}

async function run (p: PreparedCoreModule, func: string, args: IpldValue[], limits: CoreCallLimits = {}) {
  return runCoreExport(p.module, p.info, func, args, limits)
}

async function failure (promise: Promise<unknown>): Promise<Error & { code: string, details: Record<string, unknown> }> {
  try {
    await promise
  } catch (err) {
    return err as Error & { code: string, details: Record<string, unknown> }
  }
  throw new Error('expected a failure')
}

describe('fuel', () => {
  test('straight-line code uses exactly its op count', async () => {
    const p = await prepared()
    expect(await run(p, 'straight', [2, 5], { fuel: 100 })).toEqual({ value: 21, fuelUsed: 5n })
    // A budget of exactly the op count is enough; one less is not.
    expect((await run(p, 'straight', [2, 5], { fuel: 5 })).fuelUsed).toBe(5n)
    const err = await failure(run(p, 'straight', [2, 5], { fuel: 4 }))
    expect(err).toBeInstanceOf(OutOfFuelError)
  })

  test('a call that finishes past its budget is out of fuel, charged every op it ran', async () => {
    // Fuel is compared only at function entries, loop headers and host calls: here the entry
    // (local.get, if: 2) passes on a budget of 2, the then-branch (3 ops) overdraws, and the call
    // returns with the counter at -3. That is an OutOfFuelError, not a result.
    const p = await prepareCoreModule(await wat(`(module (func (export "g") (param i32) (result i32)
      (if (result i32) (local.get 0) (then (i32.mul (i32.const 6) (i32.const 7))) (else (i32.const 0)))))`), { fuel: 1n })
    expect(await runCoreExport(p.module, p.info, 'g', [1], { fuel: 5 })).toEqual({ value: 42, fuelUsed: 5n })
    for (const fuel of [2, 3, 4]) {
      const err = await failure(runCoreExport(p.module, p.info, 'g', [1], { fuel }))
      expect(err).toBeInstanceOf(OutOfFuelError)
      expect(err.details).toEqual({ limit: BigInt(fuel), used: 5n })
    }
    const err = await failure(runCoreExport(p.module, p.info, 'g', [1], { fuel: 1 })) // the entry check traps
    expect(err).toBeInstanceOf(OutOfFuelError)
    expect(err.details).toEqual({ limit: 1n, used: 2n })
  })

  test('a loop uses 9n + 5, and the boundary is exact', async () => {
    const p = await prepared()
    for (const n of [0, 1, 10, 1000]) {
      const result = await run(p, 'count', [n], { fuel: 1_000_000 })
      expect(result).toEqual({ value: n, fuelUsed: BigInt(9 * n + 5) })
    }
    expect((await run(p, 'count', [10], { fuel: 95 })).value).toBe(10)
    expect(await failure(run(p, 'count', [10], { fuel: 94 }))).toBeInstanceOf(OutOfFuelError)
  })

  test('an infinite loop ends with OutOfFuelError, using the same fuel every run', async () => {
    const p = await prepared()
    const used: unknown[] = []
    for (let i = 0; i < 5; i++) {
      const err = await failure(run(p, 'spin', [], { fuel: 1_000_000 }))
      expect(err).toBeInstanceOf(OutOfFuelError)
      expect(err.name).toBe('OutOfFuelError')
      expect(err.code).toBe('ERR_OUT_OF_FUEL')
      expect(err.details['limit']).toBe(1_000_000n)
      used.push(err.details['used'])
    }
    // 200,000 iterations of 5 ops spend exactly 1e6; the next iteration's charge of 5 overdraws.
    expect(used).toEqual(Array(5).fill(1_000_005n))
  })

  test('without a fuel limit a metered module still reports fuel used', async () => {
    const p = await prepared()
    expect(await run(p, 'count', [3])).toEqual({ value: 3, fuelUsed: 32n })
  })

  test('the start function is charged to the call', async () => {
    const p = await prepareCoreModule(await wat(`(module (global $g (mut i32) (i32.const 0))
      (func $start (global.set $g (i32.add (global.get $g) (i32.const 1))))
      (start $start)
      (func (export "get") (result i32) (global.get $g)))`), { fuel: 10n })
    expect(await runCoreExport(p.module, p.info, 'get', [], { fuel: 10 })).toEqual({ value: 1, fuelUsed: 5n })
    expect(await failure(runCoreExport(p.module, p.info, 'get', [], { fuel: 3 }))).toBeInstanceOf(OutOfFuelError)
  })

  test('a runaway or failing start function is classified like a call', async () => {
    const spin = await prepareCoreModule(await wat('(module (func $s (loop $l (br $l))) (start $s) (func (export "f")))'), { fuel: 1n })
    expect(spin.info.deferredStart).toBe(true)
    expect([...spin.info.functions.keys()]).toEqual(['f'])
    const err = await failure(runCoreExport(spin.module, spin.info, 'f', [], { fuel: 1000 }))
    expect(err).toBeInstanceOf(OutOfFuelError)
    expect(err.details['used']).toBe(1001n) // one br per iteration; the 1001st overdraws
    const bomb = await prepareCoreModule(await wat(`(module (memory 1)
      (func $s (loop $l (br_if $l (i32.ne (memory.grow (i32.const 1)) (i32.const -1)))) unreachable)
      (start $s) (func (export "f")))`), { fuel: 1n, memoryBytes: 3 * 65536 })
    expect(await failure(runCoreExport(bomb.module, bomb.info, 'f', [], { fuel: 1000 }))).toBeInstanceOf(OutOfMemoryError)
    const trap = await prepareCoreModule(await wat('(module (func $s unreachable) (start $s) (func (export "f")))'))
    expect(await failure(runCoreExport(trap.module, trap.info, 'f', []))).toBeInstanceOf(WasmTrapError)
  })

  test('with an imported fuel global, a start function runs on the budget even during instantiation', async () => {
    const bytes = await wat('(module (global $g (mut i32) (i32.const 0)) (func $s (global.set $g (i32.const 5))) (start $s) (func (export "f") (result i32) (global.get $g)))')
    const metered = instrument(bytes, { fuel: true, fuelImport: true })
    const info = readCoreModuleInfo(metered)
    expect(info).toMatchObject({ metered: true, fuelImported: true, deferredStart: false })
    const module = await WebAssembly.compile(metered as Uint8Array<ArrayBuffer>)
    expect(await runCoreExport(module, info, 'f', [], { fuel: 3 })).toEqual({ value: 5, fuelUsed: 3n })
    const spin = instrument(await wat('(module (func $s (loop $l (br $l))) (start $s) (func (export "f")))'), { fuel: true, fuelImport: true })
    const err = await failure(runCoreExport(await WebAssembly.compile(spin as Uint8Array<ArrayBuffer>), readCoreModuleInfo(spin), 'f', [], { fuel: 50 }))
    expect(err).toBeInstanceOf(OutOfFuelError)
    expect(err.details['used']).toBe(51n)
  })

  test('a fuel limit on an unmetered module is refused, bad budgets too', async () => {
    const p = await prepared({})
    expect(p.info.metered).toBe(false)
    expect(await run(p, 'straight', [1, 1])).toEqual({ value: 6 })
    expect(await failure(run(p, 'straight', [1, 1], { fuel: 10 }))).toBeInstanceOf(InvalidModuleError)
    const metered = await prepared()
    expect(await failure(run(metered, 'straight', [1, 1], { fuel: -1 }))).toBeInstanceOf(InvalidLimitError)
    expect(await failure(run(metered, 'straight', [1, 1], { fuel: 1.5 }))).toBeInstanceOf(InvalidLimitError)
  })
})

describe('memory and traps', () => {
  test('a memory bomb under a cap is OutOfMemoryError, not out of fuel', async () => {
    const p = await prepared()
    const err = await failure(run(p, 'bomb', [], { fuel: 1_000_000, memoryBytes: 4 * 65536 }))
    expect(err).toBeInstanceOf(OutOfMemoryError)
    expect(err.code).toBe('ERR_OUT_OF_MEMORY')
    expect(err.details['limit']).toBe(4 * 65536)
    // With a cap only (no fuel) it is the same verdict, and the limit comes from the module.
    const capped = await prepared({ memoryBytes: 2 * 65536 })
    const again = await failure(run(capped, 'bomb', []))
    expect(again).toBeInstanceOf(OutOfMemoryError)
    expect(again.details['limit']).toBe(2 * 65536)
  })

  test('a bomb with too little fuel for the cap is out of fuel', async () => {
    const p = await prepared()
    expect(await failure(run(p, 'bomb', [], { fuel: 20 }))).toBeInstanceOf(OutOfFuelError)
  })

  test('unreachable and division by zero are WasmTrapError', async () => {
    const p = await prepared()
    const a = await failure(run(p, 'unreachable', [], { fuel: 100 }))
    expect(a).toBeInstanceOf(WasmTrapError)
    expect(a.code).toBe('ERR_WASM_TRAP')
    expect(a.message).toMatch(/unreachable/i)
    const b = await failure(run(p, 'divide', [1, 0], { fuel: 100 }))
    expect(b).toBeInstanceOf(WasmTrapError)
    expect(b.message).toMatch(/divi/i)
    expect(await run(p, 'divide', [-7, 2], { fuel: 100 })).toEqual({ value: -3, fuelUsed: 3n })
  })

  test('unbounded recursion is a WasmTrapError', async () => {
    const p = await prepared()
    const err = await failure(run(p, 'deep', [0]))
    expect(err).toBeInstanceOf(WasmTrapError)
  })

  test('every call gets a fresh instance', async () => {
    const p = await prepared()
    expect((await run(p, 'bump', [])).value).toBe(1)
    expect((await run(p, 'bump', [])).value).toBe(1)
  })

  test('errors survive serialization by name and code', async () => {
    const p = await prepared()
    const err = await failure(run(p, 'spin', [], { fuel: 10 }))
    const back = deserializeError(structuredClone(serializeError(err)))
    expect(back).toBeInstanceOf(OutOfFuelError)
    expect(back.code).toBe('ERR_OUT_OF_FUEL')
    expect(back.details).toEqual({ limit: '10', used: '15' }) // two iterations of 5, then a charge of 5 overdraws
  })

  test('an invalid module is InvalidModuleError, a missing import too', async () => {
    expect(await failure(prepareCoreModule(Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 10, 3, 1, 1, 0)))).toBeInstanceOf(InvalidModuleError)
    expect(await failure(prepareCoreModule(Uint8Array.of(1, 2, 3)))).toBeInstanceOf(InvalidModuleError)
    const p = await prepareCoreModule(await wat('(module (import "env" "f" (func)) (func (export "g") (call 0)))'), { fuel: 10n })
    expect(await failure(runCoreExport(p.module, p.info, 'g', []))).toBeInstanceOf(InvalidModuleError)
    // Imported functions shift the function index space; the export is still found and metered.
    let called = 0
    const ok = await runCoreExport(p.module, p.info, 'g', [], { fuel: 10 }, { env: { f: () => { called++ } } })
    expect(ok).toEqual({ value: null, fuelUsed: 1n })
    expect(called).toBe(1)
  })

  test('host import errors propagate unchanged', async () => {
    const p = await prepareCoreModule(await wat('(module (import "env" "f" (func)) (func (export "g") (call 0)))'), { fuel: 10n })
    const boom = new Error('host failed')
    expect(await failure(runCoreExport(p.module, p.info, 'g', [], {}, { env: { f: () => { throw boom } } }))).toBe(boom)
  })
})

describe('arguments and results', () => {
  test('i64 beyond 2^53 round-trips exactly', async () => {
    const p = await prepared()
    const big = (1n << 60n) + 1n
    expect((await run(p, 'id64', [big])).value).toBe(big)
    expect((await run(p, 'id64', [-(1n << 63n)])).value).toBe(-(1n << 63n))
    expect((await run(p, 'add64', [9007199254740993n, 2])).value).toBe(9007199254740995n)
    expect((await run(p, 'id64', [2 ** 53 - 1])).value).toBe(2 ** 53 - 1) // safe: back as a number
    expect((await run(p, 'id64', [(1n << 64n) - 1n])).value).toBe(-1) // u64 range wraps like the JS API
  })

  test('i32 accepts -2^31..2^32-1', async () => {
    const p = await prepared()
    expect((await run(p, 'id32', [-(2 ** 31)])).value).toBe(-(2 ** 31))
    expect((await run(p, 'id32', [2 ** 32 - 1])).value).toBe(-1)
    expect((await run(p, 'id32', [5n])).value).toBe(5)
    for (const bad of [2 ** 32, -(2 ** 31) - 1, 1.5, '1', null, true, [1], 2n ** 40n] as IpldValue[]) {
      const err = await failure(run(p, 'id32', [bad]))
      expect(err).toBeInstanceOf(ArgumentTypeError)
      expect(err.details).toMatchObject({ index: 0, expected: 'i32' })
    }
  })

  test('a wrong argument names its parameter and the expected type', async () => {
    const p = await prepared()
    expect((await run(p, 'mix', [1, 2n, 0.5, 0.25])).value).toBe(3.75)
    const err = await failure(run(p, 'mix', [1, 2 ** 60, 0.5, 0.25]))
    expect(err).toBeInstanceOf(ArgumentTypeError)
    expect(err.code).toBe('ERR_ARGUMENT_TYPE')
    expect(err.details).toMatchObject({ index: 1, expected: 'i64' })
    expect(err.message).toMatch(/argument 1/)
    const f = await failure(run(p, 'mix', [1, 2, 'x', 0.25]))
    expect(f.details).toMatchObject({ index: 2, expected: 'f32' })
    expect(await failure(run(p, 'mix', [1, 2, 3]))).toBeInstanceOf(ArgumentTypeError)
  })

  test('results: none is null, several are a list, NaN is refused', async () => {
    const p = await prepared()
    expect((await run(p, 'nothing', [])).value).toBeNull()
    expect((await run(p, 'pair', [4])).value).toEqual([4, 9007199254740993n])
    expect(await failure(run(p, 'nan', []))).toBeInstanceOf(ResultTypeError)
  })
})

describe('function names', () => {
  test('case variants as Homestar tries them', async () => {
    const p = await prepared()
    expect((await run(p, 'addOne', [1])).value).toBe(2)
    expect((await run(p, 'add_one', [1])).value).toBe(2)
    expect((await run(p, 'get-value', [])).value).toBe(7)
    expect((await run(p, 'compute_sum', [2, 3])).value).toBe(5)
    expect((await run(p, 'compute-sum', [2, 3])).value).toBe(5)
    expect((await run(p, 'parse_thing', [])).value).toBe(11)
    expect((await run(p, 'loud', [])).value).toBe(12)
    expect((await run(p, 'weird', [])).value).toBe(13)
  })

  test('unknown names list the available exports', async () => {
    const p = await prepared()
    const err = await failure(run(p, 'nope', []))
    expect(err).toBeInstanceOf(FunctionNotFoundError)
    expect(err.code).toBe('ERR_FUNCTION_NOT_FOUND')
    expect(err.details['available']).toContain('add-one')
    expect(err.details['available']).not.toContain('__ipvm_fuel')
  })

  test('variants and resolution', () => {
    expect(nameVariants('getHTTPStatus')).toEqual(['getHTTPStatus', 'GETHTTPSTATUS', 'get-http-status', 'get_http_status',
      'getHttpStatus', 'GetHttpStatus', 'GET_HTTP_STATUS', '%getHTTPStatus'])
    expect(resolveExportName('add-one', ['addOne', 'add_one'])).toBe('add_one')
    expect(resolveExportName('x', [])).toBeUndefined()
  })

  test('readCoreModuleInfo reads signatures, including re-exported imports', async () => {
    const info = readCoreModuleInfo(await wat(`(module (import "env" "f" (func $f (param i64) (result f32)))
      (func (export "g") (param i32 f64))
      (export "f" (func $f)))`))
    expect([...info.functions]).toEqual([
      ['g', { params: ['i32', 'f64'], results: [] }],
      ['f', { params: ['i64'], results: ['f32'] }]
    ])
    expect(info.metered).toBe(false)
  })
})

describe('limitsFromMeta', () => {
  test('reads Homestar task meta', () => {
    expect(limitsFromMeta({ fuel: 1000, memory: 1048576, time: 5000 })).toEqual({ fuel: 1000n, memoryBytes: 1048576, timeMs: 5000 })
    expect(limitsFromMeta({ fuel: 18446744073709552000 })).toEqual({}) // Homestar's u64::MAX default
    expect(limitsFromMeta({ fuel: (1n << 64n) - 1n })).toEqual({})
    expect(limitsFromMeta({ fuel: (1n << 62n) })).toEqual({ fuel: 1n << 62n })
    expect(limitsFromMeta(undefined)).toEqual({})
    expect(limitsFromMeta({ other: 'x' })).toEqual({})
    for (const bad of [{ fuel: -1 }, { memory: 1.5 }, { time: 'soon' }, [1]]) {
      expect(() => limitsFromMeta(bad)).toThrow(InvalidLimitError)
    }
  })
})
