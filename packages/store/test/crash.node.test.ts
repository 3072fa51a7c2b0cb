import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LevelReceiptStore } from '../src/index.js'
import { makeEntry, sizeOf } from './helpers.js'

// The child runs the real store in its own process, built from src with Vite (Node 20 cannot run
// TypeScript); it goes under node_modules/.cache so that `classic-level` resolves from the repo.
const root = fileURLToPath(new URL('../../..', import.meta.url))
const outDir = join(root, 'node_modules', '.cache', `ipvm-store-crash-${process.pid}`)
let child = ''

beforeAll(async () => {
  await mkdir(outDir, { recursive: true })
  const { build } = await import('vite')
  await build({
    configFile: false,
    logLevel: 'silent',
    resolve: { alias: { '@ipvm/core': join(root, 'packages/core/src/index.ts') } },
    ssr: { noExternal: ['@ipvm/core'] },
    build: { ssr: fileURLToPath(new URL('./crash-child.ts', import.meta.url)), outDir, emptyOutDir: true, minify: false }
  })
  child = join(outDir, 'crash-child.js')
})

afterAll(async () => {
  await rm(outDir, { recursive: true, force: true })
})

/** Runs the child until it has acknowledged `count` batches, then SIGKILLs it; resolves the last acknowledged index. */
async function writeThenKill (dir: string, count: number): Promise<number> {
  const proc = spawn(process.execPath, [child, dir], { stdio: ['ignore', 'pipe', 'pipe'] })
  let acked = -1
  let stderr = ''
  proc.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  await new Promise<void>((resolve, reject) => {
    let buffer = ''
    proc.stdout.on('data', (d: Buffer) => {
      buffer += d.toString()
      const lines = buffer.split('\n')
      buffer = lines.pop()!
      for (const line of lines) acked = Number(line)
      if (acked + 1 >= count && proc.exitCode === null) proc.kill('SIGKILL')
    })
    proc.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve()
      else reject(new Error(`child exited with ${code}: ${stderr}`))
    })
  })
  return acked
}

describe('LevelReceiptStore after SIGKILL', () => {
  it('keeps every acknowledged batch, whole, with consistent totals', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ipvm-store-crash-'))
    try {
      let expected = 0
      for (const count of [3, 20, 7]) {
        const acked = await writeThenKill(dir, expected + count)
        expect(acked).toBeGreaterThanOrEqual(expected + count - 1)
        const store = await LevelReceiptStore.open(dir)
        let present = 0
        let bytes = 0
        // Look a few past the last acknowledgement: a batch may have landed without being acknowledged.
        for (let i = 0; i <= acked + 5; i++) {
          const ok = await makeEntry(i, { pad: 2000 })
          const failed = await makeEntry(i, { variant: 1, replayable: false })
          const hasOk = (await store.getByReceiptCid(ok.receiptCid)) !== undefined
          const hasFailed = (await store.getByReceiptCid(failed.receiptCid)) !== undefined
          expect(hasOk).toBe(hasFailed)
          if (i <= acked) expect(hasOk).toBe(true)
          if (hasOk) {
            expect((await store.getByInstruction(ok.instruction))?.receiptCid.equals(ok.receiptCid)).toBe(true)
            present += 2
            bytes += sizeOf(ok) + sizeOf(failed)
          }
        }
        const stats = await store.stats()
        expect(stats.count).toBe(present)
        expect(stats.bytes).toBe(bytes)
        await store.close()
        expected = present / 2
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
