/** Receipts for the store tests, built with @ipvm/core exactly as the runtime builds them. */
import { type CID, encode, type Instruction, instructionCid, invocationCid, type IpldMap, type Receipt, receiptCid, receiptToIpld } from '@ipvm/core'
import type { StoredReceipt } from '../src/index.js'

export interface EntryOptions {
  /** Variant of the receipt for the same instruction (changes its CID, not the instruction's). */
  variant?: number
  replayable?: boolean
  workflow?: CID
  args?: CID[]
  acceptedFrom?: string[]
  /** Bytes of padding in `meta`, to control the entry's size. */
  pad?: number
}

export function instructionFor (n: number): Instruction {
  return { rsc: 'ipfs://bafybeibk42jwhq7w2zcpe6q3wgtleugp3ymfs3pa5gerjmnakqihhqx4zq', op: 'wasm/run', input: { func: 'add_one', args: [n] }, nnc: '' }
}

/** A receipt answering `add_one(n)`, with everything the store indexes. */
export async function makeEntry (n: number, options: EntryOptions = {}): Promise<StoredReceipt> {
  const instruction = instructionFor(n)
  const ran = await invocationCid({ task: { run: instruction, cause: null, meta: {}, prf: [] } })
  const meta: IpldMap = { variant: options.variant ?? 0 }
  if (options.pad !== undefined) meta.pad = new Uint8Array(options.pad).fill(n & 0xff)
  const replayable = options.replayable ?? true
  const receipt: Receipt = {
    ran,
    out: replayable ? { ok: n + 1 } : { error: { name: 'OutOfFuel', message: 'fuel exhausted' } },
    fx: { fork: [] },
    meta,
    iss: null,
    prf: []
  }
  const entry: StoredReceipt = { receipt, receiptCid: await receiptCid(receipt), instruction: await instructionCid(instruction), replayable }
  if (options.workflow !== undefined) entry.workflow = options.workflow
  if (options.args !== undefined) entry.args = options.args
  if (options.acceptedFrom !== undefined) entry.acceptedFrom = options.acceptedFrom
  return entry
}

/** The size a store accounts for an entry: its DAG-CBOR bytes. */
export function sizeOf (entry: StoredReceipt): number {
  return (entry.bytes ?? encode(receiptToIpld(entry.receipt))).byteLength
}
