import type { CID } from '@ipvm/core'
import { describe, expect, it } from 'vitest'
import { MemoryReceiptStore, type ReceiptStore, resilientStore, type StoredReceipt, type StoreWarning } from '../src/index.js'
import { makeEntry } from './helpers.js'

/**
 * A backend with a byte quota, failing like IndexedDB does when the origin's quota is used up
 * (a DOMException named QuotaExceededError). Quota cannot be exhausted for real in a test, so this
 * wrapper is the one simulated failure here; real failures (closed LevelDB, deleted IndexedDB,
 * locked directory) are in the platform tests.
 */
function withQuota (inner: ReceiptStore, quota: number): ReceiptStore {
  return {
    ...bind(inner),
    async put (entry: StoredReceipt | StoredReceipt[], options) {
      const { bytes } = await inner.stats()
      const list = Array.isArray(entry) ? entry : [entry]
      if (bytes + list.length * 100 > quota) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError')
      await inner.put(entry, options)
    }
  }
}

function bind (store: ReceiptStore): ReceiptStore {
  return {
    put: store.put.bind(store),
    getByInstruction: store.getByInstruction.bind(store),
    getByReceiptCid: store.getByReceiptCid.bind(store),
    listByWorkflow: store.listByWorkflow.bind(store),
    listByArgument: store.listByArgument.bind(store),
    has: store.has.bind(store),
    delete: store.delete.bind(store),
    clear: store.clear.bind(store),
    stats: store.stats.bind(store),
    evict: store.evict.bind(store),
    close: store.close.bind(store)
  }
}

describe('resilientStore', () => {
  it('passes through a working backend without warnings', async () => {
    const warnings: StoreWarning[] = []
    const store = resilientStore(new MemoryReceiptStore(), { onWarning: (w) => warnings.push(w) })
    expect(await store.opened()).toBe(true)
    const entry = await makeEntry(1)
    await store.put(entry)
    expect((await store.getByInstruction(entry.instruction))?.receiptCid.equals(entry.receiptCid)).toBe(true)
    expect(warnings).toEqual([])
  })

  it('turns a full store into a warning, and the lost receipt into a miss', async () => {
    const store = resilientStore(withQuota(new MemoryReceiptStore(), 250))
    const events: CustomEvent<StoreWarning>[] = []
    store.addEventListener('store:warning', (event) => { events.push(event) })
    const [a, b, c] = await Promise.all([1, 2, 3].map(async (n) => await makeEntry(n)))
    await store.put(a!)
    await store.put(b!)
    await expect(store.put(c!)).resolves.toBeUndefined()
    expect(events).toHaveLength(1)
    expect(events[0]!.type).toBe('store:warning')
    expect(events[0]!.detail.operation).toBe('put')
    expect(events[0]!.detail.error.name).toBe('StoreFullError')
    expect(events[0]!.detail.error.cause).toBeInstanceOf(DOMException)
    expect(await store.getByInstruction(c!.instruction)).toBeUndefined()
    expect(await store.has(a!.instruction)).toBe(true)
  })

  it('treats a backend that failed to open as always missing, warning once', async () => {
    const warnings: StoreWarning[] = []
    const store = resilientStore(Promise.reject(new DOMException('The user denied permission to access the database.', 'InvalidStateError')),
      { onWarning: (w) => warnings.push(w) })
    expect(await store.opened()).toBe(false)
    const entry = await makeEntry(1)
    await store.put(entry)
    expect(await store.getByInstruction(entry.instruction)).toBeUndefined()
    expect(await store.getByReceiptCid(entry.receiptCid)).toBeUndefined()
    expect(await store.listByArgument(entry.instruction)).toEqual([])
    expect(await store.has(entry.instruction)).toBe(false)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]!.operation).toBe('open')
    expect(warnings[0]!.error.name).toBe('StoreUnavailableError')
    const stats = await store.stats()
    expect(stats).toMatchObject({ hits: 0, misses: 1, count: 0, bytes: 0 })
    await store.close()
  })

  it('still rejects aborts and bad entries: those are the caller\'s, not the backend\'s', async () => {
    const store = resilientStore(new MemoryReceiptStore())
    const entry = await makeEntry(1)
    await expect(store.put(entry, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' })
    const other = await makeEntry(2)
    await expect(store.put({ ...entry, receiptCid: other.receiptCid })).rejects.toMatchObject({ name: 'ReceiptCidMismatchError' })
    await expect(store.put({ ...entry, instruction: 'not a cid' as unknown as CID })).rejects.toBeInstanceOf(TypeError)
  })
})
