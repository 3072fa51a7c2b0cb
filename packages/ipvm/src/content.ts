/** The runtime's content store over a Helia-compatible blockstore: verified reads, UnixFS writes. */
import type { CID } from '@ipvm/core'
import { addContent, getContent } from '@ipvm/store'
import type { Blockstore } from 'interface-blockstore'
import type { AbortOptions, ContentStore } from './services.js'

/** Content in `blockstore`: `get` verifies every block against its CID, `put` adds as `ipfs add` would. */
export function blockstoreContent (blockstore: Pick<Blockstore, 'get' | 'put'>, options: { maxBytes?: number } = {}): ContentStore & { add: (bytes: Uint8Array, options?: AbortOptions) => Promise<CID> } {
  const add = async (bytes: Uint8Array, opts: AbortOptions = {}): Promise<CID> => await addContent(blockstore, bytes, opts)
  return {
    get: async (cid, opts = {}) => await getContent(blockstore, cid, { ...opts, ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }) }),
    put: add,
    add
  }
}
