import { deleteDB, openDB } from 'idb'
import { afterAll, describe, expect, it } from 'vitest'
import { createReceiptStore, IdbReceiptStore, PLATFORM, resilientStore, type StoreWarning } from '../src/index.js'
import { receiptStoreCompliance } from './compliance.js'
import { makeEntry } from './helpers.js'

// Real IndexedDB in Chromium; every store gets its own database, deleted at the end.
const names: string[] = []
let counter = 0
function dbName (): string {
  const name = `ipvm-store-test-${Date.now()}-${counter++}`
  names.push(name)
  return name
}
afterAll(async () => {
  for (const name of names) await deleteDB(name)
})

receiptStoreCompliance('IdbReceiptStore', async (init) => {
  const name = dbName()
  return { store: await IdbReceiptStore.open(name, init), reopen: async () => await IdbReceiptStore.open(name, init) }
})

describe('IdbReceiptStore in Chromium', () => {
  it('is the browser build of the package', () => {
    expect(PLATFORM).toBe('browser')
  })

  it('writes receipts in strict-durability transactions', async () => {
    const store = await IdbReceiptStore.open(dbName())
    const seen: Array<{ mode: IDBTransactionMode, durability: IDBTransactionDurability }> = []
    const original = IDBDatabase.prototype.transaction
    // Observe (not replace) the transactions the store opens: Chromium reports each one's durability.
    IDBDatabase.prototype.transaction = function (this: IDBDatabase, ...args: Parameters<IDBDatabase['transaction']>) {
      const tx = original.apply(this, args)
      seen.push({ mode: tx.mode, durability: tx.durability })
      return tx
    }
    try {
      await store.put(await makeEntry(1))
    } finally {
      IDBDatabase.prototype.transaction = original
      await store.close()
    }
    const writes = seen.filter((t) => t.mode === 'readwrite')
    expect(writes).toHaveLength(1)
    expect(writes[0]!.durability).toBe('strict')
  })

  it('steps aside when the database is deleted, and a resilient wrapper turns that into misses', async () => {
    const name = dbName()
    const idb = await IdbReceiptStore.open(name)
    const warnings: StoreWarning[] = []
    const store = resilientStore(idb)
    store.addEventListener('store:warning', (event) => { warnings.push(event.detail) })
    const entry = await makeEntry(1)
    await store.put(entry)
    expect(await store.has(entry.instruction)).toBe(true)
    // deleteDatabase would wait forever if the store kept its connection open.
    await deleteDB(name, { blocked: () => { throw new Error('delete blocked by the store') } })
    expect(await store.getByInstruction(entry.instruction)).toBeUndefined()
    await store.put(await makeEntry(2))
    expect(warnings.map((w) => w.operation)).toEqual(['getByInstruction', 'put'])
    expect(warnings[0]!.error.name).toBe('StoreUnavailableError')
    expect((await store.stats()).misses).toBe(1)
  })

  it('reports a database it cannot open (newer version on disk) as unavailable', async () => {
    const name = dbName()
    const newer = await openDB(name, 5)
    newer.close()
    await expect(IdbReceiptStore.open(name)).rejects.toMatchObject({ name: 'StoreUnavailableError' })
    const warnings: StoreWarning[] = []
    const store = createReceiptStore({ location: name, onWarning: (w) => warnings.push(w) })
    expect(await store.opened()).toBe(false)
    expect(await store.getByInstruction((await makeEntry(1)).instruction)).toBeUndefined()
    expect(warnings.map((w) => w.operation)).toEqual(['open'])
  })

  it('createReceiptStore keeps receipts in IndexedDB across instances', async () => {
    const name = dbName()
    const entry = await makeEntry(3)
    const a = createReceiptStore({ location: name })
    expect(await a.opened()).toBe(true)
    await a.put(entry)
    await a.close()
    const b = createReceiptStore({ location: name })
    expect((await b.getByInstruction(entry.instruction))?.receiptCid.equals(entry.receiptCid)).toBe(true)
    await b.close()
  })
})
