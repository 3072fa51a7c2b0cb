// Node-only pool behaviour: worker heap limits, and running from compiled JavaScript with no loader.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { createWorkerPool, WorkerCrashedError } from '../src/pool/index.js'
import type { TestJob } from './pool-fixtures/handler.js'
import { ADD, SPIN } from './pool-fixtures/wasm.js'

const handler = new URL('./pool-fixtures/handler.ts', import.meta.url)
const dirs: string[] = []
afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }) })

describe('worker pool (Node)', () => {
  it('a worker that runs out of heap crashes alone and is replaced', async () => {
    const pool = createWorkerPool<TestJob, unknown>({ handler, size: 1, resourceLimits: { maxOldGenerationSizeMb: 24, maxYoungGenerationSizeMb: 8 } })
    try {
      const err = await pool.run({ kind: 'oom' }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(WorkerCrashedError)
      expect(err).toMatchObject({ code: 'ERR_WORKER_CRASHED', details: { reason: 'out-of-memory' } })
      const add = await WebAssembly.compile(ADD)
      expect(await pool.run({ kind: 'call', module: add, export: 'add', args: [3, 4] })).toBe(7)
      expect(pool.stats.replaced).toBe(1)
    } finally {
      await pool.stop()
    }
  })

  it('runs from compiled JavaScript in a plain Node process (no TypeScript, no loader)', async () => {
    const dir = await compiledPool()
    writeFileSync(join(dir, 'main.mjs'), `
      import { createWorkerPool } from './index.js'
      const pool = createWorkerPool({ handler: new URL('./handler.mjs', import.meta.url), size: 2 })
      const bytes = ${JSON.stringify([...ADD])}
      const sums = await Promise.all([1, 2, 3, 4].map((i) => pool.run({ bytes, a: i, b: 10 })))
      const spinBytes = ${JSON.stringify([...SPIN])}
      const timeout = await pool.run({ bytes: spinBytes, spin: true }, { timeoutMs: 50 }).catch((e) => e.code)
      const after = await pool.run({ bytes, a: 20, b: 22 })
      await pool.stop()
      console.log(JSON.stringify({ sums, timeout, after }))
    `)
    const { stdout } = await promisify(execFile)(process.execPath, [join(dir, 'main.mjs')], { cwd: dir, timeout: 30_000 })
    expect(JSON.parse(stdout)).toEqual({ sums: [11, 12, 13, 14], timeout: 'ERR_TIMEOUT', after: 42 })
  })

  it('idle workers do not keep the process alive; busy ones do', async () => {
    const dir = await compiledPool()
    // No stop(): the process must still exit once its work is done, and must not exit while a job
    // (here one that waits on a timer inside the worker) is still running.
    writeFileSync(join(dir, 'forgetful.mjs'), `
      import { createWorkerPool } from './index.js'
      const pool = createWorkerPool({ handler: new URL('./handler.mjs', import.meta.url), size: 1 })
      pool.run({ sleep: 300 }).then((v) => console.log(JSON.stringify({ slept: v })))
    `)
    const { stdout } = await promisify(execFile)(process.execPath, [join(dir, 'forgetful.mjs')], { cwd: dir, timeout: 20_000 })
    expect(JSON.parse(stdout)).toEqual({ slept: 300 })
  })
})

let compiled: Promise<string> | undefined

/**
 * Lays the pool out as `tsc` does in dist/ (one .js per module, same names, so the worker entry is
 * found next to the compiled platform module) together with a plain-JS handler.
 */
async function compiledPool (): Promise<string> {
  compiled ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipvm-pool-dist-'))
    dirs.push(dir)
    const esbuild = await import('esbuild')
    const src = fileURLToPath(new URL('../src/pool/', import.meta.url))
    await esbuild.build({
      entryPoints: ['index', 'platform.node', 'platform.browser', 'worker.node'].map((n) => ({ in: join(src, `${n}.ts`), out: n })),
      outdir: dir,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      mainFields: ['module', 'main'],
      tsconfig: fileURLToPath(new URL('../../../tsconfig.json', import.meta.url)),
      logLevel: 'silent'
    })
    writeFileSync(join(dir, 'handler.mjs'), `
      export async function run (job) {
        if (job.sleep !== undefined) return await new Promise((resolve) => setTimeout(() => resolve(job.sleep), job.sleep))
        const { instance } = await WebAssembly.instantiate(new Uint8Array(job.bytes))
        return job.spin ? instance.exports.spin() : instance.exports.add(job.a, job.b)
      }`)
    return dir
  })()
  return await compiled
}
