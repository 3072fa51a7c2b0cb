import { AbortError, IpvmError } from '@ipvm/core'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createWorkerPool, PoolStoppedError, TimeoutError, WorkerCrashedError, WorkerStartError } from '../src/pool/index.js'
import type { PoolProgressEvent, WorkerPool, WorkerPoolOptions } from '../src/pool/index.js'
import type { TestJob } from './pool-fixtures/handler.js'
import { ADD, SPIN, TRAP } from './pool-fixtures/wasm.js'

const handler = new URL('./pool-fixtures/handler.ts', import.meta.url)

let add: WebAssembly.Module
let spin: WebAssembly.Module
let trap: WebAssembly.Module

beforeAll(async () => {
  add = await WebAssembly.compile(ADD)
  spin = await WebAssembly.compile(SPIN)
  trap = await WebAssembly.compile(TRAP)
})

const pools: WorkerPool<TestJob, unknown>[] = []
afterEach(async () => {
  await Promise.all(pools.splice(0).map(async (p) => { await p.stop() }))
})

function pool (options: Omit<WorkerPoolOptions, 'handler'> = {}): { pool: WorkerPool<TestJob, unknown>, events: PoolProgressEvent[] } {
  const events: PoolProgressEvent[] = []
  const p = createWorkerPool<TestJob, unknown>({ handler, onProgress: (e) => events.push(e), ...options })
  pools.push(p)
  return { pool: p, events }
}

const addJob = (a: number, b: number): TestJob => ({ kind: 'call', module: add, export: 'add', args: [a, b] })
const spinJob = (): TestJob => ({ kind: 'call', module: spin, export: 'spin', args: [] })

function startedWorker (events: PoolProgressEvent[], jobId: number): number | undefined {
  for (const e of events) if (e.type === 'job:started' && e.detail.jobId === jobId) return e.detail.workerId
  return undefined
}

describe('worker pool', () => {
  it('computes correct results across many concurrent jobs, each on exactly one worker', async () => {
    const { pool: p, events } = pool({ size: 3 })
    await p.start()
    expect(p.size).toBe(3)
    const jobs = Array.from({ length: 300 }, (_, i) => [i * 7 - 500, i * 13] as const)
    const results = await Promise.all(jobs.map(async ([a, b]) => await p.run(addJob(a, b))))
    expect(results).toEqual(jobs.map(([a, b]) => a + b))

    const started = events.filter((e) => e.type === 'job:started')
    expect(started).toHaveLength(300)
    const jobIds = started.map((e) => e.detail.jobId)
    expect(new Set(jobIds).size).toBe(300) // no job started twice
    // After start() all three were idle, so the first three jobs went to three different workers.
    expect(new Set(started.slice(0, 3).map((e) => e.type === 'job:started' ? e.detail.workerId : -1)).size).toBe(3)
    expect(events.filter((e) => e.type === 'job:finished' && e.detail.outcome === 'ok')).toHaveLength(300)
    expect(p.stats).toMatchObject({ size: 3, idle: 3, busy: 0, queued: 0, replaced: 0, finished: 300 })
  })

  it('uses the default size: hardwareConcurrency bounded to [1, 8]', () => {
    const p = createWorkerPool({ handler })
    expect(p.size).toBeGreaterThanOrEqual(1)
    expect(p.size).toBeLessThanOrEqual(8)
    expect(() => createWorkerPool({ handler, size: 0 })).toThrow(RangeError)
    expect(() => createWorkerPool({})).toThrow(TypeError)
  })

  it('runs jobs in FIFO order on a pool of one', async () => {
    const { pool: p, events } = pool({ size: 1, spare: false })
    const runs = [0, 1, 2, 3, 4, 5, 6, 7].map(async (tag) => await p.run({ kind: 'log', tag }))
    const logs = await Promise.all(runs)
    expect(logs[7]).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    const startOrder = events.flatMap((e) => e.type === 'job:started' ? [e.detail.jobId] : [])
    const queueOrder = events.flatMap((e) => e.type === 'job:queued' ? [e.detail.jobId] : [])
    expect(startOrder).toEqual(queueOrder)
  })

  it('passes handler options to the handler init', async () => {
    const { pool: p } = pool({ size: 1, spare: false, handlerOptions: { answer: 42, bytes: new Uint8Array([1, 2]) } })
    expect(await p.run({ kind: 'options' })).toEqual({ answer: 42, bytes: new Uint8Array([1, 2]) })
  })

  it('ends an infinite loop with a TimeoutError, replaces the worker from the spare and keeps serving', async () => {
    const { pool: p, events } = pool({ size: 1, spare: true })
    await p.start()
    const err = await p.run(spinJob(), { timeoutMs: 150 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TimeoutError)
    expect(err).toMatchObject({ name: 'TimeoutError', code: 'ERR_TIMEOUT', details: { limit: 150 } })

    const replacedEvents = events.filter((e) => e.type === 'worker:replaced')
    expect(replacedEvents).toHaveLength(1)
    expect(replacedEvents[0]?.detail).toMatchObject({ reason: 'timeout', fromSpare: true })

    expect(await p.run(addJob(40, 2))).toBe(42)
    expect(p.stats.replaced).toBe(1)
    // The job after the timeout ran on the former spare, not on the killed worker.
    const lastStart = events.filter((e) => e.type === 'job:started').at(-1)
    expect(lastStart?.type === 'job:started' && lastStart.detail.workerId).toBe(replacedEvents[0]?.type === 'worker:replaced' && replacedEvents[0].detail.replacementId)
  })

  it('recovers from a timeout without a spare too', async () => {
    const { pool: p, events } = pool({ size: 1, spare: false })
    await expect(p.run(spinJob(), { timeoutMs: 100 })).rejects.toMatchObject({ code: 'ERR_TIMEOUT' })
    expect(events.find((e) => e.type === 'worker:replaced')?.detail).toMatchObject({ reason: 'timeout', fromSpare: false })
    expect(await p.run(addJob(1, 2))).toBe(3)
  })

  it('treats an infinite or huge timeoutMs as no limit and rejects invalid ones', async () => {
    const { pool: p } = pool({ size: 1, spare: false })
    expect(await p.run({ kind: 'sleep', ms: 50 }, { timeoutMs: Number.POSITIVE_INFINITY })).toBe(50)
    expect(await p.run({ kind: 'sleep', ms: 50 }, { timeoutMs: 2 ** 40 })).toBe(50)
    await expect(p.run({ kind: 'sleep', ms: 1 }, { timeoutMs: -1 })).rejects.toBeInstanceOf(RangeError)
    expect(p.stats.replaced).toBe(0)
  })

  it('a timeout only costs its own job: jobs on other workers finish', async () => {
    const { pool: p } = pool({ size: 2 })
    await p.start()
    const [spun, slept] = await Promise.allSettled([
      p.run(spinJob(), { timeoutMs: 100 }),
      p.run({ kind: 'sleep', ms: 300 })
    ])
    expect(spun.status === 'rejected' && (spun.reason as IpvmError).code).toBe('ERR_TIMEOUT')
    expect(slept).toEqual({ status: 'fulfilled', value: 300 })
  })

  it('a trap rejects its job and the same worker runs the next job normally', async () => {
    const { pool: p, events } = pool({ size: 1 })
    const err = await p.run({ kind: 'call', module: trap, export: 'trap', args: [] }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Error)
    expect(err).toMatchObject({ name: 'RuntimeError' })
    expect((err as Error).message).toMatch(/unreachable/)
    expect(await p.run(addJob(2, 3))).toBe(5)
    const workers = events.flatMap((e) => e.type === 'job:started' ? [e.detail.workerId] : [])
    expect(workers).toHaveLength(2)
    expect(workers[0]).toBe(workers[1])
    expect(p.stats.replaced).toBe(0)
    expect(events.find((e) => e.type === 'job:finished')?.detail).toMatchObject({ outcome: 'error' })
  })

  it('keeps name, code and details of errors thrown in the worker', async () => {
    const { pool: p } = pool({ size: 1, spare: false })
    const err = await p.run({ kind: 'throw-typed' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IpvmError)
    expect(err).toMatchObject({
      name: 'InvalidCIDError',
      code: 'ERR_INVALID_CID',
      message: 'not a CID: bafy-nope',
      details: { cid: 'bafy-nope', where: ['input', 0] }
    })
  })

  it('removes an aborted job from the queue without running it', async () => {
    const { pool: p, events } = pool({ size: 1, spare: false })
    await p.start()
    const blocker = p.run({ kind: 'sleep', ms: 200 })
    const controller = new AbortController()
    const queued = p.run(addJob(1, 1), { signal: controller.signal })
    const after = p.run(addJob(2, 2))
    expect(p.stats.queued).toBe(2)
    controller.abort()
    const err = await queued.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AbortError)
    expect(err).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' })
    expect(p.stats.queued).toBe(1)
    expect(await blocker).toBe(200)
    expect(await after).toBe(4)
    // Job 2 (the aborted one) never started; nothing was replaced.
    expect(startedWorker(events, 2)).toBeUndefined()
    expect(events.find((e) => e.type === 'job:finished' && e.detail.jobId === 2)?.detail).toMatchObject({ outcome: 'abort' })
    expect(p.stats.replaced).toBe(0)
  })

  it('aborting a running job terminates and replaces its worker', async () => {
    const { pool: p, events } = pool({ size: 1 })
    await p.start()
    const controller = new AbortController()
    const jobEvents: PoolProgressEvent[] = []
    const running = p.run(spinJob(), { signal: controller.signal, onProgress: (e) => jobEvents.push(e) })
    await new Promise<void>((resolve) => {
      const check = (): void => { if (p.stats.busy === 1) resolve(); else setTimeout(check, 5) }
      check()
    })
    controller.abort(new Error('user gave up'))
    await expect(running).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', message: 'user gave up' })
    expect(events.find((e) => e.type === 'worker:replaced')?.detail).toMatchObject({ reason: 'abort' })
    expect(jobEvents.map((e) => e.type)).toEqual(['job:queued', 'job:started', 'job:finished', 'worker:replaced'])
    expect(await p.run(addJob(5, 5))).toBe(10)
  })

  it('rejects at once when the signal is already aborted', async () => {
    const { pool: p } = pool({ size: 1, spare: false })
    await expect(p.run(addJob(1, 1), { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError)
    expect(p.stats.queued).toBe(0)
  })

  it('heals after a worker exits in the middle of a job', async () => {
    const { pool: p, events } = pool({ size: 1 })
    const err = await p.run({ kind: 'exit' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(WorkerCrashedError)
    expect(err).toMatchObject({ name: 'WorkerCrashedError', code: 'ERR_WORKER_CRASHED', details: { reason: 'exit' } })
    expect(events.find((e) => e.type === 'worker:replaced')?.detail).toMatchObject({ reason: 'crash' })
    expect(await p.run(addJob(20, 22))).toBe(42)
  })

  it('heals after an uncaught exception in a worker, without touching jobs on other workers', async () => {
    const { pool: p } = pool({ size: 2 })
    await p.start()
    const [crashed, slept] = await Promise.allSettled([
      p.run({ kind: 'throw-async' }),
      p.run({ kind: 'sleep', ms: 200 })
    ])
    expect(crashed.status === 'rejected' && crashed.reason).toMatchObject({ code: 'ERR_WORKER_CRASHED', details: { reason: 'error' } })
    expect(slept).toEqual({ status: 'fulfilled', value: 200 })
    expect(await p.run(addJob(1, 1))).toBe(2)
    expect(p.stats.replaced).toBe(1)
  })

  it('transfers buffers instead of copying them, both ways', async () => {
    const { pool: p } = pool({ size: 1, spare: false })
    const bytes = new Uint8Array(4096).fill(1)
    const result = await p.run({ kind: 'bytes', bytes }, { transfer: [bytes.buffer] }) as { sum: number, received: number, out: Uint8Array }
    expect(bytes.buffer.byteLength).toBe(0) // detached on our side
    expect(bytes.byteLength).toBe(0)
    expect(result.sum).toBe(4096)
    expect(result.received).toBe(4096)
    expect(result.out).toBeInstanceOf(Uint8Array)
    expect(result.out.byteLength).toBe(4096)
    expect(result.out[4095]).toBe(7)
    // The worker's reply buffer was transferred too: its view in the worker is detached.
    expect(await p.run({ kind: 'held-bytes' })).toBe(0)
  })

  it('copies buffers that are not listed for transfer', async () => {
    const { pool: p } = pool({ size: 1, spare: false })
    const bytes = new Uint8Array(16).fill(2)
    const result = await p.run({ kind: 'bytes', bytes }) as { sum: number }
    expect(result.sum).toBe(32)
    expect(bytes.byteLength).toBe(16)
  })

  it('stop() rejects running and queued jobs with PoolStoppedError, and run() after stop rejects', async () => {
    const { pool: p, events } = pool({ size: 1 })
    await p.start()
    const running = p.run(spinJob())
    const queued = p.run(addJob(1, 2))
    const both = Promise.allSettled([running, queued])
    await p.stop()
    const settled = await both
    for (const s of settled) {
      expect(s.status).toBe('rejected')
      expect(s.status === 'rejected' && s.reason).toBeInstanceOf(PoolStoppedError)
      expect(s.status === 'rejected' && s.reason).toMatchObject({ code: 'ERR_POOL_STOPPED' })
    }
    await expect(p.run(addJob(1, 2))).rejects.toMatchObject({ name: 'PoolStoppedError' })
    expect(events.filter((e) => e.type === 'job:finished' && e.detail.outcome === 'stopped')).toHaveLength(2)
    expect(p.stats).toMatchObject({ idle: 0, busy: 0, queued: 0 })
    // A stopped pool can be started again.
    await p.start()
    expect(await p.run(addJob(1, 2))).toBe(3)
  })

  it('rejects with WorkerStartError when the handler module cannot be loaded', async () => {
    const bad = createWorkerPool<TestJob, unknown>({ handler: new URL('./pool-fixtures/bad-handler.ts', import.meta.url), size: 1, spare: false })
    pools.push(bad)
    const err = await bad.run({ kind: 'log', tag: 1 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(WorkerStartError)
    expect(err).toMatchObject({ code: 'ERR_WORKER_START', details: { cause: { name: 'TypeError' } } })
    expect((err as Error).message).toMatch(/neither run\(\) nor a default function/)
    await expect(bad.start()).rejects.toBeInstanceOf(WorkerStartError)
  })

  it('start() rejects, and queued jobs fail, when a worker dies while starting', async () => {
    const dying = createWorkerPool<TestJob, unknown>({ handler: new URL('./pool-fixtures/dying-handler.ts', import.meta.url), size: 1, spare: false })
    pools.push(dying)
    const queued = dying.run({ kind: 'log', tag: 1 }).catch((e: unknown) => e)
    await expect(dying.start()).rejects.toMatchObject({ name: 'WorkerStartError', details: { reason: 'exit' } })
    expect(await queued).toBeInstanceOf(WorkerStartError)
  })

  it('gives up on a worker whose handler never finishes loading (startTimeoutMs)', async () => {
    const hanging = createWorkerPool<TestJob, unknown>({ handler: new URL('./pool-fixtures/hanging-handler.ts', import.meta.url), size: 1, spare: false, startTimeoutMs: 300 })
    pools.push(hanging)
    const queued = hanging.run({ kind: 'log', tag: 1 }).catch((e: unknown) => e)
    await expect(hanging.start()).rejects.toMatchObject({ name: 'WorkerStartError', details: { reason: 'timeout', limit: 300 } })
    expect(await queued).toBeInstanceOf(WorkerStartError)
  })

  it('runs a handler bundled into a custom worker entry (workerUrl in Node, createWorker in browsers)', async () => {
    const entry = __TEST_PLATFORM__ === 'node'
      ? { workerUrl: new URL('./pool-fixtures/custom-worker.node.ts', import.meta.url) }
      : { createWorker: () => new Worker(new URL('./pool-fixtures/custom-worker.browser.ts', import.meta.url), { type: 'module' }) }
    const custom = createWorkerPool<number, number>({ ...entry, handlerOptions: { factor: 3 }, size: 2, spare: false })
    try {
      expect(await Promise.all([1, 2, 3].map(async (n) => await custom.run(n)))).toEqual([3, 6, 9])
      await expect(custom.run(Number.NaN)).rejects.toMatchObject({ name: 'InvalidIpldError', code: 'ERR_INVALID_IPLD', details: { got: 'NaN' } })
    } finally {
      await custom.stop()
    }
  })

  it('emits worker:started for every worker, the spare included', async () => {
    const { pool: p, events } = pool({ size: 2, spare: true })
    await p.start()
    const started = events.flatMap((e) => e.type === 'worker:started' ? [e.detail] : [])
    expect(started).toHaveLength(3)
    expect(started.filter((d) => d.spare)).toHaveLength(1)
    expect(p.stats).toMatchObject({ idle: 2, spare: 1 })
  })
})
