// Browser side of bench/pool.browser.bench.mjs: same measures as bench/pool.bench.mjs, in a
// production Vite build, reported through window.__results.
import * as Comlink from 'comlink'
import { createWorkerPool } from '../../packages/wasm/src/pool/index.js'

const ADD = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 7, 1, 96, 2, 127, 127, 1, 127, 3, 2, 1, 0, 7, 7, 1, 3, 97, 100, 100, 0, 0, 10, 9, 1, 7, 0, 32, 0, 32, 1, 106, 11])
const SPIN = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 7, 8, 1, 4, 115, 112, 105, 110, 0, 0, 10, 9, 1, 7, 0, 3, 64, 12, 0, 11, 11])

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const p90 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)]!
const stat = (xs: number[]): { median: number, p90: number } => ({ median: median(xs), p90: p90(xs) })

async function timeEach (n: number, warm: number, fn: (i: number) => Promise<void>): Promise<number[]> {
  for (let i = 0; i < warm; i++) await fn(i)
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    await fn(i)
    out.push((performance.now() - t0) * 1000)
  }
  return out
}

async function main (): Promise<Record<string, unknown>> {
  const add = await WebAssembly.compile(ADD)
  const spin = await WebAssembly.compile(SPIN)
  const results: Record<string, unknown> = { hardwareConcurrency: navigator.hardwareConcurrency, crossOriginIsolated }
  const N = 2000
  const WARM = 200

  const bare = new Worker(new URL('./bare-worker.ts', import.meta.url), { type: 'module' })
  const remote = Comlink.wrap<{ init: (m: WebAssembly.Module) => Promise<void>, add: (a: number, b: number) => number }>(bare)
  await remote.init(add)
  results['bareComlinkUs'] = stat(await timeEach(N, WARM, async (i) => { if (await remote.add(i, 1) !== i + 1) throw new Error('bad') }))
  bare.terminate()

  const createWorker = (): Worker => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' })
  {
    const pool = createWorkerPool({ createWorker, handlerOptions: { module: add }, size: 1, spare: false })
    await pool.start()
    results['poolTinyJobUs'] = stat(await timeEach(N, WARM, async (i) => { if (await pool.run({ kind: 'add', a: i, b: 1 }) !== i + 1) throw new Error('bad') }))
    await pool.stop()
  }
  {
    const times: number[] = []
    for (let i = 0; i < 10; i++) {
      const pool = createWorkerPool({ createWorker, handlerOptions: { module: add }, size: 1, spare: false })
      const t0 = performance.now()
      await pool.start()
      times.push(performance.now() - t0)
      await pool.stop()
    }
    results['coldStartMs'] = stat(times)
  }
  for (const spare of [true, false]) {
    const pool = createWorkerPool({ createWorker, handlerOptions: { module: add }, size: 1, spare })
    await pool.start()
    const times: number[] = []
    for (let i = 0; i < 15; i++) {
      await pool.run({ kind: 'spin', module: spin }, { timeoutMs: 20 }).catch((err: { code?: string }) => { if (err.code !== 'ERR_TIMEOUT') throw err })
      const t0 = performance.now()
      await pool.run({ kind: 'add', a: 1, b: 2 })
      times.push(performance.now() - t0)
      while (spare && pool.stats.spare === 0) await new Promise((resolve) => setTimeout(resolve, 5))
    }
    results[spare ? 'recoveryWithSpareMs' : 'recoveryWithoutSpareMs'] = stat(times)
    await pool.stop()
  }
  return results
}

main().then((r) => {
  (window as unknown as { __results: unknown }).__results = r
  document.querySelector('#out')!.textContent = JSON.stringify(r, null, 2)
}, (err: unknown) => {
  (window as unknown as { __results: unknown }).__results = { error: String(err) }
})
