/**
 * The receipt store interface: every implementation (memory, IndexedDB, LevelDB) passes the same
 * compliance suite (`test/compliance.ts`), as js-libp2p's and Helia's interface packages do.
 */
import type { CID, Receipt } from '@ipvm/core'

/** Options every async method accepts. */
export interface AbortOptions {
  signal?: AbortSignal
}

/** One receipt as the store keeps it, with what it is indexed by. */
export interface StoredReceipt {
  receipt: Receipt
  /** CID of `bytes` (checked on `put`). */
  receiptCid: CID
  /** The instruction the receipt answers: the memo key. */
  instruction: CID
  /** The workflow the receipt was produced in, if any. */
  workflow?: CID
  /** CIDs the instruction took as arguments (links and awaited instructions), for reverse lookup. */
  args?: CID[]
  /**
   * For a receipt this node accepted from the network (receipt sharing): the issuer DIDs whose
   * agreeing receipts made it accept this one, so a later lookup can tell whether its own, possibly
   * stricter, verification policy would have accepted it. Absent for receipts this node signed or
   * got from a provider it delegated to.
   */
  acceptedFrom?: string[]
  /**
   * False for limit failures (out of fuel, memory or time): such a receipt is recorded, and can be
   * read by its receipt CID, but is never returned as the instruction's answer.
   */
  replayable: boolean
  /**
   * The receipt's encoded bytes (DAG-CBOR), when it arrived encoded (e.g. from a peer, possibly in
   * Homestar's form). When absent the store encodes `receiptToIpld(receipt)`.
   */
  bytes?: Uint8Array
}

/** An entry as read back: `bytes` always present. */
export interface StoredReceiptEntry extends StoredReceipt {
  bytes: Uint8Array
  args: CID[]
}

export interface ReceiptStoreStats {
  /** `getByInstruction` calls that found a replayable receipt (this instance's lifetime). */
  hits: number
  /** `getByInstruction` calls that found none (this instance's lifetime). */
  misses: number
  /** Receipts held. */
  count: number
  /** Sum of the receipts' encoded sizes. */
  bytes: number
  /** The size budget, if any. */
  maxBytes?: number
  /** Receipts removed by eviction (this instance's lifetime). */
  evictions: number
}

export interface EvictOptions extends AbortOptions {
  /** Evict least recently used receipts until at most this many bytes remain; default the store's `maxBytes`. */
  maxBytes?: number
}

/** Options common to every implementation's constructor / `open`. */
export interface ReceiptStoreInit {
  /**
   * Size budget in bytes of receipt data. After each `put`, least recently used receipts (by last
   * read or write) are evicted until the total fits; entries of the `put` itself are kept, so a batch
   * larger than the budget stays until the next `put` or `evict`. Unlimited by default.
   */
  maxBytes?: number
}

export interface ReceiptStore {
  /**
   * Stores one receipt or a batch, all or nothing. Resolves only once the data is durable
   * (IndexedDB `strict` durability; LevelDB `sync: true`). Storing a receipt CID again refreshes
   * its last access and replaces its index entries.
   */
  put: (entry: StoredReceipt | StoredReceipt[], options?: AbortOptions) => Promise<void>
  /** The most recently stored replayable receipt for an instruction; counts a hit or a miss. */
  getByInstruction: (instruction: CID, options?: AbortOptions) => Promise<StoredReceiptEntry | undefined>
  /** Any receipt (replayable or not) by its own CID. */
  getByReceiptCid: (receiptCid: CID, options?: AbortOptions) => Promise<StoredReceiptEntry | undefined>
  /** Every receipt stored with this workflow CID, in no particular order. */
  listByWorkflow: (workflow: CID, options?: AbortOptions) => Promise<StoredReceiptEntry[]>
  /** Every receipt whose instruction took this CID as an argument (reverse lookup). */
  listByArgument: (arg: CID, options?: AbortOptions) => Promise<StoredReceiptEntry[]>
  /** Whether a replayable receipt exists for an instruction (no hit/miss counted, no access recorded). */
  has: (instruction: CID, options?: AbortOptions) => Promise<boolean>
  /** Removes a receipt by its receipt CID; resolves true when something was removed. */
  delete: (receiptCid: CID, options?: AbortOptions) => Promise<boolean>
  /** Removes every receipt. */
  clear: (options?: AbortOptions) => Promise<void>
  stats: (options?: AbortOptions) => Promise<ReceiptStoreStats>
  /** Evicts least recently used receipts down to a budget; resolves the number removed. */
  evict: (options?: EvictOptions) => Promise<number>
  /** Releases the backend (file lock, database connection). Further calls reject. */
  close: () => Promise<void>
}

/** What a resilient store reports when its backend fails. */
export interface StoreWarning {
  /** The method that failed, e.g. `put`. */
  operation: string
  /** The failure, classified (`StoreFullError`, `StoreUnavailableError`, …). */
  error: Error
  /** What the store did instead, in words (e.g. "treated as a miss"). */
  fallback: string
}

/** Typed events of a resilient store. */
export interface ReceiptStoreEvents {
  'store:warning': CustomEvent<StoreWarning>
}
