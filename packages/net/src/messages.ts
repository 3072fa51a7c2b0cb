/**
 * The messages of `/ipvm/invoke/1.0.0`, `/ipvm/receipts/1.0.0` and the gossipsub topics: their IPLD
 * forms and strict readers for what peers send (nothing a peer sends is trusted without checking).
 */
import { MalformedError, readSignedInvocation, signedInvocationToIpld } from '@ipvm/auth'
import {
  CID, decode, type IpldMap, type IpldValue, isIpldMap, readReceipt, readResult, type Receipt, receiptToIpld, type SerializedError
} from '@ipvm/core'
import { MalformedMessageError } from './errors.js'
import type { AwaitedResult, Capabilities, ExchangedReceipt, InvokeProgress, InvokeRequest } from './interface.js'

export const INVOKE_PROTOCOL = '/ipvm/invoke/1.0.0'
export const RECEIPTS_PROTOCOL = '/ipvm/receipts/1.0.0'
export const CAPABILITIES_TOPIC = 'ipvm/capabilities/1.0.0'
export const RECEIPTS_TOPIC = 'ipvm/receipts/1.0.0'

/** Most instructions one `/ipvm/receipts` request may ask for. */
export const MAX_RECEIPTS_PER_REQUEST = 256
/** Most awaited results one invocation may carry. */
export const MAX_AWAITED = 1024
/** Most progress frames before the final one. */
export const MAX_PROGRESS_FRAMES = 16
/** Largest capabilities announcement accepted (bytes). */
export const MAX_CAPABILITIES_BYTES = 64 * 1024
/** Largest receipt carried inside an announcement (its DAG-CBOR bytes); larger ones are announced by CID. */
export const MAX_INLINE_RECEIPT_BYTES = 4 * 1024
/** Largest receipt announcement accepted (bytes): an inline receipt, the CIDs and a few addresses. */
export const MAX_RECEIPT_ANNOUNCEMENT_BYTES = MAX_INLINE_RECEIPT_BYTES + 1024
/** Most entries in a list of an announcement (modules, data, ops). */
export const MAX_LIST_ENTRIES = 4096
/** Longest string in an announcement. */
export const MAX_STRING_LENGTH = 512

function asCid (value: unknown): CID | undefined {
  return CID.asCID(value) ?? undefined
}

// ------------------------------------------------------------------------------------------ invoke

export function invokeRequestToIpld (request: InvokeRequest): IpldMap {
  return {
    signed: signedInvocationToIpld(request.signed),
    awaited: request.awaited.map((a) => ({ instruction: a.instruction, out: a.out as IpldValue }))
  }
}

/** Reads an invoke request; throws {@link MalformedMessageError}. */
export function readInvokeRequest (value: IpldValue): InvokeRequest {
  if (!isIpldMap(value)) throw new MalformedMessageError('an invoke request is a map {signed, awaited}')
  let signed: InvokeRequest['signed']
  try {
    signed = readSignedInvocation(value.signed)
  } catch (err) {
    if (err instanceof MalformedError) throw new MalformedMessageError(`invoke request: ${err.message}`, { field: 'signed' })
    throw err
  }
  const list = value.awaited ?? []
  if (!Array.isArray(list)) throw new MalformedMessageError('invoke request: "awaited" must be a list')
  if (list.length > MAX_AWAITED) throw new MalformedMessageError(`invoke request: more than ${MAX_AWAITED} awaited results`)
  const awaited: AwaitedResult[] = list.map((entry, i) => {
    if (!isIpldMap(entry)) throw new MalformedMessageError(`invoke request: awaited[${i}] must be a map {instruction, out}`)
    const instruction = asCid(entry.instruction)
    if (instruction === undefined) throw new MalformedMessageError(`invoke request: awaited[${i}].instruction must be a link`)
    const out = readResult(entry.out)
    if (out === undefined) throw new MalformedMessageError(`invoke request: awaited[${i}].out must be {ok} or {error}`)
    return { instruction, out }
  })
  return { signed, awaited }
}

/** One frame the provider sends: progress, the receipt, or an error. */
export type InvokeReply =
  | { kind: 'progress', progress: InvokeProgress }
  | { kind: 'receipt', receipt: Receipt }
  | { kind: 'error', error: SerializedError }

export function progressToIpld (progress: InvokeProgress): IpldMap {
  return { progress: progress.type === 'invoke:accepted' ? 'accepted' : 'started' }
}

function readSerializedError (value: IpldValue): SerializedError {
  if (!isIpldMap(value) || typeof value.name !== 'string' || typeof value.message !== 'string') {
    throw new MalformedMessageError('invoke reply: "error" must be {name, code, message, details?}')
  }
  const out: SerializedError = {
    name: value.name.slice(0, MAX_STRING_LENGTH),
    code: typeof value.code === 'string' ? value.code.slice(0, MAX_STRING_LENGTH) : 'ERR_UNKNOWN',
    message: value.message
  }
  if (isIpldMap(value.details)) out.details = value.details as Record<string, unknown>
  return out
}

/** Reads one frame of an invoke reply; throws {@link MalformedMessageError}. */
export function readInvokeReply (value: IpldValue): InvokeReply {
  if (!isIpldMap(value)) throw new MalformedMessageError('an invoke reply frame is a map')
  const keys = Object.keys(value)
  if (keys.length !== 1) throw new MalformedMessageError(`an invoke reply frame has one key (progress, receipt or error), got ${keys.slice(0, 5).join(', ')}`)
  if ('progress' in value) {
    if (value.progress === 'accepted') return { kind: 'progress', progress: { type: 'invoke:accepted' } }
    if (value.progress === 'started') return { kind: 'progress', progress: { type: 'invoke:started' } }
    throw new MalformedMessageError(`invoke reply: unknown progress ${String(value.progress).slice(0, 40)}`)
  }
  if ('receipt' in value) {
    try {
      return { kind: 'receipt', receipt: readReceipt(value.receipt) }
    } catch (err) {
      throw new MalformedMessageError(`invoke reply: ${(err as Error).message}`)
    }
  }
  if ('error' in value) return { kind: 'error', error: readSerializedError(value.error as IpldValue) }
  throw new MalformedMessageError(`invoke reply: unknown frame ${keys[0]}`)
}

// ---------------------------------------------------------------------------------------- receipts

/**
 * Reads a receipts request: `{instructions: [CID]}` (receipts by instruction) or `{arguments: [CID]}`
 * (reverse lookup: receipts of instructions that took this CID as an argument; one CID per request).
 * Throws {@link MalformedMessageError}.
 */
export function readReceiptsRequest (value: IpldValue): CID[] | { argument: CID } {
  if (isIpldMap(value) && Array.isArray(value.arguments)) {
    const argument = value.arguments.length === 1 ? asCid(value.arguments[0]) : undefined
    if (argument === undefined) throw new MalformedMessageError('a reverse lookup is {arguments: [CID]} (exactly one)')
    return { argument }
  }
  if (!isIpldMap(value) || !Array.isArray(value.instructions)) throw new MalformedMessageError('a receipts request is {instructions: [CID]} or {arguments: [CID]}')
  if (value.instructions.length > MAX_RECEIPTS_PER_REQUEST) {
    throw new MalformedMessageError(`a receipts request asks for at most ${MAX_RECEIPTS_PER_REQUEST} instructions, got ${value.instructions.length}`)
  }
  return value.instructions.map((v, i) => {
    const cid = asCid(v)
    if (cid === undefined) throw new MalformedMessageError(`receipts request: instructions[${i}] must be a link`)
    return cid
  })
}

export function receiptsReplyToIpld (receipts: ExchangedReceipt[]): IpldMap {
  return { receipts: receipts.map((r) => ({ instruction: r.instruction, receipt: receiptToIpld(r.receipt) })) }
}

/**
 * Reads a receipts reply, keeping only receipts for instructions that were asked for (one each);
 * throws {@link MalformedMessageError} for anything not of the right shape or an error the peer sent.
 */
export function readReceiptsReply (value: IpldValue, asked: CID[]): ExchangedReceipt[] | { error: SerializedError } {
  const wanted = new Set(asked.map((c) => c.toString()))
  return readReceiptEntries(value, 'receipts reply', (count) => {
    if (count > wanted.size) throw new MalformedMessageError(`a receipts reply has ${count} receipts for ${wanted.size} instructions`)
  }, (instruction, i) => {
    if (!wanted.delete(instruction.toString())) throw new MalformedMessageError(`receipts reply: receipts[${i}] is for ${instruction.toString()}, which was not asked for (or twice)`)
  })
}

/** Reads the reply to a reverse lookup (at most {@link MAX_RECEIPTS_PER_REQUEST} receipts); throws {@link MalformedMessageError}. */
export function readComputedFromReply (value: IpldValue): ExchangedReceipt[] | { error: SerializedError } {
  return readReceiptEntries(value, 'reverse lookup reply', (count) => {
    if (count > MAX_RECEIPTS_PER_REQUEST) throw new MalformedMessageError(`a reverse lookup reply has more than ${MAX_RECEIPTS_PER_REQUEST} receipts`)
  })
}

/**
 * A reply's `{receipts: [{instruction, receipt}]}` (or its `{error}`), every entry read strictly;
 * `checkCount` sees the number of entries first, `checkInstruction` each entry's instruction.
 */
function readReceiptEntries (
  value: IpldValue, label: string, checkCount: (count: number) => void, checkInstruction?: (instruction: CID, index: number) => void
): ExchangedReceipt[] | { error: SerializedError } {
  if (isIpldMap(value) && 'error' in value && Object.keys(value).length === 1) return { error: readSerializedError(value.error as IpldValue) }
  if (!isIpldMap(value) || !Array.isArray(value.receipts)) throw new MalformedMessageError(`a ${label} is {receipts: [{instruction, receipt}]}`)
  checkCount(value.receipts.length)
  return value.receipts.map((entry, i) => {
    if (!isIpldMap(entry)) throw new MalformedMessageError(`${label}: receipts[${i}] must be {instruction, receipt}`)
    const instruction = asCid(entry.instruction)
    if (instruction === undefined) throw new MalformedMessageError(`${label}: receipts[${i}].instruction must be a link`)
    checkInstruction?.(instruction, i)
    try {
      return { instruction, receipt: readReceipt(entry.receipt) }
    } catch (err) {
      throw new MalformedMessageError(`${label}: receipts[${i}]: ${(err as Error).message}`)
    }
  })
}

// ---------------------------------------------------------------------------------------- gossip

function stringList (value: unknown, field: string): string[] {
  if (!Array.isArray(value) || value.length > MAX_LIST_ENTRIES || !value.every((v) => typeof v === 'string' && v.length <= MAX_STRING_LENGTH)) {
    throw new MalformedMessageError(`capabilities: "${field}" must be a list of at most ${MAX_LIST_ENTRIES} strings`)
  }
  return value as string[]
}

function count (value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new MalformedMessageError(`capabilities: "${field}" must be a non-negative integer`)
  return value
}

export function capabilitiesToIpld (capabilities: Omit<Capabilities, 'peerId'>): IpldMap {
  const out: IpldMap = {
    did: capabilities.did,
    ops: capabilities.ops,
    affinities: capabilities.affinities,
    workers: capabilities.workers,
    freeWorkers: capabilities.freeWorkers,
    modules: capabilities.modules,
    data: capabilities.data,
    expires: capabilities.expires
  }
  if (capabilities.memoryBytes !== undefined) out.memoryBytes = capabilities.memoryBytes
  return out
}

/** Reads a capabilities announcement from `peerId` (who signed the gossipsub message); throws {@link MalformedMessageError}. */
export function readCapabilities (value: IpldValue, peerId: string): Capabilities {
  if (!isIpldMap(value)) throw new MalformedMessageError('capabilities must be a map')
  if (typeof value.did !== 'string' || !value.did.startsWith('did:') || value.did.length > MAX_STRING_LENGTH) throw new MalformedMessageError('capabilities: "did" must be a DID')
  if (!isIpldMap(value.affinities)) throw new MalformedMessageError('capabilities: "affinities" must be a map')
  if (Object.keys(value.affinities).length > 256) throw new MalformedMessageError('capabilities: too many affinities')
  if (typeof value.expires !== 'number' || !Number.isFinite(value.expires)) throw new MalformedMessageError('capabilities: "expires" must be a time in milliseconds')
  const workers = count(value.workers, 'workers')
  const capabilities: Capabilities = {
    did: value.did,
    peerId,
    ops: stringList(value.ops, 'ops'),
    affinities: value.affinities,
    workers,
    freeWorkers: Math.min(count(value.freeWorkers, 'freeWorkers'), workers),
    modules: stringList(value.modules ?? [], 'modules'),
    data: stringList(value.data ?? [], 'data'),
    expires: value.expires
  }
  if (value.memoryBytes !== undefined && value.memoryBytes !== null) capabilities.memoryBytes = count(value.memoryBytes, 'memoryBytes')
  return capabilities
}

/** A receipt announcement as read off the wire (the inline receipt not yet checked against `receiptCid`). */
export interface ReceiptAnnouncement {
  instruction: CID
  receiptCid: CID
  /** Where the announcer listens (pointer announcements only: an inline receipt needs no fetch). */
  addrs: string[]
  /** The receipt and its DAG-CBOR bytes, when small enough to travel in the announcement. */
  inline?: { receipt: Receipt, bytes: Uint8Array }
}

/**
 * Reads a receipt announcement `{instruction, receiptCid, receipt?, addrs?}`: `receipt` is the
 * receipt's DAG-CBOR bytes (at most {@link MAX_INLINE_RECEIPT_BYTES}); without it, `addrs` holds up
 * to 4 multiaddrs the announcer listens on, to fetch it from. Throws {@link MalformedMessageError}.
 */
export function readReceiptAnnouncement (value: IpldValue): ReceiptAnnouncement {
  if (!isIpldMap(value)) throw new MalformedMessageError('a receipt announcement is {instruction, receiptCid}')
  const instruction = asCid(value.instruction)
  const receiptCid = asCid(value.receiptCid)
  if (instruction === undefined || receiptCid === undefined) throw new MalformedMessageError('a receipt announcement is {instruction: CID, receiptCid: CID}')
  const addrs = value.addrs ?? []
  if (!Array.isArray(addrs) || addrs.length > 4 || !addrs.every((a) => typeof a === 'string' && a.length <= 256)) {
    throw new MalformedMessageError('a receipt announcement\'s "addrs" is a list of at most 4 multiaddrs')
  }
  const announcement: ReceiptAnnouncement = { instruction, receiptCid, addrs: addrs as string[] }
  if (value.receipt !== undefined) {
    const bytes = value.receipt
    if (!(bytes instanceof Uint8Array) || bytes.byteLength > MAX_INLINE_RECEIPT_BYTES) {
      throw new MalformedMessageError(`a receipt announcement's "receipt" is the receipt's DAG-CBOR bytes, at most ${MAX_INLINE_RECEIPT_BYTES}`)
    }
    try {
      announcement.inline = { receipt: readReceipt(decode(bytes)), bytes }
    } catch (err) {
      throw new MalformedMessageError(`a receipt announcement's receipt does not read: ${(err as Error).message}`)
    }
  }
  return announcement
}
