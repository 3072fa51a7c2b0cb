/**
 * The receipt store on disk, for Node: LevelDB through classic-level.
 *
 * Why LevelDB: it is an embedded store (no server, one directory), crash-safe (every write goes to
 * a write-ahead log first, so a killed process loses at most unsynced writes, and we sync every
 * receipt write), has atomic multi-key batches (a receipt and all its index keys land together or
 * not at all), and classic-level ships prebuilt binaries inside the npm package (no compiler at
 * install). The same engine backs Helia's on-disk blockstore (blockstore-level), so a node has one
 * storage engine for receipts and blocks. SQLite would do too, but node:sqlite is not in Node 20 and
 * the alternatives need a native build.
 *
 * Key layout (utf8 keys; `!` never occurs in a CID string, so prefixes cannot collide):
 * - `r!<receipt CID>`                    → DAG-CBOR record {i, w?, a, f?, r, s, t, b} (see `LevelRecord`)
 * - `i!<instruction CID>!<receipt CID>`  → empty (instruction index)
 * - `w!<workflow CID>!<receipt CID>`     → empty (workflow index)
 * - `g!<argument CID>!<receipt CID>`     → empty (argument index, one key per argument)
 * - `t!<last access, 16 digits>!<receipt CID>` → empty (LRU order for eviction)
 * - `m!state`                             → DAG-CBOR {bytes, count, seq}: totals kept in the same batches
 */
import { type CID, decode, encode, throwIfAborted } from '@ipvm/core'
import { ClassicLevel } from 'classic-level'
import { StoreUnavailableError } from './errors.js'
import type { AbortOptions, EvictOptions, ReceiptStore, ReceiptStoreInit, ReceiptStoreStats, StoredReceipt, StoredReceiptEntry } from './interface.js'
import { AccessClock, entryFromStored, Mutex, type PreparedEntry, prepareEntries } from './record.js'

/** A stored record; short keys because there is one per receipt. */
interface LevelRecord {
  /** instruction CID */
  i: string
  /** workflow CID */
  w?: string
  /** argument CIDs */
  a: string[]
  /** issuer DIDs the receipt was accepted from (absent in records written before it existed, and for own receipts) */
  f?: string[]
  /** replayable */
  r: boolean
  /** insertion sequence number: the newest replayable receipt answers an instruction */
  s: number
  /** last access (logical clock, ms) */
  t: number
  /** receipt bytes */
  b: Uint8Array
}

interface LevelState {
  bytes: number
  count: number
  seq: number
}

type Op = { type: 'put', key: string, value: Uint8Array } | { type: 'del', key: string }

const EMPTY = new Uint8Array(0)
const STATE_KEY = 'm!state'

function accessKey (t: number, key: string): string {
  return `t!${t.toString().padStart(16, '0')}!${key}`
}

/** Range options for every key under `prefix` (`"` sorts right after `!`). */
function under (prefix: string): { gte: string, lt: string } {
  return { gte: `${prefix}!`, lt: `${prefix}"` }
}

function toPrepared (key: string, record: LevelRecord): PreparedEntry {
  const prepared: PreparedEntry = { key, instruction: record.i, args: record.a, replayable: record.r, bytes: record.b }
  if (record.w !== undefined) prepared.workflow = record.w
  if (record.f !== undefined) prepared.acceptedFrom = record.f
  return prepared
}

export interface LevelReceiptStoreInit extends ReceiptStoreInit {
  /** Write receipts with `sync: true` (fsync before `put` resolves). Default true. */
  sync?: boolean
}

export class LevelReceiptStore implements ReceiptStore {
  private readonly mutex = new Mutex()
  private readonly clock = new AccessClock()
  private readonly maxBytes: number | undefined
  private readonly sync: boolean
  private state: LevelState = { bytes: 0, count: 0, seq: 0 }
  private hits = 0
  private misses = 0
  private evictions = 0

  private constructor (private readonly db: ClassicLevel<string, Uint8Array>, init: LevelReceiptStoreInit) {
    this.maxBytes = init.maxBytes
    this.sync = init.sync ?? true
  }

  /**
   * Opens (creating if needed) the store in directory `location`. Rejects with
   * {@link StoreUnavailableError} when the directory is locked by another open store or unusable.
   */
  static async open (location: string, init: LevelReceiptStoreInit = {}): Promise<LevelReceiptStore> {
    const db = new ClassicLevel<string, Uint8Array>(location, { keyEncoding: 'utf8', valueEncoding: 'view' })
    try {
      await db.open()
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause
      throw new StoreUnavailableError(`cannot open receipt store at ${location}: ${(cause as Error | undefined)?.message ?? (err as Error).message}`,
        { location, backendError: cause?.code ?? (err as { code?: string }).code }, { cause: err })
    }
    const store = new LevelReceiptStore(db, init)
    const state = await db.get(STATE_KEY)
    if (state !== undefined) store.state = decode<LevelState>(state)
    // The clock resumes after the newest access on disk, so LRU order survives a reopen.
    for await (const key of db.keys({ ...under('t'), reverse: true, limit: 1 })) {
      store.clock.observe(Number(key.split('!')[1]))
    }
    return store
  }

  private async record (key: string): Promise<LevelRecord | undefined> {
    const value = await this.db.get(`r!${key}`)
    return value === undefined ? undefined : decode<LevelRecord>(value)
  }

  private removeOps (key: string, record: LevelRecord, ops: Op[]): void {
    ops.push({ type: 'del', key: `r!${key}` }, { type: 'del', key: `i!${record.i}!${key}` }, { type: 'del', key: accessKey(record.t, key) })
    if (record.w !== undefined) ops.push({ type: 'del', key: `w!${record.w}!${key}` })
    for (const arg of record.a) ops.push({ type: 'del', key: `g!${arg}!${key}` })
  }

  /** Adds deletions of least recently used records to `ops` until `bytes` fits `budget`. */
  private async evictOps (budget: number, state: LevelState, keep: Set<string>, ops: Op[]): Promise<number> {
    let removed = 0
    if (state.bytes <= budget) return 0
    for await (const tkey of this.db.keys(under('t'))) {
      if (state.bytes <= budget) break
      const key = tkey.slice(tkey.lastIndexOf('!') + 1)
      if (keep.has(key)) continue
      const record = await this.record(key)
      if (record === undefined) continue
      this.removeOps(key, record, ops)
      state.bytes -= record.b.byteLength
      state.count--
      removed++
    }
    return removed
  }

  private async commit (ops: Op[], state: LevelState, sync: boolean): Promise<void> {
    ops.push({ type: 'put', key: STATE_KEY, value: encode(state) })
    await this.db.batch(ops, { sync })
    this.state = state
  }

  async put (entry: StoredReceipt | StoredReceipt[], options?: AbortOptions): Promise<void> {
    const prepared = await prepareEntries(entry, options)
    await this.mutex.run(async () => {
      throwIfAborted(options?.signal)
      const state = { ...this.state }
      const ops: Op[] = []
      for (const p of prepared) {
        const existing = await this.record(p.key)
        if (existing !== undefined) {
          this.removeOps(p.key, existing, ops)
          state.bytes -= existing.b.byteLength
          state.count--
        }
        const record: LevelRecord = { i: p.instruction, a: p.args, r: p.replayable, s: ++state.seq, t: this.clock.next(), b: p.bytes }
        if (p.workflow !== undefined) record.w = p.workflow
        if (p.acceptedFrom !== undefined) record.f = p.acceptedFrom
        ops.push({ type: 'put', key: `r!${p.key}`, value: encode(record) },
          { type: 'put', key: `i!${p.instruction}!${p.key}`, value: EMPTY },
          { type: 'put', key: accessKey(record.t, p.key), value: EMPTY })
        if (p.workflow !== undefined) ops.push({ type: 'put', key: `w!${p.workflow}!${p.key}`, value: EMPTY })
        for (const arg of p.args) ops.push({ type: 'put', key: `g!${arg}!${p.key}`, value: EMPTY })
        state.bytes += p.bytes.byteLength
        state.count++
      }
      let evicted = 0
      if (this.maxBytes !== undefined) evicted = await this.evictOps(this.maxBytes, state, new Set(prepared.map((p) => p.key)), ops)
      throwIfAborted(options?.signal)
      // One batch: the receipts, their index keys, evictions and totals are atomic; `sync` makes
      // LevelDB fsync its log before resolving, which is what "durable before dependents start" needs.
      await this.commit(ops, state, this.sync)
      this.evictions += evicted
    })
  }

  /** Records a read for LRU. Not synced: losing an access time in a crash only perturbs eviction order. */
  private async touch (key: string): Promise<void> {
    await this.mutex.run(async () => {
      const record = await this.record(key)
      if (record === undefined) return
      const ops: Op[] = [{ type: 'del', key: accessKey(record.t, key) }]
      record.t = this.clock.next()
      ops.push({ type: 'put', key: accessKey(record.t, key), value: EMPTY }, { type: 'put', key: `r!${key}`, value: encode(record) })
      await this.db.batch(ops)
    })
  }

  private async replayableFor (instruction: CID): Promise<{ key: string, record: LevelRecord } | undefined> {
    const prefix = `i!${instruction.toString()}`
    let best: { key: string, record: LevelRecord } | undefined
    for await (const ikey of this.db.keys(under(prefix))) {
      const key = ikey.slice(prefix.length + 1)
      const record = await this.record(key)
      if (record?.r === true && (best === undefined || record.s > best.record.s)) best = { key, record }
    }
    return best
  }

  async getByInstruction (instruction: CID, options?: AbortOptions): Promise<StoredReceiptEntry | undefined> {
    throwIfAborted(options?.signal)
    const found = await this.replayableFor(instruction)
    if (found === undefined) {
      this.misses++
      return undefined
    }
    this.hits++
    await this.touch(found.key)
    return entryFromStored(toPrepared(found.key, found.record))
  }

  async getByReceiptCid (receiptCid: CID, options?: AbortOptions): Promise<StoredReceiptEntry | undefined> {
    throwIfAborted(options?.signal)
    const key = receiptCid.toString()
    const record = await this.record(key)
    if (record === undefined) return undefined
    await this.touch(key)
    return entryFromStored(toPrepared(key, record))
  }

  private async list (prefix: string, options?: AbortOptions): Promise<StoredReceiptEntry[]> {
    throwIfAborted(options?.signal)
    const out: StoredReceiptEntry[] = []
    for await (const ikey of this.db.keys(under(prefix))) {
      throwIfAborted(options?.signal)
      const key = ikey.slice(prefix.length + 1)
      const record = await this.record(key)
      if (record !== undefined) out.push(entryFromStored(toPrepared(key, record)))
    }
    return out
  }

  async listByWorkflow (workflow: CID, options?: AbortOptions): Promise<StoredReceiptEntry[]> {
    return await this.list(`w!${workflow.toString()}`, options)
  }

  async listByArgument (arg: CID, options?: AbortOptions): Promise<StoredReceiptEntry[]> {
    return await this.list(`g!${arg.toString()}`, options)
  }

  async has (instruction: CID, options?: AbortOptions): Promise<boolean> {
    throwIfAborted(options?.signal)
    return (await this.replayableFor(instruction)) !== undefined
  }

  async delete (receiptCid: CID, options?: AbortOptions): Promise<boolean> {
    throwIfAborted(options?.signal)
    return await this.mutex.run(async () => {
      const key = receiptCid.toString()
      const record = await this.record(key)
      if (record === undefined) return false
      const ops: Op[] = []
      this.removeOps(key, record, ops)
      await this.commit(ops, { ...this.state, bytes: this.state.bytes - record.b.byteLength, count: this.state.count - 1 }, this.sync)
      return true
    })
  }

  async clear (options?: AbortOptions): Promise<void> {
    throwIfAborted(options?.signal)
    await this.mutex.run(async () => {
      // A batch rather than db.clear(): the totals must be reset in the same atomic write.
      const ops: Op[] = []
      for await (const key of this.db.keys()) ops.push({ type: 'del', key })
      await this.commit(ops, { bytes: 0, count: 0, seq: this.state.seq }, this.sync)
    })
  }

  async stats (options?: AbortOptions): Promise<ReceiptStoreStats> {
    throwIfAborted(options?.signal)
    if (this.db.status !== 'open') throw new StoreUnavailableError(`receipt store is ${this.db.status}`)
    const stats: ReceiptStoreStats = { hits: this.hits, misses: this.misses, count: this.state.count, bytes: this.state.bytes, evictions: this.evictions }
    if (this.maxBytes !== undefined) stats.maxBytes = this.maxBytes
    return stats
  }

  async evict (options?: EvictOptions): Promise<number> {
    throwIfAborted(options?.signal)
    const budget = options?.maxBytes ?? this.maxBytes
    if (budget === undefined) return 0
    return await this.mutex.run(async () => {
      const state = { ...this.state }
      const ops: Op[] = []
      const removed = await this.evictOps(budget, state, new Set(), ops)
      if (removed > 0) await this.commit(ops, state, this.sync)
      this.evictions += removed
      return removed
    })
  }

  async close (): Promise<void> {
    await this.mutex.run(async () => { await this.db.close() })
  }
}
