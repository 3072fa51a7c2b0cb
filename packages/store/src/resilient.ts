/**
 * A receipt store that never fails a workflow: a backend that is full (quota), unavailable
 * (IndexedDB blocked, private mode, LevelDB locked) or broken turns reads into misses and writes
 * into no-ops, and says so with a `store:warning` event. A miss only costs a recomputation; a
 * thrown error would cost the workflow.
 */
import { type CID, IpvmError } from '@ipvm/core'
import { classifyBackendError, StoreUnavailableError } from './errors.js'
import type { AbortOptions, EvictOptions, ReceiptStore, ReceiptStoreEvents, ReceiptStoreStats, StoredReceipt, StoredReceiptEntry, StoreWarning } from './interface.js'

function isAbort (err: unknown): boolean {
  return (err as { name?: unknown })?.name === 'AbortError'
}

export interface ResilientStoreOptions {
  /** Called for every warning, in addition to the `store:warning` event. */
  onWarning?: (warning: StoreWarning) => void
}

export class ResilientReceiptStore extends EventTarget implements ReceiptStore {
  private inner: ReceiptStore | undefined
  private readonly ready: Promise<ReceiptStore | undefined>
  private readonly onWarning: ((warning: StoreWarning) => void) | undefined
  /** Stats of the degraded mode: lookups that were misses because the backend failed. */
  private failedLookups = 0
  /** Set once the backend could not be opened: later calls are misses without a warning each. */
  private unavailable: Error | undefined

  constructor (inner: ReceiptStore | Promise<ReceiptStore>, options: ResilientStoreOptions = {}) {
    super()
    this.onWarning = options.onWarning
    this.ready = Promise.resolve(inner).then((store) => {
      this.inner = store
      return store
    }, (err: unknown) => {
      this.unavailable = classifyBackendError(err, 'open')
      this.warn('open', this.unavailable, 'receipts are not stored or found; every lookup is a miss')
      return undefined
    })
  }

  /** Resolves once the backend has opened (or failed to open); true when it is usable. */
  async opened (): Promise<boolean> {
    return (await this.ready) !== undefined
  }

  /** The backend, once opened. */
  get backend (): ReceiptStore | undefined {
    return this.inner
  }

  override addEventListener<K extends keyof ReceiptStoreEvents> (type: K, listener: ((event: ReceiptStoreEvents[K]) => void) | null, options?: boolean | AddEventListenerOptions): void
  override addEventListener (type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void
  override addEventListener (type: string, listener: EventListenerOrEventListenerObject | ((event: CustomEvent<StoreWarning>) => void) | null, options?: boolean | AddEventListenerOptions): void {
    super.addEventListener(type, listener as EventListenerOrEventListenerObject | null, options)
  }

  override removeEventListener<K extends keyof ReceiptStoreEvents> (type: K, listener: ((event: ReceiptStoreEvents[K]) => void) | null, options?: boolean | EventListenerOptions): void
  override removeEventListener (type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void
  override removeEventListener (type: string, listener: EventListenerOrEventListenerObject | ((event: CustomEvent<StoreWarning>) => void) | null, options?: boolean | EventListenerOptions): void {
    super.removeEventListener(type, listener as EventListenerOrEventListenerObject | null, options)
  }

  private warn (operation: string, error: Error, fallback: string): void {
    const warning: StoreWarning = { operation, error, fallback }
    this.onWarning?.(warning)
    this.dispatchEvent(new CustomEvent('store:warning', { detail: warning }))
  }

  /** Runs `fn` on the backend; on failure warns and returns `fallback`. Aborts still reject. */
  private async guard<T> (operation: string, fallbackText: string, fallback: T, fn: (store: ReceiptStore) => Promise<T>): Promise<T> {
    const store = await this.ready
    if (store === undefined) return fallback
    try {
      return await fn(store)
    } catch (err) {
      if (isAbort(err)) throw err
      // Bad input (a receipt CID that does not match its bytes) is the caller's bug, not the
      // backend's: it must not be silenced.
      if (err instanceof IpvmError && !(err instanceof StoreUnavailableError) && err.name !== 'StoreFullError') throw err
      if (err instanceof TypeError && operation === 'put') throw err
      this.warn(operation, classifyBackendError(err, operation), fallbackText)
      return fallback
    }
  }

  async put (entry: StoredReceipt | StoredReceipt[], options?: AbortOptions): Promise<void> {
    await this.guard('put', 'receipts not stored (they will be recomputed when needed)', undefined, async (s) => { await s.put(entry, options) })
  }

  async getByInstruction (instruction: CID, options?: AbortOptions): Promise<StoredReceiptEntry | undefined> {
    const store = await this.ready
    if (store === undefined) this.failedLookups++
    return await this.guard('getByInstruction', 'treated as a miss', undefined, async (s) => {
      try {
        return await s.getByInstruction(instruction, options)
      } catch (err) {
        this.failedLookups++
        throw err
      }
    })
  }

  async getByReceiptCid (receiptCid: CID, options?: AbortOptions): Promise<StoredReceiptEntry | undefined> {
    return await this.guard('getByReceiptCid', 'treated as a miss', undefined, async (s) => await s.getByReceiptCid(receiptCid, options))
  }

  async listByWorkflow (workflow: CID, options?: AbortOptions): Promise<StoredReceiptEntry[]> {
    return await this.guard('listByWorkflow', 'treated as empty', [], async (s) => await s.listByWorkflow(workflow, options))
  }

  async listByArgument (arg: CID, options?: AbortOptions): Promise<StoredReceiptEntry[]> {
    return await this.guard('listByArgument', 'treated as empty', [], async (s) => await s.listByArgument(arg, options))
  }

  async has (instruction: CID, options?: AbortOptions): Promise<boolean> {
    return await this.guard('has', 'treated as a miss', false, async (s) => await s.has(instruction, options))
  }

  async delete (receiptCid: CID, options?: AbortOptions): Promise<boolean> {
    return await this.guard('delete', 'nothing deleted', false, async (s) => await s.delete(receiptCid, options))
  }

  async clear (options?: AbortOptions): Promise<void> {
    await this.guard('clear', 'nothing cleared', undefined, async (s) => { await s.clear(options) })
  }

  /**
   * The backend's stats, with lookups that failed counted as misses. When the backend cannot
   * report, count and bytes are 0.
   */
  async stats (options?: AbortOptions): Promise<ReceiptStoreStats> {
    const empty: ReceiptStoreStats = { hits: 0, misses: 0, count: 0, bytes: 0, evictions: 0 }
    const stats = await this.guard('stats', 'reported as empty', empty, async (s) => await s.stats(options))
    return { ...stats, misses: stats.misses + this.failedLookups }
  }

  async evict (options?: EvictOptions): Promise<number> {
    return await this.guard('evict', 'nothing evicted', 0, async (s) => await s.evict(options))
  }

  async close (): Promise<void> {
    const store = await this.ready
    if (store === undefined) return
    try {
      await store.close()
    } catch (err) {
      this.warn('close', classifyBackendError(err, 'close'), 'ignored')
    }
  }
}

/**
 * Wraps a store (or a store being opened) so that backend failures become misses and
 * `store:warning` events instead of errors.
 */
export function resilientStore (inner: ReceiptStore | Promise<ReceiptStore>, options?: ResilientStoreOptions): ResilientReceiptStore {
  return new ResilientReceiptStore(inner, options)
}
