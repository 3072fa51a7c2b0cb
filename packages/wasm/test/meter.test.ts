import { describe, expect, test } from 'vitest'
import { ByteWriter, WasmFormatError, readCustomSection, readSections } from '../src/binary.js'
import { OutOfMemoryError } from '../src/errors.js'
import {
  DEFAULT_INITIAL_FUEL, FUEL_EXPORT, FUEL_IMPORT_MODULE, FUEL_IMPORT_NAME, OOM_EXPORT, START_EXPORT, createFuelGlobal, fuelLeft, instrument, isMetered, memoryGrowFailed, meterCoreModule, setFuel
} from '../src/meter.js'
import { ALL_FEATURES, wabtCheck, wasm2wat, wat } from './wat.js'

/** One sample per opcode class; `run` calls exports and returns what they computed. */
interface Sample {
  name: string
  text: string
  /** Only wabt can check it on some engines (Node 20 lacks try_table, memory64, multi-memory, relaxed SIMD). */
  engineOptional?: boolean
  run?: (exports: WebAssembly.Exports) => unknown
}

const call = (exports: WebAssembly.Exports, name: string, ...args: Array<number | bigint>): unknown =>
  (exports[name] as (...a: Array<number | bigint>) => unknown)(...args)

const samples: Sample[] = [
  {
    name: 'MVP control flow, calls, memory, numerics',
    text: `(module
      (type $bin (func (param i32 i32) (result i32)))
      (table 2 funcref) (elem (i32.const 0) $add $sub)
      (memory 1) (data (i32.const 8) "\\2a\\00\\00\\00")
      (global $g (mut i32) (i32.const 7))
      (func $add (type $bin) (i32.add (local.get 0) (local.get 1)))
      (func $sub (type $bin) (i32.sub (local.get 0) (local.get 1)))
      (func (export "switch") (param i32) (result i32)
        (block $c (block $b (block $a (br_table $a $b $c (local.get 0))) (return (i32.const 10))) (return (i32.const 20)))
        i32.const 30)
      (func (export "indirect") (param i32 i32 i32) (result i32)
        (call_indirect (type $bin) (local.get 0) (local.get 1) (local.get 2)))
      (func (export "misc") (param i32) (result i32) (local f64 i64)
        (local.set 1 (f64.mul (f64.convert_i32_s (local.get 0)) (f64.const 1.5)))
        (local.set 2 (i64.extend_i32_u (i32.load offset=4 (i32.const 4))))
        (global.set $g (i32.add (global.get $g) (i32.const 1)))
        (i32.store (i32.const 16) (i32.wrap_i64 (i64.popcnt (local.get 2))))
        (if (result i32) (i32.gt_s (local.get 0) (i32.const 3))
          (then (select (i32.trunc_f64_s (local.get 1)) (i32.const -1) (local.get 0)))
          (else (i32.add (call $add (i32.load (i32.const 16)) (memory.size)) (drop (memory.grow (i32.const 0))) (global.get $g))))
        (nop) (f32.const 2.5) (drop))
      (func (export "loop") (param i32) (result i32) (local i32)
        (loop $l (local.set 1 (i32.add (local.get 1) (local.get 0)))
          (br_if $l (local.tee 0 (i32.sub (local.get 0) (i32.const 1)))))
        (local.get 1))
      (func (export "trap") unreachable))`,
    run: (e) => [call(e, 'switch', 0), call(e, 'switch', 1), call(e, 'switch', 2), call(e, 'switch', 9),
      call(e, 'indirect', 9, 4, 0), call(e, 'indirect', 9, 4, 1), call(e, 'misc', 2), call(e, 'misc', 7), call(e, 'loop', 10)]
  },
  {
    name: 'sign extension and saturating truncation',
    text: `(module (func (export "f") (param i32 f32) (result i64)
      (i64.add (i64.extend32_s (i64.extend_i32_s (i32.extend8_s (local.get 0))))
               (i64.trunc_sat_f32_s (local.get 1)))))`,
    run: (e) => [call(e, 'f', 0xff, 1e30), call(e, 'f', 0x7f, -3.7)]
  },
  {
    name: 'bulk memory, tables and reference types',
    text: `(module
      (memory 1) (data $d "hello") (table $t 4 funcref) (table $x 2 externref)
      (elem $e func $one $one)
      (func $one (result i32) i32.const 1)
      (func (export "f") (result i32)
        (memory.init $d (i32.const 0) (i32.const 0) (i32.const 5)) (data.drop $d)
        (memory.copy (i32.const 10) (i32.const 0) (i32.const 5))
        (memory.fill (i32.const 20) (i32.const 33) (i32.const 3))
        (table.init $t $e (i32.const 0) (i32.const 0) (i32.const 2)) (elem.drop $e)
        (table.copy $t $t (i32.const 2) (i32.const 0) (i32.const 2))
        (drop (table.grow $t (ref.null func) (i32.const 1)))
        (table.fill $x (i32.const 0) (ref.null extern) (i32.const 2))
        (table.set $x (i32.const 1) (table.get $x (i32.const 0)))
        (drop (ref.func $one))
        (i32.add (i32.add (i32.load8_u (i32.const 14)) (i32.load8_u (i32.const 22)))
          (i32.add (table.size $t) (ref.is_null (select (result externref) (ref.null extern) (table.get $x (i32.const 1)) (i32.const 1)))))))`,
    run: (e) => call(e, 'f')
  },
  {
    name: 'SIMD with lanes, shuffles, lane loads and memargs',
    text: `(module (memory 1)
      (func (export "f") (param i32) (result i32) (local v128)
        (local.set 1 (i32x4.add (v128.const i32x4 1 2 3 4) (i32x4.splat (local.get 0))))
        (v128.store offset=16 (i32.const 0) (local.get 1))
        (local.set 1 (v128.load32_zero (i32.const 20)))
        (local.set 1 (v128.load8_lane 3 (i32.const 16) (local.get 1)))
        (v128.store16_lane 1 (i32.const 64) (local.get 1))
        (local.set 1 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get 1) (v128.load (i32.const 16))))
        (local.set 1 (i16x8.replace_lane 7 (local.get 1) (i32.const 9)))
        (i32.add (i32.add (i32x4.extract_lane 1 (local.get 1)) (i8x16.extract_lane_u 15 (local.get 1)))
          (i32.add (i32.load16_u (i32.const 64)) (v128.any_true (v128.and (local.get 1) (v128.not (local.get 1))))))))`,
    run: (e) => [call(e, 'f', 5), call(e, 'f', 100)]
  },
  {
    name: 'relaxed SIMD',
    engineOptional: true,
    text: `(module (func (export "f") (result v128)
      (i8x16.relaxed_swizzle (v128.const i32x4 1 2 3 4) (v128.const i32x4 0 0 0 0))))`
  },
  {
    name: 'atomics on shared memory',
    text: `(module (memory 1 1 shared)
      (func (export "f") (result i32)
        (i32.atomic.store (i32.const 0) (i32.const 5))
        (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 2)))
        (drop (i64.atomic.rmw32.cmpxchg_u offset=8 (i32.const 0) (i64.const 0) (i64.const 3)))
        (atomic.fence)
        (drop (memory.atomic.notify (i32.const 0) (i32.const 1)))
        (i32.add (i32.atomic.load (i32.const 0)) (i32.atomic.load8_u offset=8 (i32.const 0))))
      (func (export "wait") (result i32) (memory.atomic.wait32 (i32.const 0) (i32.const 1) (i64.const 0))))`,
    run: (e) => call(e, 'f')
  },
  {
    name: 'multi-value blocks with type-index block types',
    text: `(module
      (type $pair (func (param i32) (result i32 i32)))
      (func $swap (param i32 i32) (result i32 i32) (local.get 1) (local.get 0))
      (func (export "f") (param i32) (result i32 i32)
        (local.get 0)
        (block (type $pair) (param i32) (result i32 i32) (i32.const 10) (call $swap))
        (if (type $pair) (param i32) (result i32 i32) (i32.const 1) (then (i32.const 3)) (else (i32.const 4)))
        (drop)
        (loop (param i32 i32) (result i32 i32) (call $swap))))`,
    run: (e) => call(e, 'f', 7)
  },
  {
    name: 'tail calls',
    text: `(module
      (type $t (func (param i32 i32) (result i32)))
      (table 1 funcref) (elem (i32.const 0) $acc)
      (func $acc (param i32 i32) (result i32)
        (if (result i32) (i32.eqz (local.get 0)) (then (local.get 1))
          (else (return_call $acc (i32.sub (local.get 0) (i32.const 1)) (i32.add (local.get 1) (local.get 0))))))
      (func (export "f") (param i32) (result i32)
        (return_call_indirect (type $t) (local.get 0) (i32.const 0) (i32.const 0))))`,
    run: (e) => call(e, 'f', 100)
  },
  {
    name: 'legacy exceptions: try, catch, catch_all, throw, rethrow, delegate',
    text: `(module (tag $e (param i32)) (tag $other)
      (func $thrower (param i32) (throw $e (local.get 0)))
      (func (export "f") (param i32) (result i32)
        (try (result i32)
          (do (try (do (call $thrower (local.get 0))) (delegate 0)) (i32.const -1))
          (catch $e (i32.add (i32.const 100)))
          (catch_all (i32.const -2))))
      (func (export "g") (result i32)
        (try (result i32)
          (do (try (do (throw $other)) (catch_all (rethrow 0))) (i32.const 0))
          (catch $other (i32.const 42)))))`,
    run: (e) => [call(e, 'f', 5), call(e, 'g')]
  },
  {
    name: 'exceptions with try_table and throw_ref',
    engineOptional: true,
    text: `(module (tag $e (param i32))
      (func (export "f") (param i32) (result i32)
        (block $h (result i32)
          (try_table (catch $e $h) (throw $e (local.get 0)))
          (i32.const -1)))
      (func (export "g") (result i32) (local exnref)
        (block $h2 (result exnref)
          (try_table (catch_all_ref $h2) (throw $e (i32.const 3)))
          (return (i32.const -1)))
        (local.set 0)
        (block $h3 (result i32) (try_table (catch $e $h3) (throw_ref (local.get 0))) (i32.const -2))))`,
    run: (e) => [call(e, 'f', 9), call(e, 'g')]
  },
  {
    name: 'memory64 grow',
    engineOptional: true,
    text: `(module (memory i64 1)
      (func (export "f") (result i64) (drop (memory.grow (i64.const 1))) (i64.load offset=8 (i64.const 0)) (memory.grow (i64.const 1)) (i64.add)))`
  },
  {
    name: 'multi-memory',
    engineOptional: true,
    text: `(module (memory $a 1) (memory $b 1 3)
      (func (export "f") (result i32)
        (i32.store $b (i32.const 0) (i32.const 5))
        (drop (memory.grow $b (i32.const 1)))
        (i32.add (i32.load $b (i32.const 0)) (memory.size $b))))`
  },
  {
    name: 'imports (functions, globals, memory) and a start function',
    text: `(module
      (import "env" "log" (func $log (param i32)))
      (import "env" "base" (global $base i32))
      (import "env" "mem" (memory 1 4))
      (import "env" "twice" (func $twice (param i32) (result i32)))
      (global $counter (mut i32) (i32.const 0))
      (global (export "answer") i32 (i32.const 42))
      (func $init (global.set $counter (i32.add (global.get $base) (i32.const 1))))
      (start $init)
      (func (export "f") (param i32) (result i32)
        (call $log (local.get 0))
        (i32.add (call $twice (local.get 0)) (global.get $counter))))`,
    run: (e) => [call(e, 'f', 4), (e['answer'] as WebAssembly.Global).value]
  }
]

function importsFor (name: string, logs: number[] = []): WebAssembly.Imports {
  if (!name.startsWith('imports')) return {}
  return {
    env: {
      log: (x: number) => { logs.push(x) },
      base: new WebAssembly.Global({ value: 'i32', mutable: false }, 10),
      mem: new WebAssembly.Memory({ initial: 1, maximum: 2 }),
      twice: (x: number) => 2 * x
    }
  }
}

async function instantiate (bytes: Uint8Array, imports: WebAssembly.Imports): Promise<WebAssembly.Instance> {
  const module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>)
  return await WebAssembly.instantiate(module, imports)
}

describe('instrument: every opcode class round-trips and validates', () => {
  for (const sample of samples) {
    test(sample.name, async () => {
      const original = await wat(sample.text)
      expect(await wabtCheck(original)).toBeUndefined()
      const engineKnows = WebAssembly.validate(original as Uint8Array<ArrayBuffer>)
      if (!sample.engineOptional) expect(engineKnows).toBe(true)
      for (const options of [{ fuel: true }, { maxMemoryBytes: 4 * 65536 }, { fuel: true, maxMemoryBytes: 4 * 65536 }]) {
        const out = instrument(original, options)
        expect(out).not.toBe(original)
        const problem = await wabtCheck(out)
        if (problem !== undefined) throw new Error(`${problem}\n${await wasm2wat(out)}`)
        if (engineKnows) expect(WebAssembly.validate(out as Uint8Array<ArrayBuffer>)).toBe(true)
        if (engineKnows && sample.run !== undefined) {
          const before = sample.run((await instantiate(original, importsFor(sample.name))).exports)
          const instance = await instantiate(out, importsFor(sample.name))
          expect(sample.run(instance.exports)).toEqual(before)
          expect(isMetered(instance)).toBe(options.fuel === true)
          if (options.fuel === true) expect(fuelLeft(instance)).toBeLessThan(DEFAULT_INITIAL_FUEL)
        }
      }
    })
  }
})

/** A module with one `() -> ()` function whose body (after locals) is `code`. */
function moduleWithBody (code: number[]): Uint8Array {
  const w = new ByteWriter()
  w.bytes(Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0))
  w.section(1, Uint8Array.of(1, 0x60, 0, 0))
  w.section(3, Uint8Array.of(1, 0))
  const body = Uint8Array.of(0, ...code)
  w.section(10, Uint8Array.of(1, body.byteLength, ...body))
  return w.finish()
}

describe('instrument: structure', () => {
  test('returns the very same bytes when no option applies', async () => {
    const bytes = await wat('(module (memory 1) (func (export "f") (result i32) (i32.const 1)))')
    const copy = bytes.slice()
    expect(instrument(bytes, {})).toBe(bytes)
    expect(instrument(bytes, { fuel: false })).toBe(bytes)
    expect(instrument(bytes)).toEqual(copy)
    expect(meterCoreModule(bytes, {}).bytes).toBe(bytes)
  })

  test('a hand-built body is accepted, then GC and unknown opcodes are rejected with WasmFormatError', () => {
    expect(WebAssembly.validate(instrument(moduleWithBody([0x01, 0x0b]), { fuel: true }) as Uint8Array<ArrayBuffer>)).toBe(true)
    for (const code of [[0xfb, 0x00, 0x0b], [0xff, 0x0b], [0xfc, 99, 0x0b], [0xfd, 0xff, 0x05, 0x0b], [0xfe, 0x7f, 0x0b], [0x17, 0x0b]]) {
      const bytes = moduleWithBody(code)
      expect(() => instrument(bytes, { fuel: true })).toThrow(WasmFormatError)
    }
    expect(() => instrument(moduleWithBody([0xfb, 0x00, 0x0b]), { fuel: true })).toThrow(/GC/)
    expect(() => instrument(moduleWithBody([0x01]), { fuel: true })).toThrow(WasmFormatError) // truncated body
  })

  test('rejects components and already-instrumented modules', async () => {
    const component = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00)
    expect(() => instrument(component, { fuel: true })).toThrow(/component/)
    const once = instrument(await wat('(module (func))'), { fuel: true })
    expect(() => instrument(once, { fuel: true })).toThrow(/instrumented before/)
  })

  test('keeps custom sections (component-type, name) in place', async () => {
    const base = await wat('(module (func $f (export "f") (result i32) (i32.const 1)))')
    const custom = new ByteWriter()
    custom.name('component-type:example').bytes(Uint8Array.of(1, 2, 3, 4))
    const withCustom = new ByteWriter().bytes(base).section(0, custom.finish()).finish()
    const out = instrument(withCustom, { fuel: true, maxMemoryBytes: 65536 })
    const names = readSections(out).filter((s) => s.id === 0).map((s) => readCustomSection(s.content))
    expect(names.map((n) => n.name)).toEqual(['name', 'component-type:example'])
    expect([...names[1]!.payload]).toEqual([1, 2, 3, 4])
    expect(await wasm2wat(out)).toContain('$f')
  })

  test('appends the fuel global after imported and defined globals', async () => {
    const bytes = await wat(`(module
      (import "env" "a" (global $a i32)) (import "env" "b" (global $b (mut i64)))
      (global $c (mut f64) (f64.const 2.5))
      (func (export "f") (result f64) (f64.add (global.get $c) (f64.convert_i32_s (global.get $a))))
      (export "c" (global $c)))`)
    const out = instrument(bytes, { fuel: true, maxMemoryBytes: 65536, initialFuel: 1234n })
    const module = await WebAssembly.compile(out as Uint8Array<ArrayBuffer>)
    expect(WebAssembly.Module.exports(module).map((e) => `${e.name}:${e.kind}`))
      .toEqual(['f:function', 'c:global', `${FUEL_EXPORT}:global`, `${OOM_EXPORT}:global`])
    const instance = await WebAssembly.instantiate(module, {
      env: { a: new WebAssembly.Global({ value: 'i32' }, 3), b: new WebAssembly.Global({ value: 'i64', mutable: true }, 0n) }
    })
    expect(fuelLeft(instance)).toBe(1234n)
    expect((instance.exports['f'] as () => number)()).toBe(5.5)
    expect(fuelLeft(instance)).toBe(1234n - 4n) // global.get, global.get, f64.convert_i32_s, f64.add
    expect((instance.exports['c'] as WebAssembly.Global).value).toBe(2.5)
    setFuel(instance, 1n)
    expect(() => (instance.exports['f'] as () => number)()).toThrow(WebAssembly.RuntimeError)
    expect(fuelLeft(instance)).toBe(-3n)
    expect(memoryGrowFailed(instance)).toBe(false)
  })

  test('creates global and export sections when the module has none', async () => {
    const out = instrument(await wat('(module (func (param i32) (result i32) (i32.mul (local.get 0) (local.get 0))) (start 1) (func))'), { fuel: true })
    const instance = await instantiate(out, {})
    expect(fuelLeft(instance)).toBe(DEFAULT_INITIAL_FUEL) // the start function has no charged ops
    expect(Object.keys(instance.exports)).toEqual([FUEL_EXPORT])
  })
})

describe('instrument: imported (shared) fuel global', () => {
  const many = Array.from({ length: 130 }, (_, k) => `(global $d${k} (mut i32) (i32.const ${k}))`).join(' ')
  const text = `(module
    (import "env" "i0" (global $i0 i32))
    (import "env" "i1" (global $i1 (mut i32)))
    (global $first (mut i32) (global.get $i0))
    ${many}
    (global $last (export "last") (mut i32) (i32.const 1000))
    (table $t 8 funcref) (memory 1)
    (elem (offset (global.get $i0)) $a)
    (elem (table $t) (offset (i32.const 1)) func $b)
    (elem (table $t) (offset (global.get $i0)) funcref (ref.func $b))
    (elem (table $t) (i32.const 6) funcref (ref.func $a))
    (elem declare funcref (ref.func $b))
    (data (offset (global.get $i0)) "\\2a")
    (func $a (result i32) (global.get $last))
    (func $b (result i32)
      (global.set $last (i32.add (global.get $last) (global.get $d129)))
      (global.set $i1 (i32.add (global.get $i1) (global.get $first)))
      (global.get $last))
    (func (export "run") (result i32)
      (i32.add
        (i32.add (call_indirect (result i32) (global.get $i0)) (call_indirect (result i32) (i32.const 6)))
        (i32.add (i32.load8_u (global.get $i0)) (i32.add (global.get $d0) (global.get $i1))))))`
  const env = (): WebAssembly.Imports => ({
    env: { i0: new WebAssembly.Global({ value: 'i32' }, 2), i1: new WebAssembly.Global({ value: 'i32', mutable: true }, 7) }
  })

  test('renumbers globals in code, constant expressions, exports and names; results unchanged', async () => {
    const bytes = await wat(text, { ...ALL_FEATURES })
    const out = instrument(bytes, { fuel: true, fuelImport: true, maxMemoryBytes: 65536 })
    const problem = await wabtCheck(out)
    if (problem !== undefined) throw new Error(`${problem}\n${await wasm2wat(out)}`)
    const names = await wasm2wat(out)
    expect(names).toContain('(import "__ipvm" "fuel" (global')
    expect(names).toMatch(/\(export "last" \(global \$last\)\)/)
    expect(names).toMatch(/\(global \$d129 \(mut i32\) \(i32.const 129\)\)/)
    const a = await instantiate(bytes, env())
    const fuel = createFuelGlobal(1000n)
    const imports = env()
    imports[FUEL_IMPORT_MODULE] = { [FUEL_IMPORT_NAME]: fuel }
    const b = await instantiate(out, imports)
    for (let k = 0; k < 3; k++) expect(call(b.exports, 'run')).toBe(call(a.exports, 'run'))
    expect((b.exports['last'] as WebAssembly.Global).value).toBe((a.exports['last'] as WebAssembly.Global).value)
    expect(fuelLeft(b)).toBe(fuel.value)
    expect(fuel.value).toBeLessThan(1000n)
    expect(memoryGrowFailed(b)).toBe(false)
  })

  test('renumbers extended constant expressions', async () => {
    const bytes = await wat(`(module (import "env" "i0" (global $i0 i32)) (global $y (mut i32) (i32.const 4))
      (global $x i32 (i32.add (global.get $i0) (i32.const 1)))
      (func (export "f") (result i32) (i32.add (global.get $x) (global.get $y))))`)
    const out = instrument(bytes, { fuel: true, fuelImport: true })
    expect(await wabtCheck(out)).toBeUndefined()
    if (WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)) {
      const imports = { env: { i0: new WebAssembly.Global({ value: 'i32' }, 10) }, [FUEL_IMPORT_MODULE]: { [FUEL_IMPORT_NAME]: createFuelGlobal() } }
      expect(call((await instantiate(out, imports)).exports, 'f')).toBe(15)
    }
  })

  test('several instances draw on one budget', async () => {
    const bytes = await wat('(module (func (export "f") (result i32) (i32.add (i32.const 1) (i32.const 2))))')
    const module = await WebAssembly.compile(instrument(bytes, { fuel: true, fuelImport: true }) as Uint8Array<ArrayBuffer>)
    const fuel = createFuelGlobal(7n)
    const imports = { [FUEL_IMPORT_MODULE]: { [FUEL_IMPORT_NAME]: fuel } }
    const x = await WebAssembly.instantiate(module, imports)
    const y = await WebAssembly.instantiate(module, imports)
    expect(call(x.exports, 'f')).toBe(3)
    expect(call(y.exports, 'f')).toBe(3)
    expect(fuel.value).toBe(1n) // 3 ops each
    expect(() => call(x.exports, 'f')).toThrow(WebAssembly.RuntimeError)
    expect(fuelLeft(y)).toBe(-2n)
  })
})

describe('instrument: deferred start', () => {
  test('moves the start function to an __ipvm_start export', async () => {
    const bytes = await wat(`(module (global $g (export "g") (mut i32) (i32.const 0))
      (func $init (global.set $g (i32.const 9))) (start $init))`)
    expect(readSections(bytes).some((s) => s.id === 8)).toBe(true)
    const out = instrument(bytes, { deferStart: true })
    expect(readSections(out).some((s) => s.id === 8)).toBe(false)
    const instance = await instantiate(out, {})
    const g = instance.exports['g'] as WebAssembly.Global
    expect(g.value).toBe(0)
    ;(instance.exports[START_EXPORT] as () => void)()
    expect(g.value).toBe(9)
    expect(isMetered(instance)).toBe(false)
    // Nothing to defer and nothing else to do: the same bytes.
    const noStart = await wat('(module (func))')
    expect(instrument(noStart, { deferStart: true })).toBe(noStart)
  })
})

describe('instrument: typed function references', () => {
  test('ref.func, br_on_null and call_ref are decoded', async () => {
    // Hand-assembled: wabt 1.0.39 cannot write call_ref in text.
    const w = new ByteWriter()
    w.bytes(Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0))
    w.section(1, Uint8Array.of(1, 0x60, 0, 1, 0x7f)) // type 0: () -> i32
    w.section(3, Uint8Array.of(2, 0, 0))
    w.section(7, Uint8Array.of(1, 1, 0x67, 0x00, 1)) // export "g" = func 1
    w.section(9, Uint8Array.of(1, 0x03, 0x00, 1, 0)) // declarative element segment: func 0
    const f0 = [0, 0x41, 0x07, 0x0b]
    // block; ref.func 0; br_on_null 0; call_ref 0; return; end; i32.const -1; end
    const f1 = [0, 0x02, 0x40, 0xd2, 0x00, 0xd5, 0x00, 0x14, 0x00, 0x0f, 0x0b, 0x41, 0x7f, 0x0b]
    w.section(10, Uint8Array.of(2, f0.length, ...f0, f1.length, ...f1))
    const bytes = w.finish()
    // wabt 1.0.39 does not know br_on_null, and Node 20's engine not typed function references:
    // there, this checks that decoding gets through; Chromium also validates and runs it.
    const out = instrument(bytes, { fuel: true })
    // The fuel is cached in an appended i64 local (local 0 here): per body, one more local group
    // (2 bytes), an entry that loads, charges, checks and spills on the trap path (18 bytes) and a
    // spill before the final end (4). f1 also has: a charge after br_on_null (7); around call_ref a
    // spill, a check (callee may be a host function) and a reload (4 + 9 + 4); a spill before
    // return (4); a charge after the targeted block's end (7). f0: 24 bytes; f1: 59.
    expect(readSections(out).find((s) => s.id === 10)!.content.byteLength)
      .toBe(readSections(bytes).find((s) => s.id === 10)!.content.byteLength + 24 + 59)
    if (WebAssembly.validate(bytes as Uint8Array<ArrayBuffer>)) {
      expect(WebAssembly.validate(out as Uint8Array<ArrayBuffer>)).toBe(true)
      const instance = await instantiate(out, {})
      expect((instance.exports['g'] as () => number)()).toBe(7)
      setFuel(instance, 100n)
      ;(instance.exports['g'] as () => number)()
      expect(fuelLeft(instance)).toBe(100n - 4n) // ref.func, br_on_null, call_ref, i32.const
    }
  })
})

describe('instrument: memory cap', () => {
  test('caps defined memories: grow beyond the cap fails, and the failure is flagged', async () => {
    const bytes = await wat(`(module (memory (export "mem") 1)
      (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))`)
    const out = instrument(bytes, { maxMemoryBytes: 3 * 65536 + 100 })
    const instance = await instantiate(out, {})
    const grow = instance.exports['grow'] as (n: number) => number
    expect(grow(1)).toBe(1)
    expect(memoryGrowFailed(instance)).toBe(false)
    expect(grow(2)).toBe(-1)
    expect(memoryGrowFailed(instance)).toBe(true)
    expect(grow(1)).toBe(2) // a later successful grow does not clear the flag
    expect(memoryGrowFailed(instance)).toBe(true)
    expect(() => (instance.exports['mem'] as WebAssembly.Memory).grow(1)).toThrow(RangeError)
    // Unmetered, the same module grows past the cap.
    const free = await instantiate(bytes, {})
    expect((free.exports['grow'] as (n: number) => number)(5)).toBe(1)
  })

  test('keeps a smaller declared maximum and caps imported memories', async () => {
    const bytes = await wat(`(module (import "env" "mem" (memory 1)) (memory 1 2)
      (func (export "size") (result i32) (memory.size 0)))`, { multi_memory: true })
    const out = instrument(bytes, { maxMemoryBytes: 8 * 65536 })
    const text = await wasm2wat(out, { multi_memory: true })
    expect(text).toMatch(/import "env" "mem" \(memory \S+ 1 8\)/)
    expect(text).toMatch(/\(memory \S+ 1 2\)/)
  })

  test('an imported memory must then come with a maximum within the cap', async () => {
    const bytes = await wat('(module (import "env" "mem" (memory 1)) (func (export "f") (result i32) (memory.size)))')
    const module = await WebAssembly.compile(instrument(bytes, { maxMemoryBytes: 2 * 65536 }) as Uint8Array<ArrayBuffer>)
    await expect(WebAssembly.instantiate(module, { env: { mem: new WebAssembly.Memory({ initial: 1 }) } })).rejects.toThrow(WebAssembly.LinkError)
    const ok = await WebAssembly.instantiate(module, { env: { mem: new WebAssembly.Memory({ initial: 1, maximum: 2 }) } })
    expect((ok.exports['f'] as () => number)()).toBe(1)
  })

  test('a minimum above the cap is an OutOfMemoryError', async () => {
    const bytes = await wat('(module (memory 3))')
    expect(() => instrument(bytes, { maxMemoryBytes: 2 * 65536 })).toThrow(OutOfMemoryError)
    try {
      instrument(bytes, { maxMemoryBytes: 2 * 65536 })
    } catch (err) {
      expect((err as OutOfMemoryError).code).toBe('ERR_OUT_OF_MEMORY')
      expect((err as OutOfMemoryError).details).toMatchObject({ limit: 131072, required: 196608 })
    }
    expect(instrument(bytes, { maxMemoryBytes: 3 * 65536 })).toBeInstanceOf(Uint8Array)
  })
})

describe('instrument: speed-sensitive shape', () => {
  test('a large generated module instruments and validates', async () => {
    const funcs: string[] = []
    for (let i = 0; i < 300; i++) {
      funcs.push(`(func (export "f${i}") (param i32) (result i32) (local i32)
        (block $b (loop $l (br_if $b (i32.ge_u (local.get 1) (local.get 0)))
          (local.set 1 (i32.add (local.get 1) (i32.const ${i + 1})))
          (if (i32.and (local.get 1) (i32.const 1)) (then (local.set 0 (i32.sub (local.get 0) (i32.const 1)))))
          (br $l)))
        (i32.add (local.get 1) (local.get 0)))`)
    }
    const bytes = await wat(`(module ${funcs.join('\n')})`)
    const out = instrument(bytes, { fuel: true, maxMemoryBytes: 65536 })
    expect(WebAssembly.validate(out as Uint8Array<ArrayBuffer>)).toBe(true)
    const a = await instantiate(bytes, {})
    const b = await instantiate(out, {})
    for (const i of [0, 17, 299]) expect(call(b.exports, `f${i}`, 1000)).toBe(call(a.exports, `f${i}`, 1000))
  })
})

describe('instrument: where fuel is checked', () => {
  // The counter is charged at every segment but compared only at function entries, loop headers
  // and calls that may reach the host; in between it lives in a function-local i64.
  test('a call can finish past its budget: the counter is then negative by exactly the overdraft', async () => {
    // entry: local.get, if (2); then: i32.const, i32.const, i32.mul (3); else: i32.const (1)
    const bytes = await wat(`(module (func (export "g") (param i32) (result i32)
      (if (result i32) (local.get 0) (then (i32.mul (i32.const 6) (i32.const 7))) (else (i32.const 0)))))`)
    const instance = await instantiate(instrument(bytes, { fuel: true }), {})
    const g = instance.exports['g'] as (x: number) => number
    setFuel(instance, 2n)
    expect(g(1)).toBe(42)
    expect(fuelLeft(instance)).toBe(-3n)
    setFuel(instance, 5n)
    expect(g(1)).toBe(42)
    expect(fuelLeft(instance)).toBe(0n)
    setFuel(instance, 1n)
    expect(() => g(1)).toThrow(WebAssembly.RuntimeError) // the entry check
    expect(fuelLeft(instance)).toBe(-1n)
  })

  test('a host import is not called once the fuel is gone', async () => {
    // entry: local.get, i32.const, if (3); then: i32.const, i32.const, i32.add (3); after: call (1)
    const bytes = await wat(`(module (import "env" "log" (func $log))
      (func (export "f") (param i32) (drop (local.get 0))
        (if (i32.const 1) (then (drop (i32.add (i32.const 1) (i32.const 2)))))
        (call $log)))`)
    let calls = 0
    const instance = await instantiate(instrument(bytes, { fuel: true }), { env: { log: () => { calls++ } } })
    const f = instance.exports['f'] as (x: number) => void
    setFuel(instance, 3n)
    expect(() => f(0)).toThrow(WebAssembly.RuntimeError)
    expect(calls).toBe(0)
    expect(fuelLeft(instance)).toBe(-4n)
    setFuel(instance, 7n)
    f(0)
    expect(calls).toBe(1)
    expect(fuelLeft(instance)).toBe(0n)
  })

  test('functions with exception handling keep the fuel in the global; a catch sees what callees spent', async () => {
    // h: try, local.get, call, i32.const (3, paid on entry); mid: local.get, call (2);
    // thrower: local.get, throw (2); h's catch: i32.const, i32.add (2). 9 in all.
    const bytes = await wat(`(module (tag $e (param i32))
      (func $thrower (param i32) (throw $e (local.get 0)))
      (func $mid (param i32) (call $thrower (local.get 0)))
      (func (export "h") (param i32) (result i32)
        (try (result i32) (do (call $mid (local.get 0)) (i32.const 0)) (catch $e (i32.add (i32.const 1))))))`)
    const instance = await instantiate(instrument(bytes, { fuel: true }), {})
    setFuel(instance, 100n)
    expect((instance.exports['h'] as (x: number) => number)(5)).toBe(6)
    expect(fuelLeft(instance)).toBe(91n)
  })
})
