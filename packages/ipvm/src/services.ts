/**
 * The runtime's view of its storage: content (module and argument bytes, large outputs), the memo
 * (instruction CID → replayable receipt, in memory then in the store) and a batching receipt writer
 * that makes every receipt durable before the task's dependents start.
 */
import type { CID, Receipt, Task } from '@ipvm/core'
import type { ReceiptStore, StoredReceipt } from '@ipvm/store'
import { acceptedUnder } from './sharing.js'

export interface AbortOptions {
  signal?: AbortSignal
}

/** Content by CID: modules, inputs, large outputs. */
export interface ContentStore {
  /** The bytes a CID names (raw or UnixFS), checked against the CID; throws ContentNotFoundError. */
  get: (cid: CID, options?: AbortOptions) => Promise<Uint8Array>
  /** Stores bytes as one raw block; returns its CID. */
  put: (bytes: Uint8Array, options?: AbortOptions) => Promise<CID>
}

/** Signs receipts as this node (sets `iss` and `sig`). */
export interface ReceiptSigner {
  readonly did: string
  sign: (receipt: Receipt) => Promise<Receipt>
}

/** A memoized answer and where it was found. */
export interface StoredAnswer {
  receipt: Receipt
  receiptCid: CID
  where: 'memory' | 'store' | 'peer'
  /** The peer it came from, when `where` is `peer`. */
  peer?: string
  /**
   * For a receipt accepted from the network (now or when it was stored): the issuers whose agreeing
   * receipts made this node accept it. Absent for this node's receipts and delegated providers'.
   */
  acceptedFrom?: string[]
}

/** Options of a memo lookup: with the task, a lookup may go to the network (see sharing.ts). */
export interface MemoGetOptions extends AbortOptions {
  task?: Task
  /** The run's verification policy, when it has its own (see `VerificationPolicy`). */
  policy?: import('./sharing.js').VerificationPolicy
  /** The task's workflow: stored with a receipt found on the network. */
  workflow?: CID
}

export interface MemoCache {
  get: (instruction: CID, options?: MemoGetOptions) => Promise<StoredAnswer | undefined>
}

export interface ReceiptSink {
  /** Resolves once the receipt is durable. */
  write: (entry: StoredReceipt) => Promise<void>
}

/** Warnings the storage layer reports instead of failing a workflow. */
export type WarningListener = (operation: string, error: unknown) => void

/**
 * Memo lookups in memory (an LRU of recent replayable receipts), then in the store. A store that
 * fails degrades to a miss with a warning: storage never fails a workflow.
 */
export class Memo implements MemoCache {
  private readonly recent = new Map<string, { receipt: Receipt, receiptCid: CID, acceptedFrom?: string[] }>()

  constructor (private readonly store: ReceiptStore, private readonly capacity = 4096, private readonly warn: WarningListener = () => {}) {}

  remember (instruction: CID, receipt: Receipt, receiptCid: CID, acceptedFrom?: string[]): void {
    const key = instruction.toString()
    this.recent.delete(key)
    this.recent.set(key, { receipt, receiptCid, ...(acceptedFrom === undefined ? {} : { acceptedFrom }) })
    if (this.recent.size > this.capacity) this.recent.delete(this.recent.keys().next().value!)
  }

  forget (): void {
    this.recent.clear()
  }

  async get (instruction: CID, options: AbortOptions = {}): Promise<StoredAnswer | undefined> {
    const key = instruction.toString()
    const hot = this.recent.get(key)
    if (hot !== undefined) {
      this.recent.delete(key)
      this.recent.set(key, hot)
      return { ...hot, where: 'memory' }
    }
    try {
      const stored = await this.store.getByInstruction(instruction, options)
      if (stored === undefined) return undefined
      this.remember(instruction, stored.receipt, stored.receiptCid, stored.acceptedFrom)
      return { receipt: stored.receipt, receiptCid: stored.receiptCid, where: 'store', ...(stored.acceptedFrom === undefined ? {} : { acceptedFrom: stored.acceptedFrom }) }
    } catch (err) {
      options.signal?.throwIfAborted()
      this.warn('getByInstruction', err)
      return undefined
    }
  }
}

/**
 * Group commit: receipts finished while a write is in flight go into the next batch, so many small
 * tasks cost few durable writes, and each `write` resolves only when its batch is durable.
 */
export class BatchingReceiptWriter implements ReceiptSink {
  private pending: Array<{ entry: StoredReceipt, resolve: () => void }> = []
  private flushing: Promise<void> | undefined
  private scheduled = false

  constructor (private readonly store: ReceiptStore, private readonly memo: Memo, private readonly warn: WarningListener = () => {}) {}

  async write (entry: StoredReceipt): Promise<void> {
    await new Promise<void>((resolve) => {
      this.pending.push({ entry, resolve })
      this.schedule()
    })
  }

  private schedule (): void {
    if (this.scheduled) return
    this.scheduled = true
    // Let the receipts that finish in this turn join the batch, then write after the one in flight.
    queueMicrotask(() => {
      const previous = this.flushing ?? Promise.resolve()
      this.flushing = previous.then(async () => { await this.flush() })
    })
  }

  private async flush (): Promise<void> {
    this.scheduled = false
    const batch = this.pending
    this.pending = []
    if (batch.length === 0) return
    try {
      await this.store.put(batch.map((b) => b.entry))
    } catch (err) {
      this.warn('put', err)
    }
    for (const { entry, resolve } of batch) {
      if (entry.replayable) this.memo.remember(entry.instruction, entry.receipt, entry.receiptCid, entry.acceptedFrom)
      resolve()
    }
  }

  /** Resolves when everything written so far is durable. */
  async idle (): Promise<void> {
    for (;;) {
      await Promise.resolve() // let a scheduled flush chain itself first
      const current = this.flushing
      await current
      if (current === this.flushing && !this.scheduled && this.pending.length === 0) return
    }
  }
}

/**
 * The memo with the network step: memory, the store, then peers and the DHT (per the verification
 * policy, within a deadline learned from the function's run time). A stored receipt this node signed
 * always answers; one a provider it delegated to signed answers except under `'own'`; one accepted
 * from the network answers only if the effective policy accepts its `acceptedFrom` issuers — if not,
 * it is seeded as one candidate of the network lookup (so `{ confirmations: 2 }` needs one more peer).
 */
export class NetworkMemo implements MemoCache {
  constructor (
    private readonly memo: MemoCache,
    private readonly sharing: import('./sharing.js').ReceiptSharing,
    private readonly sink: ReceiptSink,
    private readonly estimates: import('./placement.js').RunTimeEstimates | undefined,
    private readonly ownDid: string | undefined
  ) {}

  async get (instruction: CID, options: MemoGetOptions = {}): Promise<StoredAnswer | undefined> {
    const policy = options.policy ?? this.sharing.policy
    const local = await this.memo.get(instruction, options)
    let seed: { receipt: Receipt, iss: string } | undefined
    if (local !== undefined) {
      const iss = local.receipt.iss
      if (typeof iss !== 'string' || iss === this.ownDid) return local
      if (local.acceptedFrom === undefined) {
        if (policy !== 'own') return local // a provider's receipt this node delegated to
      } else if (acceptedUnder(policy, local.acceptedFrom, this.ownDid)) {
        return local
      } else if (policy !== 'own') {
        seed = { receipt: local.receipt, iss }
      }
    }
    if (options.task === undefined) return undefined
    // Verified when it was accepted: it counts as its issuer's candidate without being checked again.
    if (seed !== undefined) this.sharing.seed(instruction, seed.receipt, seed.iss)
    const func = typeof options.task.run.input.func === 'string' ? options.task.run.input.func : undefined
    try {
      return await this.sharing.lookup(instruction, {
        task: options.task,
        policy,
        deadlineMs: this.sharing.deadline(this.estimates, func),
        sink: this.sink,
        ...(options.workflow === undefined ? {} : { workflow: options.workflow }),
        ...(options.signal === undefined ? {} : { signal: options.signal })
      })
    } catch {
      options.signal?.throwIfAborted()
      return undefined
    }
  }
}
