import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as dagPb from '@ipld/dag-pb'
import { describe, expect, it } from 'vitest'
import { addContent, CHUNK_SIZE, createBlockstore, getContent, MAX_CHILDREN_PER_NODE, MemoryBlockstore, PLATFORM } from '../src/index.js'

import { expectedFileCid, pseudoRandomBytes } from './two-leaf.js'

async function block (blockstore: MemoryBlockstore, cid: Parameters<MemoryBlockstore['get']>[0]): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const chunk of blockstore.get(cid)) parts.push(chunk)
  return parts.length === 1 ? parts[0]! : new Uint8Array(Buffer.concat(parts))
}

describe('content in Node', () => {
  it('is the Node build of the package', () => {
    expect(PLATFORM).toBe('node')
  })

  it('gives a two-chunk file (the size of Homestar\'s example module) the CID ipfs add gives it', async () => {
    const bytes = pseudoRandomBytes(286266)
    const blockstore = new MemoryBlockstore()
    const cid = await addContent(blockstore, bytes)
    expect(cid.toString()).toBe((await expectedFileCid(bytes)).toString())
    expect(await getContent(blockstore, cid)).toEqual(bytes)
  })

  it('builds a balanced DAG of at most 174 links per node', async () => {
    // 175 chunks: one more than a node holds, so the root gets a second level.
    const chunks = MAX_CHILDREN_PER_NODE + 1
    const bytes = new Uint8Array(chunks * CHUNK_SIZE)
    for (let i = 0; i < chunks; i++) bytes.fill(i & 0xff, i * CHUNK_SIZE, i * CHUNK_SIZE + 8).fill(i >> 8, i * CHUNK_SIZE + 8, i * CHUNK_SIZE + 16)
    const blockstore = new MemoryBlockstore()
    const cid = await addContent(blockstore, bytes)
    const root = dagPb.decode(await block(blockstore, cid))
    expect(root.Links).toHaveLength(2)
    const first = dagPb.decode(await block(blockstore, root.Links[0]!.Hash))
    expect(first.Links).toHaveLength(MAX_CHILDREN_PER_NODE)
    expect(first.Links.every((l) => l.Hash.code === 0x55 && l.Tsize === CHUNK_SIZE)).toBe(true)
    expect((await getContent(blockstore, cid)).byteLength).toBe(bytes.byteLength)
  })

  it('keeps blocks on disk (blockstore-level) across close and reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ipvm-store-blocks-'))
    try {
      const bytes = pseudoRandomBytes(286266, 7)
      const a = await createBlockstore({ location: dir })
      const cid = await addContent(a, bytes)
      await a.close()
      const b = await createBlockstore({ location: dir })
      expect(await getContent(b, cid)).toEqual(bytes)
      await b.close()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
