/**
 * The executor: real workers, real modules (our guest component built from AssemblyScript, and core
 * modules), limits enforced in the worker, the pool healing after a timeout.
 */
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { componentBytes, coreBytes } from '../../../examples/functions/dist/index.js'
import { createWasmExecutor, moduleKind, type WasmExecutor } from '../src/index.js'
import { wat } from './wat.js'

async function cidOf (bytes: Uint8Array): Promise<CID> {
  return CID.createV1(0x55, await sha256.digest(bytes))
}

const MATH = `(module
  (func (export "add_one") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
  (func (export "spin") (param i32) (result i32) (loop br 0) i32.const 0)
  (memory 1)
  (func (export "bomb") (param i32) (result i32) (loop (br_if 0 (i32.ne (memory.grow (i32.const 16)) (i32.const -1)))) unreachable))`

describe('createWasmExecutor', () => {
  let executor: WasmExecutor
  let math: { module: CID, bytes: Uint8Array }
  let component: { module: CID, bytes: Uint8Array }
  let embedded: { module: CID, bytes: Uint8Array }

  beforeAll(async () => {
    executor = createWasmExecutor({ size: 2 })
    await executor.start()
    const mathBytes = await wat(MATH)
    math = { module: await cidOf(mathBytes), bytes: mathBytes }
    const c = componentBytes()
    component = { module: await cidOf(c), bytes: c }
    const e = coreBytes()
    embedded = { module: await cidOf(e), bytes: e }
  })
  afterAll(async () => { await executor.stop() })

  it('tells components, embedded component types and plain core modules apart', () => {
    expect(moduleKind(component.bytes)).toBe('component')
    expect(moduleKind(embedded.bytes)).toBe('component')
    expect(moduleKind(math.bytes)).toBe('core')
  })

  it('runs the guest component and the embedded form with the IPLD ABI', async () => {
    for (const m of [component, embedded]) {
      expect((await executor.run({ ...m, func: 'add-one', args: [1], limits: {} })).value).toBe(2)
      expect((await executor.run({ ...m, func: 'join_strings', args: ['Round', 'about'], limits: {} })).value).toBe('Roundabout')
      expect((await executor.run({ ...m, func: 'pop', args: [[]], limits: {} })).value).toBeNull()
      const logs = (await executor.run({ ...m, func: 'add-one', args: [1], limits: {} })).logs
      expect(logs).toContain('info run-fn: add-one')
    }
  })

  it('fuel is deterministic: the same task uses the same fuel on every run', async () => {
    const runs = await Promise.all([0, 1, 2, 3].map(async () => await executor.run({ ...component, func: 'join-strings', args: ['Round', 'about'], limits: { fuel: 10_000_000n } })))
    const used = runs.map((r) => r.fuelUsed)
    expect(used[0]).toBeTypeOf('bigint')
    expect(used[0]! > 0n).toBe(true)
    expect(new Set(used.map(String)).size).toBe(1)
    // and each reports the worker's own time, which excludes waiting for one of the pool's workers
    for (const r of runs) expect(r.runMs).toBeGreaterThan(0)
  })

  it('out of fuel, out of memory and timeout are distinct typed failures; the pool keeps serving', async () => {
    await expect(executor.run({ ...math, func: 'spin', args: [0], limits: { fuel: 100_000n } })).rejects.toMatchObject({ name: 'OutOfFuelError', code: 'ERR_OUT_OF_FUEL' })
    await expect(executor.run({ ...math, func: 'bomb', args: [0], limits: { memoryBytes: 4 * 65536 } })).rejects.toMatchObject({ name: 'OutOfMemoryError', code: 'ERR_OUT_OF_MEMORY' })
    await expect(executor.run({ ...math, func: 'spin', args: [0], limits: { timeMs: 150 } })).rejects.toMatchObject({ name: 'TimeoutError', code: 'ERR_TIMEOUT' })
    expect((await executor.run({ ...math, func: 'add_one', args: [41], limits: {} })).value).toBe(42)
    expect(executor.stats.replaced).toBeGreaterThan(0)
  })

  it('a trap and a bad argument are typed errors and the next task runs normally', async () => {
    const trap = await executor.run({ ...component, func: 'grayscale', args: [new Uint8Array([1, 2, 3])], limits: {} }).catch((e: unknown) => e)
    expect(trap).toMatchObject({ code: 'ERR_WASM_TRAP' })
    // the guest logged why it trapped: that reason is part of the error
    expect((trap as Error).message).toMatch(/^.+: .*png/i)
    await expect(executor.run({ ...component, func: 'add-one', args: ['one'], limits: {} })).rejects.toMatchObject({ code: 'ERR_ARGUMENT_TYPE' })
    await expect(executor.run({ ...component, func: 'nope', args: [], limits: {} })).rejects.toMatchObject({ code: 'ERR_FUNCTION_NOT_FOUND' })
    expect((await executor.run({ ...component, func: 'add-one', args: [10], limits: {} })).value).toBe(11)
  })

  it('aborting a running task terminates it', async () => {
    const controller = new AbortController()
    const running = executor.run({ ...math, func: 'spin', args: [0], limits: {} }, { signal: controller.signal })
    setTimeout(() => { controller.abort() }, 50)
    await expect(running).rejects.toMatchObject({ name: 'AbortError' })
    expect((await executor.run({ ...math, func: 'add_one', args: [1], limits: {} })).value).toBe(2)
  })
})
