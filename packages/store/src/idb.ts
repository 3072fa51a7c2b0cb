/**
 * The receipt store in browsers: IndexedDB through idb. Pure JavaScript, so it also loads in Node
 * (where it needs an `indexedDB` global, e.g. fake-indexeddb).
 *
 * Schema (version 1):
 * - object store `receipts`, keyPath `key` (receipt CID string), value {@link IdbRecord}; indexes
 *   `instruction`, `workflow`, `args` (multiEntry: one index entry per argument CID) and `access`
 *   (last access, for LRU eviction).
 * - object store `meta`: `state` → {bytes, count, seq}, updated in the same transaction as every
 *   write, because several tabs may share the database (totals cannot live in one tab's memory).
 */
import { type CID, AbortError, throwIfAborted } from '@ipvm/core'
import { type DBSchema, type IDBPDatabase, type IDBPObjectStore, type IDBPTransaction, openDB } from 'idb'
import { StoreUnavailableError } from './errors.js'
import type { AbortOptions, EvictOptions, ReceiptStore, ReceiptStoreInit, ReceiptStoreStats, StoredReceipt, StoredReceiptEntry } from './interface.js'
import { AccessClock, entryFromStored, type PreparedEntry, prepareEntries } from './record.js'

interface IdbRecord {
  key: string
  instruction: string
  workflow?: string
  args: string[]
  /** Issuer DIDs the receipt was accepted from; absent for own receipts (and in records written before it existed). */
  acceptedFrom?: string[]
  /** 1 or 0: booleans are not valid IndexedDB keys, numbers are (should an index ever need it). */
  replayable: 0 | 1
  seq: number
  access: number
  bytes: Uint8Array
}

interface IdbState {
  bytes: number
  count: number
  seq: number
}

interface ReceiptDB extends DBSchema {
  receipts: {
    key: string
    value: IdbRecord
    indexes: { instruction: string, workflow: string, args: string, access: number }
  }
  meta: {
    key: string
    value: IdbState
  }
}

type WriteTx = IDBPTransaction<ReceiptDB, Array<'receipts' | 'meta'>, 'readwrite'>
type ReadStore = IDBPObjectStore<ReceiptDB, ['receipts'], 'receipts', 'readonly'>

const VERSION = 1

function toPrepared (record: IdbRecord): PreparedEntry {
  const prepared: PreparedEntry = { key: record.key, instruction: record.instruction, args: record.args, replayable: record.replayable === 1, bytes: record.bytes }
  if (record.workflow !== undefined) prepared.workflow = record.workflow
  if (record.acceptedFrom !== undefined) prepared.acceptedFrom = record.acceptedFrom
  return prepared
}

export interface IdbReceiptStoreInit extends ReceiptStoreInit {
  /** Transaction durability for receipt writes. Default `strict`: `put` resolves after the data is flushed. */
  durability?: IDBTransactionDurability
}

export class IdbReceiptStore implements ReceiptStore {
  private readonly clock = new AccessClock()
  private readonly maxBytes: number | undefined
  private readonly durability: IDBTransactionDurability
  private hits = 0
  private misses = 0
  private evictions = 0
  /** Why the connection is gone, when another party closed it (deleteDatabase, upgrade, browser). */
  private lostReason: string | undefined

  private constructor (private readonly db: IDBPDatabase<ReceiptDB>, readonly name: string, init: IdbReceiptStoreInit) {
    this.maxBytes = init.maxBytes
    this.durability = init.durability ?? 'strict'
  }

  /**
   * Opens (creating if needed) the database `name`. Rejects with {@link StoreUnavailableError} when
   * IndexedDB is missing, refuses (private mode in some browsers), or the open is blocked by another
   * connection holding an older version.
   */
  static async open (name = 'ipvm-receipts', init: IdbReceiptStoreInit = {}): Promise<IdbReceiptStore> {
    if (typeof indexedDB === 'undefined') throw new StoreUnavailableError('IndexedDB is not available here', { name })
    let store: IdbReceiptStore | undefined
    let gaveUp = false
    const db = await new Promise<IDBPDatabase<ReceiptDB>>((resolve, reject) => {
      openDB<ReceiptDB>(name, VERSION, {
        upgrade (db) {
          const receipts = db.createObjectStore('receipts', { keyPath: 'key' })
          receipts.createIndex('instruction', 'instruction')
          receipts.createIndex('workflow', 'workflow')
          receipts.createIndex('args', 'args', { multiEntry: true })
          receipts.createIndex('access', 'access')
          db.createObjectStore('meta')
        },
        // Waiting forever on another tab would stall the workflow: fail, and let the caller degrade.
        blocked () {
          gaveUp = true
          reject(new StoreUnavailableError(`opening IndexedDB database ${name} is blocked by another connection`, { name }))
        },
        // Someone deletes or upgrades the database: step aside rather than block them.
        blocking () {
          if (store !== undefined) store.lost('the database is being deleted or upgraded by another connection')
          db.close()
        },
        terminated () {
          store?.lost('the browser closed the database connection')
        }
      }).then((db) => {
        // The open may still succeed after we gave up on it: do not leak that connection.
        if (gaveUp) db.close()
        else resolve(db)
      }, (err: unknown) => {
        reject(new StoreUnavailableError(`cannot open IndexedDB database ${name}: ${(err as Error).message}`, { name }, { cause: err }))
      })
    })
    store = new IdbReceiptStore(db, name, init)
    const last = await db.transaction('receipts').store.index('access').openCursor(null, 'prev')
    if (last !== null) store.clock.observe(last.value.access)
    return store
  }

  private lost (reason: string): void {
    this.lostReason ??= reason
  }

  private check (options?: AbortOptions): void {
    throwIfAborted(options?.signal)
    if (this.lostReason !== undefined) throw new StoreUnavailableError(`IndexedDB database ${this.name} is closed: ${this.lostReason}`, { name: this.name })
  }

  /**
   * Runs `fn` in one readwrite transaction over both stores; aborting `signal` aborts the
   * transaction, so nothing of it is written.
   */
  private async write<T> (durability: IDBTransactionDurability, options: AbortOptions | undefined, fn: (tx: WriteTx) => Promise<T>): Promise<T> {
    this.check(options)
    const tx = this.db.transaction(['receipts', 'meta'], 'readwrite', { durability })
    // `done` rejects when the transaction aborts; it is awaited below on success, and must not
    // surface as an unhandled rejection on the failure path.
    tx.done.catch(() => undefined)
    const signal = options?.signal
    const onAbort = (): void => { try { tx.abort() } catch {} }
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      const result = await fn(tx)
      await tx.done
      return result
    } catch (err) {
      // Make sure a failure inside `fn` does not leave half a batch to autocommit.
      try { tx.abort() } catch {}
      if (signal?.aborted === true) throw new AbortError()
      throw err
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
  }

  private async state (tx: WriteTx): Promise<IdbState> {
    return (await tx.objectStore('meta').get('state')) ?? { bytes: 0, count: 0, seq: 0 }
  }

  private async removeRecord (tx: WriteTx, key: string, state: IdbState): Promise<boolean> {
    const store = tx.objectStore('receipts')
    const existing = await store.get(key)
    if (existing === undefined) return false
    await store.delete(key)
    state.bytes -= existing.bytes.byteLength
    state.count--
    return true
  }

  private async evictIn (tx: WriteTx, budget: number, state: IdbState, keep: Set<string>): Promise<number> {
    let removed = 0
    if (state.bytes <= budget) return 0
    let cursor = await tx.objectStore('receipts').index('access').openCursor()
    while (cursor !== null && state.bytes > budget) {
      if (!keep.has(cursor.value.key)) {
        state.bytes -= cursor.value.bytes.byteLength
        state.count--
        removed++
        await cursor.delete()
      }
      cursor = await cursor.continue()
    }
    return removed
  }

  async put (entry: StoredReceipt | StoredReceipt[], options?: AbortOptions): Promise<void> {
    const prepared = await prepareEntries(entry, options)
    const evicted = await this.write(this.durability, options, async (tx) => {
      const state = await this.state(tx)
      const store = tx.objectStore('receipts')
      for (const p of prepared) {
        await this.removeRecord(tx, p.key, state)
        const record: IdbRecord = { key: p.key, instruction: p.instruction, args: p.args, replayable: p.replayable ? 1 : 0, seq: ++state.seq, access: this.clock.next(), bytes: p.bytes }
        if (p.workflow !== undefined) record.workflow = p.workflow
        if (p.acceptedFrom !== undefined) record.acceptedFrom = p.acceptedFrom
        await store.put(record)
        state.bytes += p.bytes.byteLength
        state.count++
      }
      const removed = this.maxBytes === undefined ? 0 : await this.evictIn(tx, this.maxBytes, state, new Set(prepared.map((p) => p.key)))
      await tx.objectStore('meta').put(state, 'state')
      return removed
    })
    this.evictions += evicted
  }

  /**
   * Reads in a readonly transaction (these run in parallel, unlike readwrite ones), then records the
   * access in a separate relaxed readwrite transaction that is not awaited: a hit costs one read.
   * The touch transaction is created before this returns, and IndexedDB runs overlapping readwrite
   * transactions in creation order, so any write issued afterwards sees the new access time.
   */
  private async readThenTouch (options: AbortOptions | undefined, pick: (store: ReadStore) => Promise<IdbRecord | undefined>): Promise<IdbRecord | undefined> {
    this.check(options)
    const record = await pick(this.db.transaction('receipts').store)
    throwIfAborted(options?.signal)
    if (record !== undefined) this.touch(record.key)
    return record
  }

  private touch (key: string): void {
    const access = this.clock.next()
    try {
      const tx = this.db.transaction('receipts', 'readwrite', { durability: 'relaxed' })
      tx.done.catch(() => undefined)
      void (async () => {
        const current = await tx.store.get(key)
        if (current !== undefined && current.access < access) await tx.store.put({ ...current, access })
      })().catch(() => undefined)
    } catch {
      // The connection is closing: the access time is a hint, losing it is harmless.
    }
  }

  private static newestReplayable (records: IdbRecord[]): IdbRecord | undefined {
    let best: IdbRecord | undefined
    for (const record of records) {
      if (record.replayable === 1 && (best === undefined || record.seq > best.seq)) best = record
    }
    return best
  }

  async getByInstruction (instruction: CID, options?: AbortOptions): Promise<StoredReceiptEntry | undefined> {
    const record = await this.readThenTouch(options, async (store) =>
      IdbReceiptStore.newestReplayable(await store.index('instruction').getAll(instruction.toString())))
    if (record === undefined) {
      this.misses++
      return undefined
    }
    this.hits++
    return entryFromStored(toPrepared(record))
  }

  async getByReceiptCid (receiptCid: CID, options?: AbortOptions): Promise<StoredReceiptEntry | undefined> {
    const record = await this.readThenTouch(options, async (store) => await store.get(receiptCid.toString()))
    return record === undefined ? undefined : entryFromStored(toPrepared(record))
  }

  private async list (index: 'workflow' | 'args', cid: CID, options?: AbortOptions): Promise<StoredReceiptEntry[]> {
    this.check(options)
    const records = await this.db.getAllFromIndex('receipts', index, cid.toString())
    throwIfAborted(options?.signal)
    return records.map((record) => entryFromStored(toPrepared(record)))
  }

  async listByWorkflow (workflow: CID, options?: AbortOptions): Promise<StoredReceiptEntry[]> {
    return await this.list('workflow', workflow, options)
  }

  async listByArgument (arg: CID, options?: AbortOptions): Promise<StoredReceiptEntry[]> {
    return await this.list('args', arg, options)
  }

  async has (instruction: CID, options?: AbortOptions): Promise<boolean> {
    this.check(options)
    const records = await this.db.getAllFromIndex('receipts', 'instruction', instruction.toString())
    return IdbReceiptStore.newestReplayable(records) !== undefined
  }

  async delete (receiptCid: CID, options?: AbortOptions): Promise<boolean> {
    return await this.write(this.durability, options, async (tx) => {
      const state = await this.state(tx)
      const removed = await this.removeRecord(tx, receiptCid.toString(), state)
      if (removed) await tx.objectStore('meta').put(state, 'state')
      return removed
    })
  }

  async clear (options?: AbortOptions): Promise<void> {
    await this.write(this.durability, options, async (tx) => {
      const state = await this.state(tx)
      await tx.objectStore('receipts').clear()
      await tx.objectStore('meta').put({ bytes: 0, count: 0, seq: state.seq }, 'state')
    })
  }

  async stats (options?: AbortOptions): Promise<ReceiptStoreStats> {
    this.check(options)
    const state = (await this.db.get('meta', 'state')) ?? { bytes: 0, count: 0, seq: 0 }
    const stats: ReceiptStoreStats = { hits: this.hits, misses: this.misses, count: state.count, bytes: state.bytes, evictions: this.evictions }
    if (this.maxBytes !== undefined) stats.maxBytes = this.maxBytes
    return stats
  }

  async evict (options?: EvictOptions): Promise<number> {
    const budget = options?.maxBytes ?? this.maxBytes
    if (budget === undefined) {
      this.check(options)
      return 0
    }
    const removed = await this.write(this.durability, options, async (tx) => {
      const state = await this.state(tx)
      const n = await this.evictIn(tx, budget, state, new Set())
      if (n > 0) await tx.objectStore('meta').put(state, 'state')
      return n
    })
    this.evictions += removed
    return removed
  }

  async close (): Promise<void> {
    this.lost('the store was closed')
    this.db.close()
  }
}
