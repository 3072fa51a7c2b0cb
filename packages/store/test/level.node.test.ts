import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { afterAll, describe, expect, it } from 'vitest'
import { createBlockstore, createReceiptStore, defaultDataDir, LevelReceiptStore, type StoreWarning } from '../src/index.js'
import { receiptStoreCompliance } from './compliance.js'
import { makeEntry } from './helpers.js'

const dirs: string[] = []
async function tempDir (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ipvm-store-level-'))
  dirs.push(dir)
  return dir
}
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

receiptStoreCompliance('LevelReceiptStore', async (init) => {
  const dir = await tempDir()
  return { store: await LevelReceiptStore.open(dir, init), reopen: async () => await LevelReceiptStore.open(dir, init) }
})

describe('LevelReceiptStore on disk', () => {
  it('writes receipts in synced batches (fsync before put resolves)', async () => {
    const store = await LevelReceiptStore.open(await tempDir())
    const seen: unknown[] = []
    const original = ClassicLevel.prototype.batch
    // Observe (not replace) the batches the store writes.
    ClassicLevel.prototype.batch = function (this: ClassicLevel, ...args: unknown[]) {
      seen.push(args[1])
      return (original as (...a: unknown[]) => unknown).apply(this, args)
    } as typeof original
    try {
      await store.put([await makeEntry(1), await makeEntry(2)])
    } finally {
      ClassicLevel.prototype.batch = original
      await store.close()
    }
    expect(seen).toEqual([{ sync: true }])
  })

  it('refuses a directory another open store holds (LevelDB lock) with StoreUnavailableError', async () => {
    const dir = await tempDir()
    const first = await LevelReceiptStore.open(dir)
    try {
      await expect(LevelReceiptStore.open(dir)).rejects.toMatchObject({ name: 'StoreUnavailableError', code: 'ERR_STORE_UNAVAILABLE' })
    } finally {
      await first.close()
    }
  })

  it('degrades a locked store to misses with a store:warning event', async () => {
    const dir = await tempDir()
    const holder = await LevelReceiptStore.open(dir)
    const entry = await makeEntry(1)
    await holder.put(entry)
    const warnings: StoreWarning[] = []
    const store = createReceiptStore({ location: dir })
    store.addEventListener('store:warning', (event) => { warnings.push(event.detail) })
    expect(await store.opened()).toBe(false)
    expect(await store.getByInstruction(entry.instruction)).toBeUndefined()
    await store.put(await makeEntry(2))
    expect(warnings.map((w) => w.operation)).toEqual(['open'])
    expect(warnings[0]!.error.name).toBe('StoreUnavailableError')
    expect((await store.stats()).misses).toBe(1)
    await store.close()
    await holder.close()
  })

  it('degrades a store whose LevelDB was closed underneath it', async () => {
    const dir = await tempDir()
    const level = await LevelReceiptStore.open(dir)
    const warnings: StoreWarning[] = []
    const { resilientStore } = await import('../src/index.js')
    const store = resilientStore(level, { onWarning: (w) => warnings.push(w) })
    const entry = await makeEntry(1)
    await store.put(entry)
    expect(await store.has(entry.instruction)).toBe(true)
    await level.close()
    expect(await store.getByInstruction(entry.instruction)).toBeUndefined()
    await store.put(await makeEntry(2))
    expect(await store.listByWorkflow(entry.instruction)).toEqual([])
    expect(warnings.map((w) => w.operation)).toEqual(['getByInstruction', 'put', 'listByWorkflow'])
    expect(warnings.every((w) => w.error.name === 'StoreUnavailableError')).toBe(true)
    expect((await store.stats()).misses).toBeGreaterThanOrEqual(1)
  })

  it('defaults to receipts and blocks under $IPVM_HOME', async () => {
    const home = await tempDir()
    const saved = process.env.IPVM_HOME
    process.env.IPVM_HOME = home
    try {
      expect(defaultDataDir()).toBe(home)
      const store = createReceiptStore()
      expect(await store.opened()).toBe(true)
      const entry = await makeEntry(8)
      await store.put(entry)
      await store.close()
      const blocks = await createBlockstore()
      await blocks.close()
      expect((await readdir(home)).sort()).toEqual(['blocks', 'receipts'])
      const again = await LevelReceiptStore.open(join(home, 'receipts'))
      expect(await again.has(entry.instruction)).toBe(true)
      await again.close()
    } finally {
      if (saved === undefined) delete process.env.IPVM_HOME
      else process.env.IPVM_HOME = saved
    }
  })

  it('createReceiptStore keeps receipts on disk across instances', async () => {
    const dir = await tempDir()
    const entry = await makeEntry(4)
    const a = createReceiptStore({ location: dir })
    expect(await a.opened()).toBe(true)
    await a.put(entry)
    await a.close()
    const b = createReceiptStore({ location: dir })
    expect((await b.getByInstruction(entry.instruction))?.receiptCid.equals(entry.receiptCid)).toBe(true)
    await b.close()
  })
})
