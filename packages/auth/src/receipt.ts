/**
 * Receipt signatures (UCAN Invocation v0.2): the executor signs the DAG-CBOR of the receipt without
 * `sig`; `iss` names it. The signature is a Varsig: header `34 ed 01 71` + 64-byte Ed25519 signature.
 */
import { type CID, type Invocation, invocationCid, type Receipt, receiptSigningBytes, throwIfAborted } from '@ipvm/core'
import { CID as MfCID } from 'multiformats/cid'
import { fromVarsig, isEd25519Did, toVarsig, verifySignature } from './ed25519.js'
import { BadSignatureError, MalformedError, ReceiptMismatchError, UnknownIssuerError } from './errors.js'
import type { AbortOptions, Signer } from './signer.js'

/** A receipt before signing: `iss` and `sig` are set by {@link signReceipt}. */
export type UnsignedReceipt = Omit<Receipt, 'sig' | 'iss'> & { iss?: string | null }

/** Signs a receipt as `signer`: sets `iss` to its DID and `sig` to a Varsig over the rest. */
export async function signReceipt (receipt: UnsignedReceipt, signer: Signer, options: AbortOptions = {}): Promise<Receipt> {
  throwIfAborted(options.signal)
  const unsigned: Receipt = { ran: receipt.ran, out: receipt.out, fx: receipt.fx, meta: receipt.meta, iss: signer.did, prf: receipt.prf }
  const sig = toVarsig(await signer.sign(receiptSigningBytes(unsigned), options))
  return { ...unsigned, sig }
}

/** Options of {@link verifyReceipt}; name who may have signed (`expectedIssuer`, `trusted` or `anyIssuer`). */
export interface VerifyReceiptOptions extends AbortOptions {
  /** The executor the receipt must come from. */
  expectedIssuer?: string
  /** Executors whose receipts are accepted. */
  trusted?: Iterable<string>
  /** Accept any signer (the signature must still verify); for receipts judged by other means. */
  anyIssuer?: boolean
  /** The invocation (or its CID) the receipt must be for. */
  invocation?: Invocation | CID
}

/**
 * Checks a receipt's signature, that its issuer is expected or trusted, and (given `invocation`) that
 * `ran` is that invocation's CID. Returns the receipt; throws {@link BadSignatureError},
 * {@link UnknownIssuerError} or {@link ReceiptMismatchError}.
 */
export async function verifyReceipt (receipt: Receipt, options: VerifyReceiptOptions = {}): Promise<Receipt> {
  throwIfAborted(options.signal)
  const iss = receipt.iss
  if (iss === null || iss === undefined) throw new UnknownIssuerError('the receipt names no issuer (unsigned receipt)', { ran: receipt.ran?.toString() })
  if (!isEd25519Did(iss)) throw new MalformedError(`the receipt issuer is not an Ed25519 did:key: ${String(iss).slice(0, 80)}`)
  const trusted = new Set(options.trusted ?? [])
  if (options.expectedIssuer !== undefined) trusted.add(options.expectedIssuer)
  if (options.anyIssuer !== true && !trusted.has(iss)) {
    throw new UnknownIssuerError(`the receipt is signed by ${iss}, who is neither expected nor trusted`, { issuer: iss, expected: options.expectedIssuer })
  }
  if (receipt.sig === undefined) throw new BadSignatureError('the receipt has no signature', { issuer: iss })
  const raw = fromVarsig(receipt.sig)
  if (!await verifySignature(iss, receiptSigningBytes(receipt), raw)) {
    throw new BadSignatureError(`the receipt signature by ${iss} does not verify`, { issuer: iss, ran: receipt.ran.toString() })
  }
  if (options.invocation !== undefined) {
    const asCid: CID | null = MfCID.asCID(options.invocation as unknown)
    const expected: CID = asCid ?? await invocationCid(options.invocation as Invocation)
    const ran = String(receipt.ran)
    if (ran !== expected.toString()) {
      throw new ReceiptMismatchError(`the receipt is for ${ran}, not for ${expected.toString()}`, { ran, expected: expected.toString() })
    }
  }
  return receipt
}
