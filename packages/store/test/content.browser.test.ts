import { deleteDB } from 'idb'
import { describe, expect, it } from 'vitest'
import { addContent, createBlockstore, getContent, MemoryBlockstore } from '../src/index.js'

import { expectedFileCid, pseudoRandomBytes } from './two-leaf.js'

// The size of Homestar's example module: two leaves under a dag-pb root.
const fixture = async (): Promise<Uint8Array> => pseudoRandomBytes(286266)

describe('content in Chromium', () => {
  it('gives a two-chunk file the CID ipfs add --cid-version 1 gives it', async () => {
    const bytes = await fixture()
    const blockstore = new MemoryBlockstore()
    const cid = await addContent(blockstore, bytes)
    expect(cid.toString()).toBe((await expectedFileCid(bytes)).toString())
    expect(cid.toString()).toMatch(/^bafybei/)
    expect(await getContent(blockstore, cid)).toEqual(bytes)
  })

  it('keeps blocks in IndexedDB (blockstore-idb) across close and reopen', async () => {
    const name = `ipvm-store-blocks-${Date.now()}`
    try {
      const bytes = await fixture()
      const a = await createBlockstore({ location: name })
      const cid = await addContent(a, bytes)
      expect(cid.toString()).toBe((await expectedFileCid(bytes)).toString())
      await a.close()
      const b = await createBlockstore({ location: name })
      expect(await getContent(b, cid)).toEqual(bytes)
      await b.close()
    } finally {
      await deleteDB(name)
    }
  })
})
