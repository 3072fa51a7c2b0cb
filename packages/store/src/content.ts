/**
 * Content (Wasm modules, images, large values) as UnixFS blocks in a Helia-compatible blockstore
 * (interface-blockstore 7), named exactly as `ipfs add --cid-version 1` names them, so a module
 * added here has the CID Homestar workflows already reference.
 */
import { CID, type IpldValue, throwIfAborted } from '@ipvm/core'
import type { Blockstore } from 'interface-blockstore'
import { exporter } from 'ipfs-unixfs-exporter'
import { importBytes, importByteStream, type ImporterOptions } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { identity } from 'multiformats/hashes/identity'
import { ContentIntegrityError, ContentNotFoundError } from './errors.js'
import type { AbortOptions } from './interface.js'
import { bytesMatchCid } from './record.js'

/** `ipfs add`'s default chunker: `size-262144`. */
export const CHUNK_SIZE = 262_144
/** `ipfs add`'s balanced layout: at most 174 links per dag-pb node. */
export const MAX_CHILDREN_PER_NODE = 174
/**
 * Default size above which {@link maybeExternalize} moves a byte output out of the receipt: small
 * enough that receipts stay cheap to gossip and exchange, large enough that ordinary results stay inline.
 */
export const DEFAULT_INLINE_LIMIT = 64 * 1024

const RAW = 0x55

export interface AddContentOptions extends AbortOptions {}

export interface GetContentOptions extends AbortOptions {
  /** Refuse content larger than this (checked against the UnixFS size before reading). */
  maxBytes?: number
}

/**
 * The importer settings that reproduce `ipfs add --cid-version 1`: CIDv1, raw leaves, 256 KiB
 * fixed-size chunks, balanced DAG of at most 174 children, a single-chunk file is its raw leaf
 * (`bafkrei…`), sha2-256 throughout. Spelled out rather than left to the importer's defaults,
 * which have changed between versions (IPIP-499 profiles).
 */
function importerOptions (options?: AbortOptions): ImporterOptions & AbortOptions {
  const out: ImporterOptions & AbortOptions = {
    cidVersion: 1,
    rawLeaves: true,
    reduceSingleLeafToSelf: true,
    wrapWithDirectory: false,
    chunker: fixedSize({ chunkSize: CHUNK_SIZE }),
    layout: balanced({ maxChildrenPerNode: MAX_CHILDREN_PER_NODE })
  }
  if (options?.signal !== undefined) out.signal = options.signal
  return out
}

/**
 * Stores `content` as a UnixFS file and returns its root CID, the one `ipfs add --cid-version 1`
 * prints for the same bytes.
 */
export async function addContent (blockstore: Pick<Blockstore, 'put'>, content: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>, options?: AddContentOptions): Promise<CID> {
  throwIfAborted(options?.signal)
  const result = content instanceof Uint8Array
    ? await importBytes(content, blockstore, importerOptions(options))
    : await importByteStream(content, blockstore, importerOptions(options))
  throwIfAborted(options?.signal)
  return result.cid
}

async function collect (chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>, signal?: AbortSignal): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let length = 0
  for await (const chunk of chunks) {
    throwIfAborted(signal)
    parts.push(chunk)
    length += chunk.byteLength
  }
  if (parts.length === 1) return parts[0]!
  const out = new Uint8Array(length)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.byteLength
  }
  return out
}

/**
 * A read-only view of a blockstore that checks every block's bytes against its CID before handing
 * them on. Local blockstores (memory, IndexedDB, LevelDB) do not verify what they return, and a
 * corrupted or tampered block must not become a task's input.
 */
export function verifyingBlockstore (blockstore: Pick<Blockstore, 'get'>): Pick<Blockstore, 'get'> {
  return {
    async * get (cid: CID, options?: AbortOptions) {
      const bytes = await collect(blockstore.get(cid, options), options?.signal)
      if (!await bytesMatchCid(cid, bytes)) {
        throw new ContentIntegrityError(`block ${cid} does not hash to its CID`, { cid: cid.toString() })
      }
      yield bytes
    }
  }
}

function isNotFound (err: unknown): boolean {
  const name = (err as { name?: unknown })?.name
  return name === 'NotFoundError' || (err as { code?: unknown })?.code === 'ERR_NOT_FOUND'
}

/**
 * The bytes of a UnixFS file or a raw block, every block verified against its CID (sha2-256,
 * sha2-512, sha3-256, identity). Throws {@link ContentNotFoundError} when a block is missing or the
 * CID names a directory, {@link ContentIntegrityError} when a block's bytes do not match.
 */
export async function getContent (blockstore: Pick<Blockstore, 'get'>, cid: CID, options?: GetContentOptions): Promise<Uint8Array> {
  throwIfAborted(options?.signal)
  const root = CID.asCID(cid)
  if (root === null) throw new TypeError('getContent needs a CID')
  if (root.multihash.code === identity.code && root.code === RAW) return root.multihash.digest
  const signal = options?.signal
  try {
    const entry = await exporter(root, verifyingBlockstore(blockstore), signal === undefined ? {} : { signal })
    if (entry.type !== 'file' && entry.type !== 'raw' && entry.type !== 'identity') {
      throw new ContentNotFoundError(`${root} is a ${entry.type === 'directory' ? 'directory' : `${entry.type} node`}, not file content`, { cid: root.toString() })
    }
    if (options?.maxBytes !== undefined && entry.size > BigInt(options.maxBytes)) {
      throw new ContentNotFoundError(`${root} is ${entry.size} bytes, more than the ${options.maxBytes} allowed`, { cid: root.toString() })
    }
    return await collect(entry.content(signal === undefined ? {} : { signal }), signal)
  } catch (err) {
    if (isNotFound(err)) throw new ContentNotFoundError(`content ${root} is not in the blockstore: ${(err as Error).message}`, { cid: root.toString() }, { cause: err })
    throw err
  }
}

/** Stores `bytes` as content and returns the link that stands for them in a receipt. */
export async function putLargeValue (blockstore: Pick<Blockstore, 'put'>, bytes: Uint8Array, options?: AddContentOptions): Promise<CID> {
  return await addContent(blockstore, bytes, options)
}

/**
 * An output value as a receipt should carry it: a byte string longer than `thresholdBytes` is
 * stored as content and replaced by its CID; anything else is returned unchanged. Only the value
 * itself is considered (not bytes nested in lists or maps), matching how a link argument is
 * resolved: a bare link stands for the content's bytes.
 */
export async function maybeExternalize (blockstore: Pick<Blockstore, 'put'>, value: IpldValue, thresholdBytes: number = DEFAULT_INLINE_LIMIT, options?: AddContentOptions): Promise<IpldValue> {
  if (value instanceof Uint8Array && value.byteLength > thresholdBytes) return await putLargeValue(blockstore, value, options)
  return value
}
