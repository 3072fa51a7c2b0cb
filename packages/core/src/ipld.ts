/**
 * IPLD values and the codecs IPVM names things with: DAG-CBOR bytes hashed with sha3-256 into a
 * CIDv1 (`bafyrmi…`), exactly as Homestar and its JavaScript client do.
 */
import * as dagCbor from '@ipld/dag-cbor'
import * as dagJson from '@ipld/dag-json'
import { sha3256 } from '@multiformats/sha3'
import { base32 } from 'multiformats/bases/base32'
import { base58btc } from 'multiformats/bases/base58'
import { base64 } from 'multiformats/bases/base64'
import { CID } from 'multiformats/cid'
import { InvalidCIDError, InvalidIpldError, WorkflowParseError } from './errors.js'

/** Any value of the IPLD data model as @ipld/dag-cbor represents it in JavaScript. */
export type IpldValue = null | boolean | number | bigint | string | Uint8Array | CID | IpldValue[] | IpldMap
/** An IPLD map with string keys. */
export interface IpldMap { [key: string]: IpldValue }

/** Multicodec code of DAG-CBOR. */
export const DAG_CBOR_CODE = dagCbor.code
/** Multihash code of sha3-256, the hash of every IPVM structure. */
export const SHA3_256_CODE = sha3256.code

const U64_MAX = (1n << 64n) - 1n
const I64_MIN = -(1n << 63n)

export function isIpldMap (value: unknown): value is IpldMap {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Uint8Array) &&
    CID.asCID(value) === null
}

/** Every link in an IPLD value, once each, in the order first met (what a value was computed from). */
export function linksIn (value: unknown, out: CID[] = [], seen = new Set<string>()): CID[] {
  const cid = CID.asCID(value)
  if (cid !== null) {
    if (!seen.has(cid.toString())) {
      seen.add(cid.toString())
      out.push(cid)
    }
  } else if (Array.isArray(value)) {
    for (const v of value) linksIn(v, out, seen)
  } else if (isIpldMap(value)) {
    for (const v of Object.values(value)) linksIn(v, out, seen)
  }
  return out
}

/** The kind of an IPLD value in words, for error messages. */
export function kindOf (value: unknown): string {
  if (value === null) return 'null'
  if (value === undefined) return 'nothing'
  if (Array.isArray(value)) return 'a list'
  if (value instanceof Uint8Array) return 'bytes'
  if (CID.asCID(value) !== null) return 'a link'
  switch (typeof value) {
    case 'string': return 'a string'
    case 'boolean': return 'a boolean'
    case 'bigint': return 'an integer'
    case 'number': return Number.isInteger(value) ? 'an integer' : 'a float'
    case 'object': return 'a map'
    default: return typeof value
  }
}

/** DAG-CBOR bytes of `value` (canonical: map keys sorted length-first, then bytewise). */
export function encode (value: unknown): Uint8Array {
  try {
    return dagCbor.encode(value)
  } catch (err) {
    throw new InvalidIpldError(`value cannot be encoded as DAG-CBOR: ${(err as Error).message}`, {}, { cause: err })
  }
}

/** Decodes DAG-CBOR bytes. */
export function decode<T = IpldValue> (bytes: Uint8Array): T {
  return dagCbor.decode<T>(bytes)
}

/** The CID of DAG-CBOR bytes: CIDv1, dag-cbor, sha3-256. */
export async function cidOfBytes (bytes: Uint8Array): Promise<CID> {
  return CID.createV1(dagCbor.code, await sha3256.digest(bytes))
}

/** The IPVM CID of a value: CIDv1 of its DAG-CBOR bytes hashed with sha3-256. */
export async function cidOf (value: unknown): Promise<CID> {
  return await cidOfBytes(encode(value))
}

/** A value and its DAG-CBOR bytes and CID, computed once. */
export interface EncodedBlock<T> {
  value: T
  bytes: Uint8Array
  cid: CID
}

export async function encodeBlock<T> (value: T): Promise<EncodedBlock<T>> {
  const bytes = encode(value)
  return { value, bytes, cid: await cidOfBytes(bytes) }
}

/**
 * Parses a CID from a string (any multibase; CIDv0 base58btc too), a CID instance, or a CID that
 * crossed a worker boundary as a plain object. Throws {@link InvalidCIDError}.
 */
export function parseCID (input: unknown, where = 'value'): CID {
  const asCid = CID.asCID(input)
  if (asCid !== null) return asCid
  if (typeof input === 'string') {
    try {
      return CID.parse(input, input.startsWith('z') || input.startsWith('Qm') ? base58btc : undefined)
    } catch (err) {
      try {
        return CID.parse(input, base32)
      } catch {
        throw new InvalidCIDError(`${where} is not a valid CID: ${JSON.stringify(input)} (${(err as Error).message})`, { input })
      }
    }
  }
  throw new InvalidCIDError(`${where} is not a CID: got ${kindOf(input)}`)
}

/**
 * Makes a decoded-JSON number tree hash exactly as Homestar (serde_json) does: an integer that fits
 * u64 or i64 stays an integer (bigint beyond 2^53), any larger integer literal becomes a float64.
 * (`18446744073709552000`, Homestar's "u64::MAX" fuel, is above u64 and is hashed as a float.)
 */
function normalizeNumbers (value: unknown): unknown {
  if (typeof value === 'bigint') {
    if (value > U64_MAX || value < I64_MIN) return Number(value)
    if (value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value)
    return value
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = normalizeNumbers(value[i])
    return value
  }
  if (isIpldMap(value)) {
    for (const key of Object.keys(value)) value[key] = normalizeNumbers(value[key]) as IpldValue
  }
  return value
}

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder('utf-8', { fatal: true })

/**
 * Parses DAG-JSON text (`{"/": "<cid>"}` links, `{"/": {"bytes": "<base64>"}}` bytes) with
 * Homestar's number semantics. Throws {@link WorkflowParseError} with the position of bad JSON.
 */
export function parseDagJson (text: string | Uint8Array): IpldValue {
  const bytes = typeof text === 'string' ? textEncoder.encode(text) : text
  let value: unknown
  try {
    value = dagJson.decode(bytes)
  } catch (err) {
    throw new WorkflowParseError(`not valid DAG-JSON: ${(err as Error).message}`, {}, { cause: err })
  }
  return normalizeNumbers(value) as IpldValue
}

/** DAG-JSON text of a value (links as `{"/": cid}`, bytes as `{"/": {"bytes": …}}`). */
export function toDagJson (value: unknown): string {
  try {
    return textDecoder.decode(dagJson.encode(value))
  } catch (err) {
    throw new InvalidIpldError(`value cannot be encoded as DAG-JSON: ${(err as Error).message}`, {}, { cause: err })
  }
}

/**
 * Turns a tree from plain `JSON.parse` (or one typed by hand) into IPLD: `{"/": "<cid>"}` becomes a
 * CID and `{"/": {"bytes": "<base64>"}}` becomes bytes, as DAG-JSON reads them. Anything that is not
 * representable in IPLD (undefined, NaN, functions, class instances) throws {@link InvalidIpldError}.
 */
export function fromPlainJson (value: unknown, path = '', ancestors = new Set<object>()): IpldValue {
  if (value !== null && typeof value === 'object') {
    if (ancestors.has(value)) throw new InvalidIpldError(`${path || 'value'}: refers to itself (a cycle cannot be IPLD)`)
    ancestors.add(value)
    try {
      return fromPlainJsonNode(value, path, ancestors)
    } finally {
      ancestors.delete(value)
    }
  }
  return fromPlainJsonNode(value, path, ancestors)
}

function fromPlainJsonNode (value: unknown, path: string, ancestors: Set<object>): IpldValue {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InvalidIpldError(`${path || 'value'}: ${value} is not an IPLD number`)
    return value
  }
  if (typeof value === 'bigint') return normalizeNumbers(value) as IpldValue
  if (value instanceof Uint8Array) return value
  const cid = CID.asCID(value)
  if (cid !== null) return cid
  if (Array.isArray(value)) return value.map((item, i) => fromPlainJson(item, `${path}[${i}]`, ancestors))
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype || (typeof value === 'object' && Object.getPrototypeOf(value) === null)) {
    const map = value as Record<string, unknown>
    const keys = Object.keys(map)
    if (keys.length === 1 && keys[0] === '/') {
      const inner = map['/']
      if (typeof inner === 'string') return parseCID(inner, `${path || 'value'} (a {"/": …} link)`)
      if (inner !== null && typeof inner === 'object' && !Array.isArray(inner)) {
        const innerKeys = Object.keys(inner)
        if (innerKeys.length === 1 && innerKeys[0] === 'bytes' && typeof (inner as { bytes: unknown }).bytes === 'string') {
          return decodeBase64((inner as { bytes: string }).bytes, path)
        }
      }
    }
    const out: IpldMap = {}
    for (const key of keys) {
      if (map[key] === undefined) continue
      out[key] = fromPlainJson(map[key], path === '' ? key : `${path}.${key}`, ancestors)
    }
    return out
  }
  throw new InvalidIpldError(`${path || 'value'}: ${typeof value === 'object' ? (value as object).constructor?.name ?? 'object' : typeof value} is not an IPLD value`)
}

function decodeBase64 (text: string, path: string): Uint8Array {
  try {
    // DAG-JSON bytes are standard base64 without padding; be lenient about padding on input.
    return base64.baseDecode(text.replace(/=+$/, ''))
  } catch (err) {
    throw new InvalidIpldError(`${path || 'value'}: bytes are not valid base64`, {}, { cause: err })
  }
}

/** Structural equality of two IPLD values (CIDs and bytes by content). */
export function ipldEquals (a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a === 'bigint' || typeof b === 'bigint') {
    const integral = (x: unknown): x is bigint | number => typeof x === 'bigint' || (typeof x === 'number' && Number.isInteger(x))
    return integral(a) && integral(b) && BigInt(a) === BigInt(b)
  }
  const ca = CID.asCID(a)
  const cb = CID.asCID(b)
  if (ca !== null || cb !== null) return ca !== null && cb !== null && ca.equals(cb)
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array) || a.byteLength !== b.byteLength) return false
    for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
    return true
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false
    return a.every((item, i) => ipldEquals(item, b[i]))
  }
  if (isIpldMap(a) && isIpldMap(b)) {
    const ka = Object.keys(a)
    if (ka.length !== Object.keys(b).length) return false
    return ka.every((k) => Object.hasOwn(b, k) && ipldEquals(a[k], b[k]))
  }
  return false
}

export { CID }
