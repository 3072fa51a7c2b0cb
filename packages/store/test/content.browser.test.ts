import { deleteDB } from 'idb'
import { describe, expect, it } from 'vitest'
import { addContent, createBlockstore, getContent, MemoryBlockstore } from '../src/index.js'

const EXAMPLE_TEST_WASM = 'bafybeibk42jwhq7w2zcpe6q3wgtleugp3ymfs3pa5gerjmnakqihhqx4zq'

async function fixture (): Promise<Uint8Array> {
  // Served by Vite from the source tree.
  const response = await fetch(new URL('./fixtures/example_test.wasm', import.meta.url))
  expect(response.ok).toBe(true)
  return new Uint8Array(await response.arrayBuffer())
}

describe('content in Chromium', () => {
  it('gives Homestar\'s example_test.wasm the CID ipfs add gave it', async () => {
    const bytes = await fixture()
    expect(bytes.byteLength).toBe(286266)
    const blockstore = new MemoryBlockstore()
    const cid = await addContent(blockstore, bytes)
    expect(cid.toString()).toBe(EXAMPLE_TEST_WASM)
    expect(await getContent(blockstore, cid)).toEqual(bytes)
  })

  it('keeps blocks in IndexedDB (blockstore-idb) across close and reopen', async () => {
    const name = `ipvm-store-blocks-${Date.now()}`
    try {
      const bytes = await fixture()
      const a = await createBlockstore({ location: name })
      const cid = await addContent(a, bytes)
      expect(cid.toString()).toBe(EXAMPLE_TEST_WASM)
      await a.close()
      const b = await createBlockstore({ location: name })
      expect(await getContent(b, cid)).toEqual(bytes)
      await b.close()
    } finally {
      await deleteDB(name)
    }
  })
})
