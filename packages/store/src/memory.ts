/**
 * A receipt store in memory: the first level of the memo lookup, and the store for tests and for
 * runs that must leave nothing behind. Same semantics as the persistent stores, minus persistence.
 */
import { type CID, throwIfAborted } from '@ipvm/core'
import type { AbortOptions, EvictOptions, ReceiptStore, ReceiptStoreInit, ReceiptStoreStats, StoredReceipt, StoredReceiptEntry } from './interface.js'
import { StoreUnavailableError } from './errors.js'
import { AccessClock, entryFromStored, type PreparedEntry, prepareEntries } from './record.js'

interface MemoryRecord extends PreparedEntry {
  access: number
  seq: number
}

function addTo (index: Map<string, Set<string>>, key: string, value: string): void {
  let set = index.get(key)
  if (set === undefined) {
    set = new Set()
    index.set(key, set)
  }
  set.add(value)
}

function removeFrom (index: Map<string, Set<string>>, key: string, value: string): void {
  const set = index.get(key)
  if (set === undefined) return
  set.delete(value)
  if (set.size === 0) index.delete(key)
}

export class MemoryReceiptStore implements ReceiptStore {
  private readonly records = new Map<string, MemoryRecord>()
  private readonly byInstruction = new Map<string, Set<string>>()
  private readonly byWorkflow = new Map<string, Set<string>>()
  private readonly byArgument = new Map<string, Set<string>>()
  private readonly clock = new AccessClock()
  private readonly maxBytes: number | undefined
  private totalBytes = 0
  private seq = 0
  private hits = 0
  private misses = 0
  private evictions = 0
  private closed = false

  constructor (init: ReceiptStoreInit = {}) {
    this.maxBytes = init.maxBytes
  }

  private check (options?: AbortOptions): void {
    throwIfAborted(options?.signal)
    if (this.closed) throw new StoreUnavailableError('receipt store is closed')
  }

  async put (entry: StoredReceipt | StoredReceipt[], options?: AbortOptions): Promise<void> {
    this.check(options)
    const prepared = await prepareEntries(entry, options)
    this.check(options)
    // Everything was checked above; from here on nothing throws, so the batch is all or nothing.
    for (const p of prepared) {
      this.remove(p.key)
      const record: MemoryRecord = { ...p, access: this.clock.next(), seq: ++this.seq }
      this.records.set(p.key, record)
      this.totalBytes += p.bytes.byteLength
      addTo(this.byInstruction, p.instruction, p.key)
      if (p.workflow !== undefined) addTo(this.byWorkflow, p.workflow, p.key)
      for (const arg of p.args) addTo(this.byArgument, arg, p.key)
    }
    if (this.maxBytes !== undefined) this.evictTo(this.maxBytes, new Set(prepared.map((p) => p.key)))
  }

  private remove (key: string): boolean {
    const record = this.records.get(key)
    if (record === undefined) return false
    this.records.delete(key)
    this.totalBytes -= record.bytes.byteLength
    removeFrom(this.byInstruction, record.instruction, key)
    if (record.workflow !== undefined) removeFrom(this.byWorkflow, record.workflow, key)
    for (const arg of record.args) removeFrom(this.byArgument, arg, key)
    return true
  }

  private evictTo (maxBytes: number, keep: Set<string> = new Set()): number {
    if (this.totalBytes <= maxBytes) return 0
    const order = [...this.records.values()].filter((r) => !keep.has(r.key)).sort((a, b) => a.access - b.access)
    let removed = 0
    for (const record of order) {
      if (this.totalBytes <= maxBytes) break
      this.remove(record.key)
      removed++
    }
    this.evictions += removed
    return removed
  }

  private replayableFor (instruction: CID): MemoryRecord | undefined {
    let best: MemoryRecord | undefined
    for (const key of this.byInstruction.get(instruction.toString()) ?? []) {
      const record = this.records.get(key)
      if (record?.replayable === true && (best === undefined || record.seq > best.seq)) best = record
    }
    return best
  }

  async getByInstruction (instruction: CID, options?: AbortOptions): Promise<StoredReceiptEntry | undefined> {
    this.check(options)
    const record = this.replayableFor(instruction)
    if (record === undefined) {
      this.misses++
      return undefined
    }
    this.hits++
    record.access = this.clock.next()
    return entryFromStored(record)
  }

  async getByReceiptCid (receiptCid: CID, options?: AbortOptions): Promise<StoredReceiptEntry | undefined> {
    this.check(options)
    const record = this.records.get(receiptCid.toString())
    if (record === undefined) return undefined
    record.access = this.clock.next()
    return entryFromStored(record)
  }

  private list (index: Map<string, Set<string>>, cid: CID): StoredReceiptEntry[] {
    const out: StoredReceiptEntry[] = []
    for (const key of index.get(cid.toString()) ?? []) {
      const record = this.records.get(key)
      if (record !== undefined) out.push(entryFromStored(record))
    }
    return out
  }

  async listByWorkflow (workflow: CID, options?: AbortOptions): Promise<StoredReceiptEntry[]> {
    this.check(options)
    return this.list(this.byWorkflow, workflow)
  }

  async listByArgument (arg: CID, options?: AbortOptions): Promise<StoredReceiptEntry[]> {
    this.check(options)
    return this.list(this.byArgument, arg)
  }

  async has (instruction: CID, options?: AbortOptions): Promise<boolean> {
    this.check(options)
    return this.replayableFor(instruction) !== undefined
  }

  async delete (receiptCid: CID, options?: AbortOptions): Promise<boolean> {
    this.check(options)
    return this.remove(receiptCid.toString())
  }

  async clear (options?: AbortOptions): Promise<void> {
    this.check(options)
    for (const key of [...this.records.keys()]) this.remove(key)
  }

  async stats (options?: AbortOptions): Promise<ReceiptStoreStats> {
    this.check(options)
    const stats: ReceiptStoreStats = { hits: this.hits, misses: this.misses, count: this.records.size, bytes: this.totalBytes, evictions: this.evictions }
    if (this.maxBytes !== undefined) stats.maxBytes = this.maxBytes
    return stats
  }

  async evict (options?: EvictOptions): Promise<number> {
    this.check(options)
    const budget = options?.maxBytes ?? this.maxBytes
    return budget === undefined ? 0 : this.evictTo(budget)
  }

  async close (): Promise<void> {
    this.closed = true
  }
}
