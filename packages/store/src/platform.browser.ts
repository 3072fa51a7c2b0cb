/**
 * Browser defaults: receipts and blocks in IndexedDB. Selected instead of `platform.ts` by the
 * `browser` field of package.json; exports the same names so code is portable.
 */
import { MemoryBlockstore } from 'blockstore-core'
import { IDBBlockstore } from 'blockstore-idb'
import { UnsupportedPlatformError } from './errors.js'
import { IdbReceiptStore } from './idb.js'
import type { ReceiptStoreInit } from './interface.js'
import { MemoryReceiptStore } from './memory.js'
import type { ClosableBlockstore, CreateBlockstoreOptions, CreateReceiptStoreOptions } from './options.js'
import { type ResilientReceiptStore, resilientStore } from './resilient.js'

/** The platform this build of the package is for. */
export const PLATFORM: 'node' | 'browser' = 'browser'

export interface LevelReceiptStoreInit extends ReceiptStoreInit {
  sync?: boolean
}

/** LevelDB is Node only; in browsers this name exists so imports resolve, and opening rejects. */
export class LevelReceiptStore {
  private constructor () {}

  static async open (_location: string, _init?: LevelReceiptStoreInit): Promise<never> {
    throw new UnsupportedPlatformError('LevelReceiptStore needs Node; use IdbReceiptStore in browsers')
  }
}

/** Browsers have no data directory: the IndexedDB database names are the locations. */
export function defaultDataDir (): string {
  return 'ipvm'
}

/**
 * The platform's receipt store, wrapped so that it never fails a workflow (see
 * {@link resilientStore}). Returns at once; `await store.opened()` tells whether IndexedDB opened.
 */
export function createReceiptStore (options: CreateReceiptStoreOptions = {}): ResilientReceiptStore {
  const init = options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }
  const inner = options.memory === true
    ? new MemoryReceiptStore(init)
    : IdbReceiptStore.open(options.location ?? 'ipvm-receipts', init)
  return resilientStore(inner, options.onWarning === undefined ? {} : { onWarning: options.onWarning })
}

/** The platform's blockstore, opened: IndexedDB (blockstore-idb), or memory. */
export async function createBlockstore (options: CreateBlockstoreOptions = {}): Promise<ClosableBlockstore> {
  if (options.memory === true) return Object.assign(new MemoryBlockstore(), { close: async () => {} })
  const store = new IDBBlockstore(options.location ?? 'ipvm-blocks')
  await store.open()
  return store
}
