/**
 * Node's defaults: receipts and blocks on disk in LevelDB. Browsers get `platform.browser.ts`
 * instead, through the `browser` field of package.json, so bundles never see classic-level or node:*.
 */
import { homedir } from 'node:os'
import { join } from 'node:path'
import { MemoryBlockstore } from 'blockstore-core'
import { LevelBlockstore } from 'blockstore-level'
import { LevelReceiptStore } from './level.js'
import { MemoryReceiptStore } from './memory.js'
import type { ClosableBlockstore, CreateBlockstoreOptions, CreateReceiptStoreOptions } from './options.js'
import { type ResilientReceiptStore, resilientStore } from './resilient.js'

export { LevelReceiptStore, type LevelReceiptStoreInit } from './level.js'

/** The platform this build of the package is for. */
export const PLATFORM: 'node' | 'browser' = 'node'

/**
 * Where ipvm keeps its data by default: `$IPVM_HOME`, else the platform's user data directory
 * (`$XDG_DATA_HOME/ipvm` or `~/.local/share/ipvm`; `~/Library/Application Support/ipvm` on macOS;
 * `%LOCALAPPDATA%\ipvm` on Windows).
 */
export function defaultDataDir (): string {
  const env = process.env
  if (env.IPVM_HOME !== undefined && env.IPVM_HOME !== '') return env.IPVM_HOME
  if (process.platform === 'win32') return join(env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'ipvm')
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'ipvm')
  return join(env.XDG_DATA_HOME !== undefined && env.XDG_DATA_HOME !== '' ? env.XDG_DATA_HOME : join(homedir(), '.local', 'share'), 'ipvm')
}

/**
 * The platform's receipt store, wrapped so that it never fails a workflow (see
 * {@link resilientStore}). Returns at once; `await store.opened()` tells whether the disk store opened.
 */
export function createReceiptStore (options: CreateReceiptStoreOptions = {}): ResilientReceiptStore {
  const init = options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }
  const inner = options.memory === true
    ? new MemoryReceiptStore(init)
    : LevelReceiptStore.open(options.location ?? join(defaultDataDir(), 'receipts'), init)
  return resilientStore(inner, options.onWarning === undefined ? {} : { onWarning: options.onWarning })
}

/** The platform's blockstore, opened: LevelDB on disk (blockstore-level), or memory. */
export async function createBlockstore (options: CreateBlockstoreOptions = {}): Promise<ClosableBlockstore> {
  if (options.memory === true) return Object.assign(new MemoryBlockstore(), { close: async () => {} })
  const store = new LevelBlockstore(options.location ?? join(defaultDataDir(), 'blocks'))
  await store.open()
  return store
}
