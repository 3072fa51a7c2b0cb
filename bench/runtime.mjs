#!/usr/bin/env node
// ipvm runtime benchmarks (issue 4), against the built packages: run `npm run build` (or
// `npx tsc -b packages/core packages/wasm packages/auth packages/store packages/ipvm`) first.
//
//   node bench/runtime.mjs [--quick] [--only=pipeline,tiny] [--json]
//
// 6. pipeline  warm vs cold for crop → rotate90 → grayscale on a 1024×1024 PNG, receipts and blocks
//              in LevelDB (createIpvm({ location: <tmp dir> })): cold = fresh store, every task
//              runs; warm = the same workflow again, every task replayed — from the in-memory memo
//              (same node) and from LevelDB (a node reopened on the same directory, nothing in memory).
// 7+8. tiny    a workflow of 200 independent add-one tasks (core module, distinct args, no memo
//              hits, memory store): runtime time per task vs a bare comlink round trip to a
//              worker_threads worker in the same run, and tiny tasks per second.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import * as Comlink from 'comlink'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'
import { componentBytes } from '../examples/functions/dist/index.js'
import { generateIdentity, signReceipt } from '../packages/auth/dist/src/index.node.js'
import { awaitOk, createIpvm, invocationCid, receiptCid, taskToIpld, wasmTask } from '../packages/ipvm/dist/src/index.js'
import { addContent, createBlockstore, createReceiptStore, getContent } from '../packages/store/dist/src/index.js'
import { ADD_ONE, interleave, machine, makePng, median, quantile, summary, table } from './lib.mjs'

const args = process.argv.slice(2)
const QUICK = args.includes('--quick')
const only = args.find((a) => a.startsWith('--only='))?.slice(7).split(',')
const want = (name) => only === undefined || only.includes(name)
const results = { machine: machine() }
const started = performance.now()
const spread = (xs) => `${quantile(xs, 0).toFixed(2)}–${quantile(xs, 1).toFixed(2)}`
const workflowOf = (name, built) => ({ name, workflow: { tasks: built.map((t) => taskToIpld(t.task)) } })

// The runtime adds one abort listener per running task to a shared signal, so Node warns
// (MaxListenersExceededWarning) once more than 10 tasks are in flight; count those instead of
// printing each, and report them once at the end.
let listenerWarnings = 0
process.removeAllListeners('warning')
process.on('warning', (w) => { if (w.name === 'MaxListenersExceededWarning') listenerWarnings++; else console.warn(w) })

console.log(`# bench/runtime.mjs — ${results.machine}${QUICK ? ' (quick)' : ''}`)

/** An executor that must never be called: proves a warm run executed nothing. */
const refusingExecutor = {
  concurrency: 1,
  run: async () => { throw new Error('a replay-only node was asked to run a task') }
}

// ---------------------------------------------------------------------------------------------
// 6. warm vs cold image pipeline (LevelDB)
if (want('pipeline')) {
  const ROUNDS = QUICK ? 2 : 4
  const WARM = QUICK ? 20 : 50
  const REOPEN = QUICK ? 3 : 5
  const component = componentBytes()
  const png = makePng(1024, 1024)
  const cold = []
  const warmMemory = []
  const warmStore = []
  const warmStoreFirst = []
  const lookup = []
  for (let round = 0; round < ROUNDS; round++) {
    const dir = await mkdtemp(join(tmpdir(), 'ipvm-bench-'))
    try {
      let ipvm = await createIpvm({ location: dir })
      const module = await ipvm.add(component)
      const image = await ipvm.add(png)
      const rsc = `ipfs://${module}`
      const meta = { fuel: 40_000_000_000, memory: 512 * 1024 * 1024, time: 120_000 }
      // a distinct crop origin per round: every round's cold run computes from scratch
      const crop = await wasmTask({ rsc, name: 'crop', func: 'crop', args: [image, 64 + round, 64, 768, 768], meta })
      const rotate = await wasmTask({ rsc, name: 'rotate90', func: 'rotate90', args: [awaitOk(crop)], meta })
      const gray = await wasmTask({ rsc, name: 'grayscale', func: 'grayscale', args: [awaitOk(rotate)], meta })
      const workflow = workflowOf('image-pipeline-1mp', [crop, rotate, gray])

      let t0 = performance.now()
      let result = await ipvm.run(workflow).result
      cold.push(performance.now() - t0)
      if (result.status !== 'completed' || result.tasks.some((t) => t.status !== 'ran')) throw new Error(`cold run: ${result.status} ${result.tasks.map((t) => t.status)}`)

      for (let i = 0; i < WARM + 5; i++) {
        t0 = performance.now()
        result = await ipvm.run(workflow).result
        if (i >= 5) warmMemory.push(performance.now() - t0)
        if (result.tasks.some((t) => t.status !== 'replayed')) throw new Error('warm run executed a task')
      }
      await ipvm.stop()

      // reopened on the same directory: the memo is empty, every receipt comes from LevelDB
      for (let k = 0; k < REOPEN; k++) {
        ipvm = await createIpvm({ location: dir, executor: refusingExecutor })
        t0 = performance.now()
        result = await ipvm.run(workflow).result
        const ms = performance.now() - t0
        if (result.tasks.some((t) => t.status !== 'replayed' || t.where !== 'store')) throw new Error(`reopened run: ${result.tasks.map((t) => `${t.status}/${t.where}`)}`)
        if (k === 0) warmStoreFirst.push(ms); else warmStore.push(ms)
        await ipvm.stop()
      }
      // one receipt lookup by instruction CID straight from LevelDB, on a reopened node
      ipvm = await createIpvm({ location: dir, executor: refusingExecutor })
      for (let i = 0; i < 30; i++) {
        t0 = performance.now()
        const hit = await ipvm.store.getByInstruction([crop, rotate, gray][i % 3].instruction)
        if (i >= 5) lookup.push(performance.now() - t0)
        if (hit === undefined) throw new Error('receipt missing')
      }
      await ipvm.stop()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }
  const c = summary(cold)
  const m = summary(warmMemory)
  const s = summary(warmStore)
  const f = summary(warmStoreFirst)
  const l = summary(lookup)
  results.pipeline = { coldMs: c, warmMemoryMs: m, warmStoreMs: s, warmStoreFirstMs: f, lookupMs: l, ratioMemory: c.median / m.median, ratioStore: c.median / s.median }
  table(`6. Image pipeline crop → rotate90 → grayscale on a 1024×1024 PNG, LevelDB store, ${ROUNDS} fresh stores, ms per workflow run`, ['run', 'samples', 'median', 'p10', 'p90', 'per task', 'cold ÷ this'], [
    ['cold: fresh store, 3 tasks run (fuel-metered)', c.n, c.median, c.p10, c.p90, c.median / 3, 1],
    ['warm, same node: 3 replays from the in-memory memo', m.n, m.median, m.p10, m.p90, m.median / 3, c.median / m.median],
    ['warm, reopened node: 3 replays from LevelDB (first run after open)', f.n, f.median, f.p10, f.p90, f.median / 3, c.median / f.median],
    ['warm, reopened node: 3 replays from LevelDB (later opens)', s.n, s.median, s.p10, s.p90, s.median / 3, c.median / s.median],
    ['one store.getByInstruction on LevelDB (for scale)', l.n, l.median, l.p10, l.p90, '', '']
  ])
}

// ---------------------------------------------------------------------------------------------
// 7 + 8. runtime overhead per tiny task vs bare comlink; tiny tasks per second
if (want('tiny')) {
  const TASKS = 200
  const ROUNDS = QUICK ? 3 : 10
  const compiled = await WebAssembly.compile(ADD_ONE)
  const worker = new Worker(new URL('./bare-wasm-worker.mjs', import.meta.url))
  const bare = Comlink.wrap(nodeEndpoint(worker))
  await bare.init(compiled, 'add-one')

  const levelDir = await mkdtemp(join(tmpdir(), 'ipvm-bench-'))
  const nodes = {
    mem1: await createIpvm({ memory: true, poolSize: 1 }),
    mem2: await createIpvm({ memory: true, poolSize: 2 }),
    mem2unsigned: await createIpvm({ memory: true, poolSize: 2, signer: false }),
    level2: await createIpvm({ location: levelDir, poolSize: 2 })
  }
  const modules = {}
  for (const [k, node] of Object.entries(nodes)) modules[k] = `ipfs://${await node.add(ADD_ONE)}`

  // distinct args for every task of every run: no memo hits anywhere
  let next = 1_000_000
  const build = async (rsc) => {
    const base = next
    next += TASKS
    const tasks = await Promise.all(Array.from({ length: TASKS }, (_, i) => wasmTask({ rsc, name: `t${i}`, func: 'add-one', args: [base + i] })))
    return { workflow: workflowOf('tiny', tasks), base }
  }
  // CPU time of the whole process (main thread + workers) per task: unlike wall time, it does not
  // count time spent waiting for a core, so its ratio holds up on this loaded machine
  const cpu = {}
  const timed = async (name, fn) => {
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    const value = await fn()
    const ms = performance.now() - t0
    const c = process.cpuUsage(c0)
    if (cpu[name] === undefined) cpu[name] = []
    cpu[name].push((c.user + c.system) / TASKS)
    return [ms, value]
  }
  const runNode = (name) => async () => {
    const { workflow, base } = await build(modules[name])
    const [ms, result] = await timed(name, () => nodes[name].run(workflow).result)
    if (result.status !== 'completed') throw new Error(`tiny workflow ${result.status}`)
    result.tasks.forEach((t, i) => {
      if (t.status !== 'ran' || t.out.ok !== base + i + 1) throw new Error(`task ${i}: ${t.status} ${JSON.stringify(t.out)}`)
    })
    return [ms * 1000 / TASKS]
  }
  const singleRtt = []
  const bareSequential = async () => {
    const [ms] = await timed('bareSequential', async () => {
      for (let i = 0; i < TASKS; i++) {
        const t0 = performance.now()
        if (await bare.call(i) !== i + 1) throw new Error('bad')
        singleRtt.push((performance.now() - t0) * 1000)
      }
    })
    return [ms * 1000 / TASKS]
  }
  const barePipelined = async () => {
    const [ms, outs] = await timed('barePipelined', () => Promise.all(Array.from({ length: TASKS }, (_, i) => bare.call(i))))
    if (outs.some((x, i) => x !== i + 1)) throw new Error('bad')
    return [ms * 1000 / TASKS]
  }
  // warm-up: workers started, module prepared and posted, JIT warm
  for (const name of Object.keys(nodes)) await runNode(name)()
  await bareSequential(); await barePipelined()
  singleRtt.length = 0
  for (const k of Object.keys(cpu)) cpu[k] = []

  const r = await interleave(ROUNDS, {
    bareSequential,
    barePipelined,
    mem1: runNode('mem1'),
    mem2: runNode('mem2'),
    mem2unsigned: runNode('mem2unsigned'),
    level2: runNode('level2')
  })
  worker.terminate()
  for (const node of Object.values(nodes)) await node.stop()
  await rm(levelDir, { recursive: true, force: true })

  const s = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, summary(v.samples)]))
  const base = s.bareSequential.median
  const cpuMedian = Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, median(v)]))
  const cpuBase = cpuMedian.bareSequential
  const rtt = summary(singleRtt)
  const perRound = (k) => spread(r[k].roundMedians.map((x, i) => x / r.bareSequential.roundMedians[i]))
  results.tiny = {
    tasks: TASKS, usPerTask: s, cpuUsPerTask: cpuMedian, singleRttUs: rtt,
    ratioVsBare: Object.fromEntries(Object.keys(s).map((k) => [k, s[k].median / base])),
    cpuRatioVsBare: Object.fromEntries(Object.keys(s).map((k) => [k, cpuMedian[k] / cpuBase]))
  }
  const row = (label, k) => [label, s[k].median, s[k].min, s[k].max, s[k].median / base, perRound(k), cpuMedian[k], cpuMedian[k] / cpuBase, 1e6 / s[k].median]
  table(`7–8. ${TASKS} independent add-one tasks per workflow, ${ROUNDS} interleaved rounds; µs per task (wall time of the run ÷ ${TASKS}; CPU = process CPU time ÷ ${TASKS})`,
    ['path', 'wall median', 'min', 'max', '× bare (wall)', 'per-round wall ratio', 'CPU µs', '× bare (CPU)', 'tasks/s'], [
      row('bare comlink round trip, sequential (baseline)', 'bareSequential'),
      row('bare comlink, 200 calls in flight (one worker)', 'barePipelined'),
      row('ipvm, memory store, signed receipts, pool 1', 'mem1'),
      row('ipvm, memory store, signed receipts, pool 2', 'mem2'),
      row('ipvm, memory store, unsigned receipts, pool 2', 'mem2unsigned'),
      row('ipvm, LevelDB store, signed receipts, pool 2', 'level2')
    ])
  console.log(`single bare round trips in the same rounds: median ${rtt.median.toFixed(1)} µs, p10 ${rtt.p10.toFixed(1)}, p90 ${rtt.p90.toFixed(1)} (the sequential row is their mean, outliers included)`)
}

// ---------------------------------------------------------------------------------------------
// 7b. where a tiny task's main-thread time goes: the runtime's per-task steps, each in isolation
if (want('tiny') || want('steps')) {
  const N = QUICK ? 300 : 1000
  const blocks = await createBlockstore({ memory: true })
  const module = await addContent(blocks, ADD_ONE)
  const rsc = `ipfs://${module}`
  const store = createReceiptStore({ memory: true })
  const identity = await generateIdentity()
  let k = 5_000_000
  const steps = {
    'wasmTask (instruction CID: DAG-CBOR + sha3-256)': async () => { await wasmTask({ rsc, func: 'add-one', args: [k++] }) },
    'module bytes from the blockstore (getContent, verified)': async () => { await getContent(blocks, module) },
    'invocation CID': async () => { const t = await wasmTask({ rsc, func: 'add-one', args: [k++] }); const t0 = performance.now(); await invocationCid({ task: t.task }); return performance.now() - t0 },
    'sign a receipt (Ed25519, WebCrypto)': async () => { const t0 = performance.now(); await signReceipt({ ran: module, out: { ok: k++ }, fx: { fork: [] }, meta: { op: 'add-one' }, iss: identity.did, prf: [] }, identity); return performance.now() - t0 },
    'receipt CID': async () => { const r = { ran: module, out: { ok: k++ }, fx: { fork: [] }, meta: { op: 'add-one' }, iss: null, prf: [] }; const t0 = performance.now(); await receiptCid(r); return performance.now() - t0 },
    'memory store put (one receipt)': async () => {
      const t = await wasmTask({ rsc, func: 'add-one', args: [k++] })
      const receipt = { ran: await invocationCid({ task: t.task }), out: { ok: k }, fx: { fork: [] }, meta: { op: 'add-one' }, iss: null, prf: [] }
      const entry = { receipt, receiptCid: await receiptCid(receipt), instruction: t.instruction, replayable: true }
      const t0 = performance.now()
      await store.put(entry)
      return performance.now() - t0
    }
  }
  const rows = []
  results.steps = {}
  for (const [label, fn] of Object.entries(steps)) {
    for (let i = 0; i < 50; i++) await fn()
    const xs = []
    for (let i = 0; i < N; i++) {
      const t0 = performance.now()
      const inner = await fn()
      xs.push((typeof inner === 'number' ? inner : performance.now() - t0) * 1000)
    }
    const x = summary(xs)
    results.steps[label] = x
    rows.push([label, x.median, x.p10, x.p90])
  }
  await blocks.close?.()
  table(`7b. A tiny task's main-thread steps in isolation (${N} each), µs`, ['step', 'median', 'p10', 'p90'], rows)
}

if (listenerWarnings > 0) console.log(`\nnote: ${listenerWarnings} MaxListenersExceededWarning(s) from the runtime (more than 10 abort listeners on one AbortSignal) were suppressed`)
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`)
if (args.includes('--json')) console.log(JSON.stringify(results, (_, v) => typeof v === 'bigint' ? String(v) : v, 2))
