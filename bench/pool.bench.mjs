#!/usr/bin/env node
// Worker pool measurements (Node, from the built package: run `npx tsc -b packages/wasm` first).
//   node bench/pool.bench.mjs [--json]
// Prints medians of, in one run: a bare comlink round trip to a worker, a tiny job through the pool,
// and how long the pool takes to serve again after a timeout kills a worker, with and without the
// warm spare. Ratios within one run are what to compare; absolute numbers depend on the machine.
import { Worker } from 'node:worker_threads'
import * as Comlink from 'comlink'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'
import { createWorkerPool } from '../packages/wasm/dist/src/pool/index.js'

const ADD = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 7, 1, 96, 2, 127, 127, 1, 127, 3, 2, 1, 0, 7, 7, 1, 3, 97, 100, 100, 0, 0, 10, 9, 1, 7, 0, 32, 0, 32, 1, 106, 11])
const SPIN = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 7, 8, 1, 4, 115, 112, 105, 110, 0, 0, 10, 9, 1, 7, 0, 3, 64, 12, 0, 11, 11])
const add = await WebAssembly.compile(ADD)
const spin = await WebAssembly.compile(SPIN)
const handler = new URL('./pool-handler.mjs', import.meta.url)

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)] }
const p90 = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length * 0.9)] }

async function timeEach (n, warm, fn) {
  for (let i = 0; i < warm; i++) await fn(i)
  const out = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    await fn(i)
    out.push((performance.now() - t0) * 1000)
  }
  return out
}

const N = 3000
const WARM = 300
const results = {}

// 1. bare comlink round trip
{
  const w = new Worker(new URL('./pool-bare-worker.mjs', import.meta.url))
  const remote = Comlink.wrap(nodeEndpoint(w))
  await remote.init(add)
  const t = await timeEach(N, WARM, async (i) => { if (await remote.add(i, 1) !== i + 1) throw new Error('bad') })
  results.bareComlinkUs = { median: median(t), p90: p90(t) }
  await w.terminate()
}

// 2. tiny job through the pool (size 1, instance cached in the worker), and the same with the
//    Module posted and instantiated per job (what a task with a fresh instance costs)
{
  const pool = createWorkerPool({ handler, handlerOptions: { module: add }, size: 1, spare: false })
  await pool.start()
  const t = await timeEach(N, WARM, async (i) => { if (await pool.run({ kind: 'add', a: i, b: 1 }) !== i + 1) throw new Error('bad') })
  results.poolTinyJobUs = { median: median(t), p90: p90(t) }
  const t2 = await timeEach(N, WARM, async (i) => { if (await pool.run({ kind: 'call', module: add, export: 'add', args: [i, 1] }) !== i + 1) throw new Error('bad') })
  results.poolModulePerJobUs = { median: median(t2), p90: p90(t2) }
  await pool.stop()
}

// 3. cold start of a one-worker pool (worker script + handler + init)
{
  const times = []
  for (let i = 0; i < 10; i++) {
    const pool = createWorkerPool({ handler, handlerOptions: { module: add }, size: 1, spare: false })
    const t0 = performance.now()
    await pool.start()
    times.push(performance.now() - t0)
    await pool.stop()
  }
  results.coldStartMs = { median: median(times), p90: p90(times) }
}

// 4. recovery after a timeout: from the TimeoutError to the next job's result
for (const spare of [true, false]) {
  const pool = createWorkerPool({ handler, handlerOptions: { module: add }, size: 1, spare })
  await pool.start()
  const times = []
  for (let i = 0; i < 15; i++) {
    await pool.run({ kind: 'spin', module: spin }, { timeoutMs: 20 }).catch((err) => { if (err.code !== 'ERR_TIMEOUT') throw err })
    const t0 = performance.now()
    await pool.run({ kind: 'add', a: 1, b: 2 })
    times.push(performance.now() - t0)
    // let the spare refill before the next kill, as it would between rare timeouts
    while (spare && pool.stats.spare === 0) await new Promise((resolve) => setTimeout(resolve, 5))
  }
  results[spare ? 'recoveryWithSpareMs' : 'recoveryWithoutSpareMs'] = { median: median(times), p90: p90(times) }
  await pool.stop()
}

results.ratioPoolVsBare = results.poolTinyJobUs.median / results.bareComlinkUs.median
if (process.argv.includes('--json')) console.log(JSON.stringify(results, null, 2))
else {
  const f = (x) => x.toFixed(1)
  console.log(`bare comlink round trip      median ${f(results.bareComlinkUs.median)} µs  p90 ${f(results.bareComlinkUs.p90)} µs`)
  console.log(`tiny job through the pool    median ${f(results.poolTinyJobUs.median)} µs  p90 ${f(results.poolTinyJobUs.p90)} µs  (×${results.ratioPoolVsBare.toFixed(2)} bare)`)
  console.log(`pool, Module posted per job  median ${f(results.poolModulePerJobUs.median)} µs  p90 ${f(results.poolModulePerJobUs.p90)} µs`)
  console.log(`cold start, 1 worker             median ${f(results.coldStartMs.median)} ms  p90 ${f(results.coldStartMs.p90)} ms`)
  console.log(`recovery after timeout, spare     median ${f(results.recoveryWithSpareMs.median)} ms  p90 ${f(results.recoveryWithSpareMs.p90)} ms`)
  console.log(`recovery after timeout, no spare  median ${f(results.recoveryWithoutSpareMs.median)} ms  p90 ${f(results.recoveryWithoutSpareMs.p90)} ms`)
}
