/**
 * A known answer built independently of the importer: a file of two chunks is a dag-pb root whose
 * UnixFS data lists the two block sizes and whose links are the raw leaves — what `ipfs add
 * --cid-version 1` writes. Computed here with @ipld/dag-pb and ipfs-unixfs alone.
 */
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { CHUNK_SIZE } from '../src/index.js'

/** Deterministic bytes that do not compress (xorshift32), so nothing can shortcut the chunking. */
export function pseudoRandomBytes (length: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(length)
  let x = seed >>> 0
  for (let i = 0; i < length; i++) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    out[i] = x & 0xff
  }
  return out
}

/** The CID `ipfs add --cid-version 1` gives a file of more than one and at most 174 chunks. */
export async function expectedFileCid (bytes: Uint8Array): Promise<CID> {
  const links: dagPb.PBLink[] = []
  const file = new UnixFS({ type: 'file' })
  for (let offset = 0; offset < bytes.byteLength; offset += CHUNK_SIZE) {
    const chunk = bytes.subarray(offset, offset + CHUNK_SIZE)
    links.push({ Hash: CID.createV1(0x55, await sha256.digest(chunk)), Name: '', Tsize: chunk.byteLength })
    file.addBlockSize(BigInt(chunk.byteLength))
  }
  const root = dagPb.encode(dagPb.prepare({ Data: file.marshal(), Links: links }))
  return CID.createV1(dagPb.code, await sha256.digest(root))
}
