/** Options of the per-platform factories; the same shape on every platform. */
import type { Blockstore } from 'interface-blockstore'
import type { ReceiptStoreInit } from './interface.js'
import type { ResilientStoreOptions } from './resilient.js'

export interface CreateReceiptStoreOptions extends ReceiptStoreInit, ResilientStoreOptions {
  /**
   * Where receipts live: a directory in Node (default `<defaultDataDir()>/receipts`), an IndexedDB
   * database name in browsers (default `ipvm-receipts`).
   */
  location?: string
  /** Keep receipts in memory only (tests, throwaway runs). */
  memory?: boolean
}

export interface CreateBlockstoreOptions {
  /**
   * Where blocks live: a directory in Node (default `<defaultDataDir()>/blocks`), an IndexedDB
   * database name in browsers (default `ipvm-blocks`).
   */
  location?: string
  /** Keep blocks in memory only. */
  memory?: boolean
}

/** A blockstore the caller closes when done (releases the LevelDB lock / IndexedDB connection). */
export interface ClosableBlockstore extends Blockstore {
  close: () => Promise<void>
}
