/**
 * @ipvm/store — where receipts and content live: a receipt store (IndexedDB in browsers, LevelDB on
 * disk in Node, memory anywhere) behind one interface, made resilient so storage trouble never
 * fails a workflow; and content as UnixFS blocks with `ipfs add`-identical CIDs.
 *
 * `./platform.js` is `platform.ts` in Node and `platform.browser.ts` in browsers (package.json
 * `browser` field); everything else is platform-neutral.
 */
export * from './content.js'
export * from './errors.js'
export { IdbReceiptStore, type IdbReceiptStoreInit } from './idb.js'
export type * from './interface.js'
export { MemoryReceiptStore } from './memory.js'
export type { ClosableBlockstore, CreateBlockstoreOptions, CreateReceiptStoreOptions } from './options.js'
export { createBlockstore, createReceiptStore, defaultDataDir, LevelReceiptStore, type LevelReceiptStoreInit, PLATFORM } from './platform.js'
export { ResilientReceiptStore, type ResilientStoreOptions, resilientStore } from './resilient.js'
export { MemoryBlockstore } from 'blockstore-core'
