/**
 * The memoizing runtime: dataflow, await semantics, failures as receipts, limits, memoization,
 * effects last, cancellation, durability before dependents.
 */
import { awaitError, awaitOk, awaitResult, type IpldMap, type IpldValue, taskToIpld, toDagJson, type Task, wasmTask } from '@ipvm/core'
import { MemoryReceiptStore, type ReceiptStore, type StoredReceipt } from '@ipvm/store'
import { describe, expect, it } from 'vitest'
import type { RunEvent } from '../src/events.js'
import { testNode } from './helpers.js'

const workflowOf = (...tasks: Array<{ task: Task }>): string => toDagJson({ tasks: tasks.map((t) => taskToIpld(t.task)) })

async function collect (run: AsyncIterable<RunEvent>): Promise<RunEvent[]> {
  const events: RunEvent[] = []
  for await (const e of run) events.push(e)
  return events
}

describe('createIpvm().run', () => {
  it('runs a chain as dataflow, then replays it entirely from receipts', async () => {
    const { ipvm, rsc, executor } = await testNode()
    const one = await wasmTask({ rsc, func: 'add_one', args: [1] })
    const two = await wasmTask({ rsc, func: 'add_one', args: [awaitOk(one)] })
    const three = await wasmTask({ rsc, func: 'double', args: [awaitOk(two)] }) // i64 param gets 3
    const first = ipvm.run(workflowOf(one, two, three))
    const events = await collect(first)
    const result = await first.result
    expect(result.status).toBe('completed')
    expect(result.tasks.map((t) => 'ok' in t.out ? t.out.ok : undefined)).toEqual([2, 3, 6])
    expect(result.tasks.map((t) => t.status)).toEqual(['ran', 'ran', 'ran'])
    expect(events.map((e) => e.type)).toEqual(['workflow:started',
      'task:ready', 'task:started', 'task:ran', 'task:ready', 'task:started', 'task:ran', 'task:ready', 'task:started', 'task:ran',
      'workflow:finished'])
    expect(executor.calls).toHaveLength(3)

    const again = await ipvm.run(workflowOf(one, two, three)).result
    expect(again.tasks.map((t) => t.status)).toEqual(['replayed', 'replayed', 'replayed'])
    expect(again.tasks.map((t) => t.replayed)).toEqual([true, true, true])
    expect(again.tasks.map((t) => t.receiptCid.toString())).toEqual(result.tasks.map((t) => t.receiptCid.toString()))
    expect(executor.calls).toHaveLength(3)
    await ipvm.stop()
  })

  it('replays a shared instruction in another workflow and runs only the new task', async () => {
    const { ipvm, rsc, executor } = await testNode()
    const shared = await wasmTask({ rsc, func: 'add_one', args: [41] })
    await ipvm.run(workflowOf(shared)).result
    const other = await wasmTask({ rsc, func: 'add_one', args: [awaitOk(shared)] })
    const result = await ipvm.run(workflowOf(shared, other)).result
    expect(result.tasks.map((t) => [t.status, 'ok' in t.out ? t.out.ok : null])).toEqual([['replayed', 42], ['ran', 43]])
    expect(executor.calls.map((c) => c.args)).toEqual([[41], [42]])
    await ipvm.stop()
  })

  it('independent tasks run in parallel up to the executor concurrency', async () => {
    const { ipvm, rsc } = await testNode()
    const tasks = await Promise.all([1, 2, 3, 4].map(async (n) => await wasmTask({ rsc, func: 'add_one', args: [n] })))
    const started: number[] = []
    let maxRunning = 0
    let running = 0
    const result = await ipvm.run(workflowOf(...tasks), {
      onProgress: (e) => {
        if (e.type === 'task:started') { started.push(e.index); running++; maxRunning = Math.max(maxRunning, running) }
        if (e.type === 'task:ran') running--
      }
    }).result
    expect(result.status).toBe('completed')
    expect(started.sort()).toEqual([0, 1, 2, 3])
    expect(maxRunning).toBeGreaterThan(1)
    await ipvm.stop()
  })

  it('a trap is an error receipt; await/ok dependents get a branch-mismatch receipt, await/error gets the error', async () => {
    const { ipvm, rsc, executor } = await testNode()
    const bad = await wasmTask({ rsc, func: 'fail', args: [1] })
    const onOk = await wasmTask({ rsc, func: 'add_one', args: [awaitOk(bad)] })
    const onError = await wasmTask({ rsc, func: 'add_one', args: [1], nnc: 'x', meta: {} })
    const whole = await wasmTask({ rsc, func: 'add_one', args: [awaitResult(bad)] })
    // a query-like task that takes the error value through await/error: here the error map is not an i32, so it fails with a typed argument error
    const catcher = await wasmTask({ rsc, func: 'add_one', args: [awaitError(bad)] })
    const run = ipvm.run(workflowOf(bad, onOk, onError, whole, catcher))
    const result = await run.result
    expect(result.status).toBe('partial')
    const [trap, mismatch, fine, wholeResult, caught] = result.tasks
    expect(trap!.status).toBe('failed')
    expect(trap!.error).toMatchObject({ name: 'WasmTrapError', code: 'ERR_WASM_TRAP' })
    expect(mismatch!.error).toMatchObject({ name: 'BranchMismatchError', code: 'ERR_BRANCH_MISMATCH' })
    expect((mismatch!.out as { error: IpldMap }).error).toMatchObject({ reason: 'branch mismatch', expected: 'ok', got: 'error', from: trap!.receiptCid.toString() })
    expect(fine!.status).toBe('ran')
    expect(wholeResult!.error).toMatchObject({ code: 'ERR_ARGUMENT_TYPE' }) // {error: …} is not an i32
    expect(caught!.error).toMatchObject({ code: 'ERR_ARGUMENT_TYPE' })
    // the trap is the instruction's deterministic answer: memoized, not run again
    const calls = executor.calls.length
    const again = await ipvm.run(workflowOf(bad, onOk)).result
    expect(again.tasks.map((t) => t.replayed)).toEqual([true, true])
    expect(again.status).toBe('failed')
    expect(executor.calls.length).toBe(calls)
    await ipvm.stop()
  })

  it('limit failures are recorded but never replayed: a larger limit runs again', async () => {
    const { ipvm, rsc, executor, store } = await testNode()
    const spin = { rsc, func: 'spin', args: [0] as IpldValue[] }
    const starved = await wasmTask({ ...spin, meta: { fuel: 10_000 } })
    const first = await ipvm.run(workflowOf(starved)).result
    expect(first.tasks[0]!.error).toMatchObject({ name: 'OutOfFuelError', code: 'ERR_OUT_OF_FUEL' })
    expect((await store.getByReceiptCid(first.tasks[0]!.receiptCid))?.replayable).toBe(false)
    expect(await store.has(first.tasks[0]!.instruction)).toBe(false)
    const cheap = await wasmTask({ rsc, func: 'add_one', args: [1], meta: { fuel: 2 } })
    const roomy = await wasmTask({ rsc, func: 'add_one', args: [1], meta: { fuel: 1_000 } })
    expect(cheap.instruction.toString()).toBe(roomy.instruction.toString()) // meta is not part of the instruction
    const low = await ipvm.run(workflowOf(cheap)).result
    expect(low.tasks[0]!.error).toMatchObject({ code: 'ERR_OUT_OF_FUEL' })
    const high = await ipvm.run(workflowOf(roomy)).result
    expect(high.tasks[0]!.status).toBe('ran')
    expect(high.tasks[0]!.out).toEqual({ ok: 2 })
    expect(high.tasks[0]!.receipt.meta.fuel).toBeTypeOf('bigint')
    expect(executor.calls.length).toBe(3)
    await ipvm.stop()
  })

  it('a task needing an affinity this node lacks fails with NoProviderError when there is no network', async () => {
    const { ipvm, rsc } = await testNode()
    const gpu = await wasmTask({ rsc, func: 'add_one', args: [1], meta: { affinity: { gpu: true } } })
    expect((await ipvm.run(workflowOf(gpu)).result).tasks[0]!.error).toMatchObject({ name: 'NoProviderError' })
    await ipvm.stop()
    const withGpu = await testNode({ affinities: { gpu: true } })
    expect((await withGpu.ipvm.run(workflowOf(gpu)).result).tasks[0]!.out).toEqual({ ok: 2 })
    expect(() => { withGpu.ipvm.addProofs('did:key:z6Mk', ['jwt']) }).toThrow(/no network/)
    await withGpu.ipvm.stop()
  })

  it('run caps bound every task, also those that state no limit', async () => {
    const { ipvm, rsc } = await testNode()
    const spin = await wasmTask({ rsc, func: 'spin', args: [0] })
    const result = await ipvm.run(workflowOf(spin), { caps: { fuel: 5_000 } }).result
    expect(result.tasks[0]!.error).toMatchObject({ name: 'OutOfFuelError' })
    await ipvm.stop()
  })

  it('external awaits resolve from the store, or fail with a clear error when there is no receipt', async () => {
    const { ipvm, rsc } = await testNode()
    const partOne = await wasmTask({ rsc, func: 'add_one', args: [1] })
    const partTwo = await wasmTask({ rsc, func: 'add_one', args: [awaitOk(partOne)] })
    const missing = await ipvm.run(workflowOf(partTwo)).result
    expect(missing.status).toBe('failed')
    expect(missing.tasks[0]!.error).toMatchObject({ name: 'UnresolvedAwaitError', code: 'ERR_UNRESOLVED_AWAIT' })
    expect(missing.tasks[0]!.error!.message).toContain(partOne.instruction.toString())
    await ipvm.run(workflowOf(partOne)).result
    const resolved = await ipvm.run(workflowOf(partTwo)).result
    expect(resolved.tasks[0]!.out).toEqual({ ok: 3 })
    expect(resolved.tasks[0]!.status).toBe('ran') // the earlier failure was not memoized
    await ipvm.stop()
  })

  it('awaited results supplied by the caller resolve external awaits (what a provider gets from its invoker)', async () => {
    const { ipvm, rsc } = await testNode()
    const upstream = await wasmTask({ rsc, func: 'add_one', args: [1] })
    const task = await wasmTask({ rsc, func: 'add_one', args: [awaitOk(upstream)] })
    const result = await ipvm.run(workflowOf(task), { awaited: [{ instruction: upstream.instruction, out: { ok: 41 } }] }).result
    expect(result.tasks[0]!.out).toEqual({ ok: 42 })
    const failed = await ipvm.run(workflowOf(await wasmTask({ rsc, func: 'add_one', args: [awaitOk(upstream)], nnc: 'x' })), { awaited: [{ instruction: upstream.instruction, out: { error: { message: 'no' } } }] }).result
    expect(failed.tasks[0]!.error).toMatchObject({ name: 'DependencyFailedError' })
    await ipvm.stop()
  })

  it('missing modules and bad arguments are error receipts, not exceptions', async () => {
    const { ipvm, rsc } = await testNode()
    const noModule = await wasmTask({ rsc: 'ipfs://bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy', func: 'f', args: [] })
    const badArg = await wasmTask({ rsc, func: 'add_one', args: ['one'] })
    const noFunc = await wasmTask({ rsc, func: 'nope', args: [] })
    const result = await ipvm.run(workflowOf(noModule, badArg, noFunc)).result
    expect(result.status).toBe('failed')
    expect(result.tasks.map((t) => t.error?.code)).toEqual(['ERR_CONTENT_NOT_FOUND', 'ERR_ARGUMENT_TYPE', 'ERR_FUNCTION_NOT_FOUND'])
    await ipvm.stop()
  })

  it('every receipt is durable before any dependent starts', async () => {
    const inner = new MemoryReceiptStore()
    const log: string[] = []
    const store: ReceiptStore = Object.assign(Object.create(inner) as ReceiptStore, {
      put: async (entry: StoredReceipt | StoredReceipt[]) => {
        await inner.put(entry)
        for (const e of [entry].flat()) log.push(`durable ${e.instruction.toString()}`)
      }
    })
    const { ipvm, rsc } = await testNode({}, store)
    const a = await wasmTask({ rsc, func: 'add_one', args: [1] })
    const b = await wasmTask({ rsc, func: 'add_one', args: [awaitOk(a)] })
    const c = await wasmTask({ rsc, func: 'add_one', args: [awaitOk(b)] })
    await ipvm.run(workflowOf(a, b, c), { onProgress: (e) => { if (e.type === 'task:started') log.push(`start ${e.instruction.toString()}`) } }).result
    const pos = (s: string): number => log.indexOf(s)
    expect(pos(`durable ${a.instruction}`)).toBeLessThan(pos(`start ${b.instruction}`))
    expect(pos(`durable ${b.instruction}`)).toBeLessThan(pos(`start ${c.instruction}`))
    await ipvm.stop()
  })

  it('a failing store degrades to misses with warnings; the workflow still completes', async () => {
    const broken = new MemoryReceiptStore()
    await broken.close()
    const { ipvm, rsc } = await testNode({}, broken)
    const a = await wasmTask({ rsc, func: 'add_one', args: [1] })
    const events = await collect(ipvm.run(workflowOf(a)))
    expect(events.filter((e) => e.type === 'store:warning').length).toBeGreaterThan(0)
    expect(events.at(-1)).toMatchObject({ type: 'workflow:finished', status: 'completed' })
  })

  it('cancellation stops a running task and writes nothing for it', async () => {
    const { ipvm, rsc, store } = await testNode()
    const slow = await wasmTask({ rsc, func: 'add_one', args: [7] })
    const controller = new AbortController()
    const run = ipvm.run(workflowOf(slow), { signal: controller.signal, onProgress: (e) => { if (e.type === 'task:ready') controller.abort() } })
    await expect(run.result).rejects.toMatchObject({ name: 'AbortError' })
    expect(await store.has(slow.instruction)).toBe(false)
    await ipvm.stop()
  })

  it('refuses to run before start and after stop', async () => {
    const { ipvm, rsc } = await testNode({ start: false })
    const a = await wasmTask({ rsc, func: 'add_one', args: [1] })
    await expect(ipvm.run(workflowOf(a)).result).rejects.toMatchObject({ name: 'NotStartedError' })
    await ipvm.start()
    expect((await ipvm.run(workflowOf(a)).result).status).toBe('completed')
    await ipvm.stop()
    await expect(ipvm.run(workflowOf(a)).result).rejects.toMatchObject({ code: 'ERR_NOT_STARTED' })
  })
})

describe('effects run last (virtual resiliency)', () => {
  it('queries run like tasks; a mutation runs only after every pure task and query succeeded', async () => {
    const order: string[] = []
    const { ipvm, rsc } = await testNode({
      handlers: {
        'db/read': { kind: 'query', run: async (input) => { order.push('query'); return { ok: input.key as IpldValue } } },
        'db/write': { kind: 'mutation', run: async (input) => { order.push(`mutation ${String(input.value)}`); return null } }
      }
    })
    const read = { task: { run: { rsc: 'db://main', op: 'db/read', input: { key: 5 }, nnc: '' }, cause: null, meta: {}, prf: [] } }
    const a = await wasmTask({ rsc, func: 'add_one', args: [1] })
    const write = { task: { run: { rsc: 'db://main', op: 'db/write', input: { value: awaitOk(a) }, nnc: '' }, cause: null, meta: {}, prf: [] } }
    const b = await wasmTask({ rsc, func: 'add_one', args: [10] })
    const result = await ipvm.run(workflowOf(read, write, a, b), { onProgress: (e) => { if (e.type === 'task:ran') order.push(`ran ${e.label}`) } }).result
    expect(result.status).toBe('completed')
    expect(order.indexOf('mutation 2')).toBeGreaterThan(order.lastIndexOf('ran add_one'))
    expect(order.indexOf('mutation 2')).toBeGreaterThan(order.indexOf('query'))
    await ipvm.stop()
  })

  it('skips the mutation with an error receipt when a pure task failed, and refuses two mutations without force', async () => {
    const { ipvm, rsc } = await testNode({
      handlers: { 'db/write': { kind: 'mutation', run: async () => null } }
    })
    const bad = await wasmTask({ rsc, func: 'fail', args: [0] })
    const write = (n: number) => ({ task: { run: { rsc: 'db://main', op: 'db/write', input: { n }, nnc: '' }, cause: null, meta: {}, prf: [] } })
    const result = await ipvm.run(workflowOf(bad, write(1))).result
    expect(result.tasks[1]!.error).toMatchObject({ name: 'MutationSkippedError' })
    await expect(ipvm.run(workflowOf(write(1), write(2))).result).rejects.toMatchObject({ name: 'MutationPolicyError' })
    const forced = await ipvm.run(workflowOf(write(1), write(2)), { force: true }).result
    expect(forced.status).toBe('completed')
    await ipvm.stop()
  })

  it('an op without a handler is an error receipt', async () => {
    const { ipvm } = await testNode()
    const result = await ipvm.run(workflowOf({ task: { run: { rsc: 'x://y', op: 'gpu/render', input: {}, nnc: '' }, cause: null, meta: {}, prf: [] } })).result
    expect(result.tasks[0]!.error).toMatchObject({ name: 'UnsupportedOpError' })
    await ipvm.stop()
  })
})
