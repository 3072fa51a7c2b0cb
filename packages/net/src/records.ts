/**
 * Receipt records in the Kademlia DHT: keyed `/ipvm-receipt/<instruction CID>`, valued with the
 * signed receipt (DAG-CBOR, at most {@link MAX_RECORD_BYTES}) or, for a larger receipt, a pointer to
 * the peer that serves it over `/ipvm/receipts`. Every DHT node runs {@link validateReceiptRecord} on
 * what it stores and returns: a record that does not decode, names another instruction, or whose
 * receipt signature does not verify is refused.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { verifyReceipt } from '@ipvm/auth'
import { CID, type IpldValue, isIpldMap, readReceipt, type Receipt, receiptToIpld } from '@ipvm/core'
import { MalformedMessageError, MessageTooLargeError } from './errors.js'

/** The DHT namespace of receipt records (the validator and selector key). */
export const RECEIPT_RECORD_NAMESPACE = 'ipvm-receipt'
/** Largest record value stored or accepted (bytes); larger receipts are published as pointers. */
export const MAX_RECORD_BYTES = 64 * 1024
/** The kad-dht protocol of ipvm nodes (a private DHT, apart from the public IPFS one). */
export const DHT_PROTOCOL = '/ipvm/kad/1.0.0'

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** A decoded record: the receipt itself, or the peer to fetch it from. */
export type ReceiptRecord =
  | { instruction: CID, receipt: Receipt }
  | { instruction: CID, provider: string }

export function receiptRecordKey (instruction: CID): Uint8Array {
  return encoder.encode(`/${RECEIPT_RECORD_NAMESPACE}/${instruction.toString()}`)
}

/** The instruction a record key names; throws {@link MalformedMessageError}. */
export function instructionOfKey (key: Uint8Array): CID {
  const text = decoder.decode(key)
  const prefix = `/${RECEIPT_RECORD_NAMESPACE}/`
  if (!text.startsWith(prefix)) throw new MalformedMessageError(`not a receipt record key: ${text.slice(0, 80)}`)
  try {
    return CID.parse(text.slice(prefix.length))
  } catch {
    throw new MalformedMessageError(`receipt record key names no CID: ${text.slice(0, 80)}`)
  }
}

export function encodeReceiptRecord (record: ReceiptRecord): Uint8Array {
  return 'receipt' in record
    ? dagCbor.encode({ instruction: record.instruction, receipt: receiptToIpld(record.receipt) })
    : dagCbor.encode({ instruction: record.instruction, provider: record.provider })
}

/** Decodes a record value (size and shape only); throws {@link MalformedMessageError} or {@link MessageTooLargeError}. */
export function decodeReceiptRecord (value: Uint8Array): ReceiptRecord {
  if (value.byteLength > MAX_RECORD_BYTES) throw new MessageTooLargeError(`a receipt record of ${value.byteLength} bytes exceeds ${MAX_RECORD_BYTES}`)
  let decoded: IpldValue
  try {
    decoded = dagCbor.decode<IpldValue>(value)
  } catch (err) {
    throw new MalformedMessageError(`a receipt record is not DAG-CBOR: ${(err as Error).message}`)
  }
  if (!isIpldMap(decoded)) throw new MalformedMessageError('a receipt record is {instruction, receipt} or {instruction, provider}')
  const instruction = CID.asCID(decoded.instruction)
  if (instruction === null) throw new MalformedMessageError('a receipt record names its instruction (a link)')
  if (typeof decoded.provider === 'string' && decoded.provider.length <= 128 && decoded.receipt === undefined) return { instruction, provider: decoded.provider }
  try {
    return { instruction, receipt: readReceipt(decoded.receipt) }
  } catch (err) {
    throw new MalformedMessageError(`a receipt record holds no receipt: ${(err as Error).message}`)
  }
}

/**
 * The DHT validator: the record decodes, is for the instruction its key names, and a receipt in it
 * is signed by its issuer (any issuer: trust is the reader's policy, not the DHT's).
 */
export async function validateReceiptRecord (key: Uint8Array, value: Uint8Array): Promise<ReceiptRecord> {
  const instruction = instructionOfKey(key)
  const record = decodeReceiptRecord(value)
  if (!record.instruction.equals(instruction)) throw new MalformedMessageError('the receipt record is for another instruction than its key')
  if ('receipt' in record) await verifyReceipt(record.receipt, { anyIssuer: true })
  return record
}

/** The DHT selector: the first record that holds a receipt (over a pointer), else the first. */
export function selectReceiptRecord (_key: Uint8Array, records: Uint8Array[]): number {
  for (const [i, value] of records.entries()) {
    try {
      if ('receipt' in decodeReceiptRecord(value)) return i
    } catch {
      // invalid ones are never selected when a valid one exists
    }
  }
  return 0
}
