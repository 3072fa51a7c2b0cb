import * as dagPb from '@ipld/dag-pb'
import { CID } from '@ipvm/core'
import { UnixFS } from 'ipfs-unixfs'
import * as raw from 'multiformats/codecs/raw'
import { identity } from 'multiformats/hashes/identity'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import { addContent, CHUNK_SIZE, createBlockstore, getContent, MemoryBlockstore, maybeExternalize } from '../src/index.js'

/** CIDv1 raw sha2-256 of `bytes`, computed without the importer: what a single raw leaf must be. */
async function rawCid (bytes: Uint8Array): Promise<CID> {
  return CID.createV1(raw.code, await sha256.digest(bytes))
}

/** Deterministic, non-repeating-per-chunk bytes (so each chunk has its own CID). */
function pattern (length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length)
  let x = seed
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

async function readBlock (blockstore: MemoryBlockstore, cid: CID): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const chunk of blockstore.get(cid)) parts.push(chunk)
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.byteLength
  }
  return out
}

describe('addContent / getContent (ipfs add --cid-version 1)', () => {
  it('names the empty file as its empty raw leaf', async () => {
    const blockstore = new MemoryBlockstore()
    const cid = await addContent(blockstore, new Uint8Array(0))
    expect(cid.toString()).toBe((await rawCid(new Uint8Array(0))).toString())
    expect(cid.toString()).toBe('bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku')
    expect(await getContent(blockstore, cid)).toEqual(new Uint8Array(0))
  })

  it('names small content as a single raw leaf (bafkrei… of its sha2-256)', async () => {
    const blockstore = new MemoryBlockstore()
    const hello = new TextEncoder().encode('hello')
    const cid = await addContent(blockstore, hello)
    expect(cid.toString()).toBe('bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq')
    expect(cid.toString()).toBe((await rawCid(hello)).toString())
    expect(await getContent(blockstore, cid)).toEqual(hello)
  })

  it('keeps exactly one chunk (256 KiB) as one raw leaf', async () => {
    const blockstore = new MemoryBlockstore()
    const bytes = pattern(CHUNK_SIZE)
    const cid = await addContent(blockstore, bytes)
    expect(cid.equals(await rawCid(bytes))).toBe(true)
  })

  it('splits more than 256 KiB into raw 256 KiB leaves under a dag-pb UnixFS file root', async () => {
    const blockstore = new MemoryBlockstore()
    const bytes = pattern(CHUNK_SIZE * 2 + 1000)
    const cid = await addContent(blockstore, bytes)
    expect(cid.version).toBe(1)
    expect(cid.code).toBe(dagPb.code)
    expect(cid.multihash.code).toBe(sha256.code)
    expect(cid.toString().startsWith('bafybei')).toBe(true)
    const root = dagPb.decode(await readBlock(blockstore, cid))
    expect(root.Links.map((l) => l.Hash.toString())).toEqual([
      (await rawCid(bytes.subarray(0, CHUNK_SIZE))).toString(),
      (await rawCid(bytes.subarray(CHUNK_SIZE, 2 * CHUNK_SIZE))).toString(),
      (await rawCid(bytes.subarray(2 * CHUNK_SIZE))).toString()
    ])
    expect(root.Links.map((l) => l.Tsize)).toEqual([CHUNK_SIZE, CHUNK_SIZE, 1000])
    const unixfs = UnixFS.unmarshal(root.Data!)
    expect(unixfs.type).toBe('file')
    expect(unixfs.blockSizes).toEqual([BigInt(CHUNK_SIZE), BigInt(CHUNK_SIZE), 1000n])
    expect(unixfs.fileSize()).toBe(BigInt(bytes.byteLength))
    expect(await getContent(blockstore, cid)).toEqual(bytes)
  })

  it('gives the same CID for a stream of odd-sized pieces as for the whole', async () => {
    const bytes = pattern(CHUNK_SIZE + 12345, 7)
    const whole = await addContent(new MemoryBlockstore(), bytes)
    async function * pieces (): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < bytes.byteLength; i += 100_000) yield bytes.subarray(i, i + 100_000)
    }
    expect((await addContent(new MemoryBlockstore(), pieces())).equals(whole)).toBe(true)
  })

  it('reads a raw block put directly and an identity CID', async () => {
    const blockstore = new MemoryBlockstore()
    const bytes = pattern(1234)
    const cid = await rawCid(bytes)
    await blockstore.put(cid, bytes)
    expect(await getContent(blockstore, cid)).toEqual(bytes)
    const inline = CID.createV1(raw.code, identity.digest(new Uint8Array([1, 2, 3])))
    expect(await getContent(blockstore, inline)).toEqual(new Uint8Array([1, 2, 3]))
  })

  it('refuses a raw block whose bytes do not hash to its CID', async () => {
    const blockstore = new MemoryBlockstore()
    const cid = await rawCid(pattern(100))
    await blockstore.put(cid, pattern(100, 2))
    await expect(getContent(blockstore, cid)).rejects.toMatchObject({ name: 'ContentIntegrityError' })
  })

  it('refuses a file with a tampered leaf', async () => {
    const blockstore = new MemoryBlockstore()
    const bytes = pattern(CHUNK_SIZE + 10)
    const cid = await addContent(blockstore, bytes)
    const leaf = await rawCid(bytes.subarray(CHUNK_SIZE))
    await blockstore.put(leaf, new Uint8Array(10))
    await expect(getContent(blockstore, cid)).rejects.toMatchObject({ name: 'ContentIntegrityError' })
  })

  it('reports missing content as ContentNotFoundError', async () => {
    const blockstore = new MemoryBlockstore()
    await expect(getContent(blockstore, await rawCid(pattern(10)))).rejects.toMatchObject({ name: 'ContentNotFoundError' })
    const bytes = pattern(CHUNK_SIZE + 10)
    const cid = await addContent(blockstore, bytes)
    await blockstore.delete(await rawCid(bytes.subarray(0, CHUNK_SIZE)))
    await expect(getContent(blockstore, cid)).rejects.toMatchObject({ name: 'ContentNotFoundError' })
  })

  it('refuses content above maxBytes before reading it', async () => {
    const blockstore = new MemoryBlockstore()
    const cid = await addContent(blockstore, pattern(5000))
    await expect(getContent(blockstore, cid, { maxBytes: 4999 })).rejects.toMatchObject({ name: 'ContentNotFoundError' })
    expect((await getContent(blockstore, cid, { maxBytes: 5000 })).byteLength).toBe(5000)
  })

  it('honours an aborted signal', async () => {
    const blockstore = new MemoryBlockstore()
    await expect(addContent(blockstore, pattern(10), { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' })
    const cid = await addContent(blockstore, pattern(10))
    await expect(getContent(blockstore, cid, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' })
  })
})

describe('maybeExternalize', () => {
  it('moves byte outputs above the threshold into the blockstore and returns their link', async () => {
    const blockstore = new MemoryBlockstore()
    const big = pattern(2000)
    const link = await maybeExternalize(blockstore, big, 1000)
    const cid = CID.asCID(link)
    expect(cid).not.toBeNull()
    expect(cid!.equals(await addContent(new MemoryBlockstore(), big))).toBe(true)
    expect(await getContent(blockstore, cid!)).toEqual(big)
  })

  it('leaves small bytes and non-byte values inline', async () => {
    const blockstore = new MemoryBlockstore()
    const small = pattern(1000)
    expect(await maybeExternalize(blockstore, small, 1000)).toBe(small)
    const map = { image: pattern(5000) }
    expect(await maybeExternalize(blockstore, map, 1000)).toBe(map)
    expect(await maybeExternalize(blockstore, 42, 0)).toBe(42)
    expect(await blockstore.has(await rawCid(small))).toBe(false)
  })
})

describe('createBlockstore', () => {
  it('gives a working in-memory blockstore', async () => {
    const blockstore = await createBlockstore({ memory: true })
    const cid = await addContent(blockstore, pattern(300))
    expect(await getContent(blockstore, cid)).toEqual(pattern(300))
    await blockstore.close()
  })
})
