#!/usr/bin/env node
// @ipvm/wasm benchmarks (issue 3), against the built packages: run `npm run build` (or
// `npx tsc -b packages/core packages/wasm packages/auth packages/store packages/ipvm`) first.
//
//   node bench/wasm.mjs [--quick] [--only=tiny,meter,pool,prep,recovery] [--json]
//
// 1. tiny     a tiny core-module task (add-one) through createWasmExecutor vs a bare comlink round
//             trip to a worker_threads worker calling the same export, interleaved in one run
// 2. meter    fuel-metered vs unmetered image functions (component runtime, in-thread, fresh
//             instance per call) on a 1024×1024 PNG
// 3. pool     speed-up of a 2-worker pool over 1 worker for N concurrent blur tasks (1 MP)
// 4. prep     preparation (instrument + compile) of a ~300 KB core module: cold and cached
// 5. recovery time to the next result after a timeout killed the only worker, with/without spare
//
// Every comparison is measured in the same run, interleaved in rounds, so load from other processes
// on this shared machine hits both sides; medians and p10/p90 over all samples, and the spread of
// the per-round ratios, are printed.
import { Worker } from 'node:worker_threads'
import * as Comlink from 'comlink'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { componentBytes } from '../examples/functions/dist/index.js'
import { callIpld, instantiateComponent, loadComponent } from '../packages/wasm/dist/src/component/index.js'
import {
  createWasmExecutor, fuelLeft, instrument, isMetered, meterCoreModule, prepareCoreModule, readCoreModuleInfo, setFuel
} from '../packages/wasm/dist/src/index.js'
import { ADD_ONE, SPIN, bigModule, interleave, loadavg, machine, makePng, median, pngSize, quantile, summary, table } from './lib.mjs'

const args = process.argv.slice(2)
const QUICK = args.includes('--quick')
const only = args.find((a) => a.startsWith('--only='))?.slice(7).split(',')
const want = (name) => only === undefined || only.includes(name)
const results = { machine: machine() }
const started = performance.now()

const cidOf = async (bytes) => CID.create(1, raw.code, await sha256.digest(bytes))
const ratioSpread = (as, bs) => as.map((a, i) => a / bs[i])
const spread = (xs) => `${quantile(xs, 0).toFixed(2)}–${quantile(xs, 1).toFixed(2)}`

console.log(`# bench/wasm.mjs — ${results.machine}${QUICK ? ' (quick)' : ''}`)

// ---------------------------------------------------------------------------------------------
// 1. tiny task: executor (pool) vs bare comlink
if (want('tiny')) {
  const N = QUICK ? 300 : 1000
  const ROUNDS = QUICK ? 3 : 6
  const compiled = await WebAssembly.compile(ADD_ONE)
  const worker = new Worker(new URL('./bare-wasm-worker.mjs', import.meta.url))
  const bare = Comlink.wrap(nodeEndpoint(worker))
  await bare.init(compiled, 'add-one')
  const executor = createWasmExecutor({ size: 1 })
  await executor.start()
  const module = await cidOf(ADD_ONE)
  const check = (x, i) => { if (x !== i + 1) throw new Error(`add-one(${i}) gave ${x}`) }
  const batch = async (fn) => {
    for (let i = 0; i < 50; i++) check(await fn(i), i)
    const out = []
    for (let i = 0; i < N; i++) {
      const t0 = performance.now()
      check(await fn(i), i)
      out.push((performance.now() - t0) * 1000)
    }
    return out
  }
  const run = async (i) => (await executor.run({ module, bytes: ADD_ONE, func: 'add-one', args: [i], limits: {} })).value
  const runFuel = async (i) => (await executor.run({ module, bytes: ADD_ONE, func: 'add-one', args: [i], limits: { fuel: 1_000_000n } })).value
  const r = await interleave(ROUNDS, {
    bare: () => batch((i) => bare.call(i)),
    bareFresh: () => batch((i) => bare.callFresh('add-one', i)),
    pool: () => batch(run),
    poolFuel: () => batch(runFuel)
  })
  // direct call in this thread, for scale
  const direct = (await WebAssembly.instantiate(compiled)).exports['add-one']
  let acc = 0
  const t0 = performance.now()
  for (let i = 0; i < 5_000_000; i++) acc = direct(acc)
  const directNs = (performance.now() - t0) * 1e6 / 5_000_000
  worker.terminate()
  await executor.stop()
  const s = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, summary(v.samples)]))
  const perRound = ratioSpread(r.pool.roundMedians, r.bare.roundMedians)
  results.tiny = { us: s, directNs, ratioPoolVsBare: s.pool.median / s.bare.median, ratioPoolVsBareRounds: perRound, ratioPoolVsBareFresh: s.pool.median / s.bareFresh.median }
  table(`1. Tiny task (add-one, core module): ${ROUNDS} interleaved rounds × ${N} sequential calls, µs`, ['path', 'median', 'p10', 'p90', '× bare'], [
    ['direct call in this thread', `${directNs.toFixed(1)} ns`, '', '', ''],
    ['bare comlink → worker, cached instance', s.bare.median, s.bare.p10, s.bare.p90, 1],
    ['bare comlink → worker, fresh instance per call', s.bareFresh.median, s.bareFresh.p10, s.bareFresh.p90, s.bareFresh.median / s.bare.median],
    ['createWasmExecutor({size: 1}).run, no limits', s.pool.median, s.pool.p10, s.pool.p90, s.pool.median / s.bare.median],
    ['createWasmExecutor.run, fuel metered', s.poolFuel.median, s.poolFuel.p10, s.poolFuel.p90, s.poolFuel.median / s.bare.median]
  ])
  console.log(`per-round ratio pool/bare: ${spread(perRound)}; pool vs bare with a fresh instance: ×${(s.pool.median / s.bareFresh.median).toFixed(2)}`)
}

// ---------------------------------------------------------------------------------------------
// shared inputs for the image benchmarks
const png = (want('meter') || want('pool')) ? makePng(1024, 1024) : undefined
const component = componentBytes()

// 2. metered vs unmetered, in-thread, fresh instance per call (as the worker does)
if (want('meter')) {
  const ROUNDS = QUICK ? 3 : 9
  const FUEL = 1n << 40n
  const source = loadComponent(component)
  const compilers = (fuel) => {
    const cache = new Map()
    return (core) => {
      let m = cache.get(core)
      if (m === undefined) {
        m = WebAssembly.compile(meterCoreModule(core, fuel === undefined ? {} : { fuel }).bytes)
        cache.set(core, m)
      }
      return m
    }
  }
  const compile = { plain: compilers(undefined), metered: compilers(FUEL) }
  const fuelUsed = {}
  const cpuMs = { plain: {}, metered: {} }
  const call = async (kind, func, args) => {
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    const instance = await instantiateComponent(source, {}, { compile: compile[kind] })
    const metered = kind === 'metered' ? instance.coreInstances.filter(isMetered) : []
    for (const core of metered) setFuel(core, FUEL)
    const out = callIpld(instance, func, args)
    const ms = performance.now() - t0
    const c = process.cpuUsage(c0)
    if (cpuMs[kind][func] === undefined) cpuMs[kind][func] = []
    cpuMs[kind][func].push((c.user + c.system) / 1000)
    if (!(out instanceof Uint8Array) || pngSize(out)[0] === 0) throw new Error(`${func} gave no PNG`)
    if (kind === 'metered') fuelUsed[func] = metered.reduce((sum, core) => sum + (FUEL - fuelLeft(core)), 0n)
    return ms
  }
  const funcs = [['grayscale', [png]], ['crop', [png, 128, 128, 768, 768]], ['blur', [png, 2.5]]]
  results.meter = {}
  const rows = []
  for (const [func, fargs] of funcs) {
    await call('plain', func, fargs); await call('metered', func, fargs) // compile + warm up
    cpuMs.plain[func] = []; cpuMs.metered[func] = []
    const r = await interleave(ROUNDS, {
      plain: async () => [await call('plain', func, fargs)],
      metered: async () => [await call('metered', func, fargs)]
    })
    const p = summary(r.plain.samples)
    const m = summary(r.metered.samples)
    const paired = ratioSpread(r.metered.samples, r.plain.samples)
    const cp = median(cpuMs.plain[func])
    const cm = median(cpuMs.metered[func])
    results.meter[func] = { plainMs: p, meteredMs: m, ratio: m.median / p.median, pairedRatioMedian: median(paired), pairedRatios: paired, cpuPlainMs: cp, cpuMeteredMs: cm, cpuRatio: cm / cp, fuelUsed: String(fuelUsed[func]) }
    rows.push([func, p.median, `${p.p10.toFixed(0)}–${p.p90.toFixed(0)}`, m.median, `${m.p10.toFixed(0)}–${m.p90.toFixed(0)}`, m.median / p.median, `${median(paired).toFixed(2)} (${spread(paired)})`, cp, cm, cm / cp, Number(fuelUsed[func]).toExponential(2)])
  }
  table(`2. Metered vs unmetered, 1024×1024 PNG in → PNG out, component runtime in-thread, fresh instance each, ${ROUNDS} interleaved pairs, ms`,
    ['function', 'unmetered wall median', 'p10–p90', 'metered wall median', 'p10–p90', 'wall ratio', 'paired wall ratio (range)', 'unmetered CPU ms', 'metered CPU ms', 'CPU ratio', 'fuel used'], rows)
  console.log('CPU = process CPU time (user + system) during the call, median: it does not count time this process waited for a core, so it is the steadier ratio on a loaded machine')
}

// 3. pool speed-up: N concurrent blur tasks on 1 vs 2 workers
if (want('pool')) {
  const N = QUICK ? 4 : 8
  const ROUNDS = QUICK ? 2 : 4
  const module = await cidOf(component)
  const executors = { one: createWasmExecutor({ size: 1 }), two: createWasmExecutor({ size: 2 }) }
  const task = (executor) => executor.run({ module, bytes: component, func: 'blur', args: [png, 2.5], limits: {} })
  for (const e of Object.values(executors)) {
    await e.start()
    await Promise.all([task(e), task(e), task(e), task(e)]) // every worker parses and compiles the component
  }
  const cpu = { one: [], two: [] }
  const loads = []
  const batch = (name) => async () => {
    loads.push(loadavg())
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    const outs = await Promise.all(Array.from({ length: N }, () => task(executors[name])))
    const ms = performance.now() - t0
    const c = process.cpuUsage(c0)
    cpu[name].push((c.user + c.system) / 1000 / ms)
    for (const o of outs) if (!(o.value instanceof Uint8Array)) throw new Error('blur gave no bytes')
    return [ms]
  }
  const r = await interleave(ROUNDS, { one: batch('one'), two: batch('two') })
  for (const e of Object.values(executors)) await e.stop()
  const speedups = ratioSpread(r.one.samples, r.two.samples)
  results.pool = { tasks: N, oneMs: summary(r.one.samples), twoMs: summary(r.two.samples), speedup: median(r.one.samples) / median(r.two.samples), speedups, coresUsed: { one: median(cpu.one), two: median(cpu.two) }, loadavg: loads }
  table(`3. Pool speed-up: ${N} concurrent blur(σ=2.5) tasks on a 1 MP PNG, ${ROUNDS} interleaved rounds, ms per batch`, ['pool', 'median', 'min', 'max', 'per task', 'CPU cores busy (process)', 'speed-up'], [
    ['size 1', results.pool.oneMs.median, results.pool.oneMs.min, results.pool.oneMs.max, results.pool.oneMs.median / N, median(cpu.one), 1],
    ['size 2', results.pool.twoMs.median, results.pool.twoMs.min, results.pool.twoMs.max, results.pool.twoMs.median / N, median(cpu.two), results.pool.speedup]
  ])
  console.log(`per-round speed-ups: ${speedups.map((x) => x.toFixed(2)).join(', ')}; 1-min load average at each batch: ${loads.map((x) => x.toFixed(1)).join(', ')}`)
}

// 4. preparing a ~300 KB module: cold (new bytes each time) and cached
if (want('prep')) {
  const N = QUICK ? 4 : 10
  let seed = 1
  const fresh = () => bigModule(seed++)
  const size = fresh().byteLength
  await prepareCoreModule(fresh(), { fuel: 1n }) // warm the code paths
  const r = await interleave(N, {
    instrument: async () => { const b = fresh(); const t0 = performance.now(); instrument(b, { fuel: true, deferStart: true }); return [performance.now() - t0] },
    compilePlain: async () => { const b = fresh(); const t0 = performance.now(); await WebAssembly.compile(b); return [performance.now() - t0] },
    compileMetered: async () => { const b = meterCoreModule(fresh(), { fuel: 1n }, { deferStart: true }).bytes; const t0 = performance.now(); await WebAssembly.compile(b); return [performance.now() - t0] },
    readInfo: async () => { const b = fresh(); const t0 = performance.now(); readCoreModuleInfo(b); return [performance.now() - t0] },
    prepPlain: async () => { const b = fresh(); const t0 = performance.now(); await prepareCoreModule(b, {}); return [performance.now() - t0] },
    prepMetered: async () => { const b = fresh(); const t0 = performance.now(); await prepareCoreModule(b, { fuel: 1_000_000n }); return [performance.now() - t0] }
  })
  // Through the executor: the first task of a new module CID prepares it (cold); later tasks of the
  // same CID hit the prepared-module cache and only post the Module and instantiate it in the worker.
  const executor = createWasmExecutor({ size: 1 })
  await executor.start()
  const first = []
  const cached = []
  for (let i = 0; i < N; i++) {
    const bytes = fresh()
    const module = await cidOf(bytes)
    const request = { module, bytes, func: 'run', args: [5], limits: { fuel: 100_000_000n } }
    let t0 = performance.now()
    await executor.run(request)
    first.push(performance.now() - t0)
    for (let k = 0; k < 5; k++) {
      t0 = performance.now()
      await executor.run(request)
      cached.push(performance.now() - t0)
    }
  }
  await executor.stop()
  const s = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, summary(v.samples)]))
  const f = summary(first)
  const c = summary(cached)
  results.prep = { bytes: size, ms: s, executorFirstMs: f, executorCachedMs: c }
  const row = (label, x) => [label, x.median, x.p10, x.p90]
  table(`4. Preparing a ${(size / 1000).toFixed(0)} KB core module (${N} samples each, new bytes every sample), ms`, ['step', 'median', 'p10', 'p90'], [
    row('instrument (fuel metering rewrite)', s.instrument),
    row('WebAssembly.compile, unmetered', s.compilePlain),
    row('WebAssembly.compile, metered', s.compileMetered),
    row('readCoreModuleInfo', s.readInfo),
    row('prepareCoreModule, no limits (cold)', s.prepPlain),
    row('prepareCoreModule, fuel (cold)', s.prepMetered),
    row('executor.run, first task of the CID (cold prep + post + instantiate + call)', f),
    row('executor.run, next tasks (cached prep: post + instantiate + call)', c)
  ])
  console.log(`cold metered prep / cached run: ×${(s.prepMetered.median / c.median).toFixed(1)}; metering adds ×${(s.prepMetered.median / s.prepPlain.median).toFixed(2)} to a cold preparation`)
}

// 5. recovery after a timeout
if (want('recovery')) {
  const N = QUICK ? 4 : 10
  const spin = await cidOf(SPIN)
  const add = await cidOf(ADD_ONE)
  const executors = { spare: createWasmExecutor({ size: 1, spare: true }), noSpare: createWasmExecutor({ size: 1, spare: false }) }
  for (const e of Object.values(executors)) {
    await e.start()
    await e.run({ module: add, bytes: ADD_ONE, func: 'add-one', args: [1], limits: {} })
  }
  const normal = { spare: [], noSpare: [] }
  const measure = (name) => async () => {
    const e = executors[name]
    const t0 = performance.now()
    await e.run({ module: add, bytes: ADD_ONE, func: 'add-one', args: [1], limits: {} })
    normal[name].push(performance.now() - t0)
    const err = await e.run({ module: spin, bytes: SPIN, func: 'spin', args: [], limits: { timeMs: 25 } }).then(() => undefined, (x) => x)
    if (err?.name !== 'TimeoutError') throw new Error(`expected a TimeoutError, got ${err}`)
    const t1 = performance.now()
    const out = await e.run({ module: add, bytes: ADD_ONE, func: 'add-one', args: [41], limits: {} })
    const ms = performance.now() - t1
    if (out.value !== 42) throw new Error('wrong answer after recovery')
    // let the spare refill before the next kill, as it would between rare timeouts
    const deadline = performance.now() + 5000
    while (name === 'spare' && e.stats.spare === 0 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
    return [ms]
  }
  const r = await interleave(N, { spare: measure('spare'), noSpare: measure('noSpare') })
  for (const e of Object.values(executors)) await e.stop()
  const s = { spare: summary(r.spare.samples), noSpare: summary(r.noSpare.samples) }
  results.recovery = { ms: s, normalMs: { spare: summary(normal.spare), noSpare: summary(normal.noSpare) } }
  table(`5. Recovery: a 25 ms timeout kills the only worker; time from the TimeoutError to the next task's result (${N} interleaved samples), ms`, ['pool (size 1)', 'median', 'p10', 'p90', 'normal task median', '× normal'], [
    ['with warm spare', s.spare.median, s.spare.p10, s.spare.p90, median(normal.spare), s.spare.median / median(normal.spare)],
    ['without spare', s.noSpare.median, s.noSpare.p10, s.noSpare.p90, median(normal.noSpare), s.noSpare.median / median(normal.noSpare)]
  ])
  console.log(`the spare saves ×${(s.noSpare.median / s.spare.median).toFixed(1)} on recovery`)
}

console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`)
if (args.includes('--json')) console.log(JSON.stringify(results, (_, v) => typeof v === 'bigint' ? String(v) : v, 2))
