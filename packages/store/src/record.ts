/**
 * What every implementation shares: checking and encoding entries before a write, and turning
 * stored bytes back into entries. Receipts are kept as their encoded bytes, so what is read back is
 * exactly what was hashed, whatever form (spec or Homestar) it was written in.
 */
import { CID, cidOfBytes, decode, encode, readReceipt, receiptToIpld, SHA3_256_CODE, throwIfAborted } from '@ipvm/core'
import { sha256, sha512 } from 'multiformats/hashes/sha2'
import { identity } from 'multiformats/hashes/identity'
import { ReceiptCidMismatchError, UnsupportedHashError } from './errors.js'
import type { AbortOptions, StoredReceipt, StoredReceiptEntry } from './interface.js'

const DAG_CBOR = 0x71

/** An entry checked and flattened to strings and bytes, ready for any backend. */
export interface PreparedEntry {
  /** The receipt CID as a string: the primary key everywhere. */
  key: string
  instruction: string
  workflow?: string
  /** Distinct argument CIDs as strings. */
  args: string[]
  /** Distinct issuer DIDs, in the order given (see `StoredReceipt.acceptedFrom`). */
  acceptedFrom?: string[]
  replayable: boolean
  bytes: Uint8Array
}

function asCid (value: unknown, what: string): CID {
  const cid = CID.asCID(value)
  if (cid === null) throw new TypeError(`${what} must be a CID`)
  return cid
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * The multihash digest of `bytes` with hash function `code`. sha3-256 goes through @ipvm/core (the
 * hash of every IPVM structure); the sha2 family and identity cover content CIDs.
 */
export async function digestOf (code: number, bytes: Uint8Array): Promise<Uint8Array> {
  switch (code) {
    case SHA3_256_CODE: return (await cidOfBytes(bytes)).multihash.bytes
    case sha256.code: return (await sha256.digest(bytes)).bytes
    case sha512.code: return (await sha512.digest(bytes)).bytes
    case identity.code: return identity.digest(bytes).bytes
    default: throw new UnsupportedHashError(`cannot verify multihash code 0x${code.toString(16)}`, { code })
  }
}

/** Whether `bytes` hash to `cid`'s multihash. */
export async function bytesMatchCid (cid: CID, bytes: Uint8Array): Promise<boolean> {
  return equalBytes(await digestOf(cid.multihash.code, bytes), cid.multihash.bytes)
}

async function prepareOne (entry: StoredReceipt): Promise<PreparedEntry> {
  if (entry === null || typeof entry !== 'object') throw new TypeError('a stored receipt must be an object')
  const receiptCid = asCid(entry.receiptCid, 'receiptCid')
  const instruction = asCid(entry.instruction, 'instruction')
  if (typeof entry.replayable !== 'boolean') throw new TypeError('replayable must be a boolean')
  const bytes = entry.bytes ?? encode(receiptToIpld(entry.receipt))
  if (receiptCid.code !== DAG_CBOR) {
    throw new ReceiptCidMismatchError(`receipt CID ${receiptCid} is not DAG-CBOR (codec 0x${receiptCid.code.toString(16)})`, { receiptCid: receiptCid.toString() })
  }
  // Receipts are the memo: a wrong key would answer an instruction with someone else's result.
  if (!await bytesMatchCid(receiptCid, bytes)) {
    throw new ReceiptCidMismatchError(`receipt bytes do not hash to ${receiptCid}`, { receiptCid: receiptCid.toString() })
  }
  const args = [...new Set((entry.args ?? []).map((arg, i) => asCid(arg, `args[${i}]`).toString()))]
  const prepared: PreparedEntry = { key: receiptCid.toString(), instruction: instruction.toString(), args, replayable: entry.replayable, bytes }
  if (entry.workflow !== undefined) prepared.workflow = asCid(entry.workflow, 'workflow').toString()
  if (entry.acceptedFrom !== undefined) {
    if (!Array.isArray(entry.acceptedFrom) || !entry.acceptedFrom.every((did) => typeof did === 'string')) {
      throw new TypeError('acceptedFrom must be an array of strings')
    }
    prepared.acceptedFrom = [...new Set(entry.acceptedFrom)]
  }
  return prepared
}

/**
 * Checks and encodes a put's entries before anything is written, so that a bad entry fails the
 * whole batch. A receipt CID given twice keeps its last occurrence.
 */
export async function prepareEntries (input: StoredReceipt | StoredReceipt[], options?: AbortOptions): Promise<PreparedEntry[]> {
  throwIfAborted(options?.signal)
  const list = Array.isArray(input) ? input : [input]
  const byKey = new Map<string, PreparedEntry>()
  for (const entry of list) {
    const prepared = await prepareOne(entry)
    byKey.delete(prepared.key)
    byKey.set(prepared.key, prepared)
  }
  throwIfAborted(options?.signal)
  return [...byKey.values()]
}

/** An entry rebuilt from what a backend stored. */
export function entryFromStored (stored: PreparedEntry): StoredReceiptEntry {
  const entry: StoredReceiptEntry = {
    receipt: readReceipt(decode(stored.bytes)),
    receiptCid: CID.parse(stored.key),
    instruction: CID.parse(stored.instruction),
    args: stored.args.map((arg) => CID.parse(arg)),
    replayable: stored.replayable,
    bytes: stored.bytes
  }
  if (stored.workflow !== undefined) entry.workflow = CID.parse(stored.workflow)
  if (stored.acceptedFrom !== undefined) entry.acceptedFrom = [...stored.acceptedFrom]
  return entry
}

/**
 * A logical clock for "last access": wall-clock milliseconds, but strictly increasing, so two
 * accesses in the same millisecond still have an order (LRU must be deterministic).
 */
export class AccessClock {
  private last: number
  constructor (last = 0) {
    this.last = last
  }

  next (): number {
    this.last = Math.max(Date.now(), this.last + 1)
    return this.last
  }

  observe (value: number): void {
    if (value > this.last) this.last = value
  }
}

/** Serializes async critical sections (read-modify-write of counters and indexes). */
export class Mutex {
  private tail: Promise<unknown> = Promise.resolve()

  async run<T> (fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn)
    this.tail = result.catch(() => undefined)
    return await result
  }
}
