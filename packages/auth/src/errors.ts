/**
 * Typed refusals. Every reason an authorization, signature or identity check can fail has its own
 * class with a stable static `name` and `code`, and a stable `reason` string shared by all of them,
 * so callers can branch on `err.name` / `err.reason` across bundles, workers and the wire.
 */
import { IpvmError, registerError } from '@ipvm/core'

/** The stable reason codes of {@link AuthError} subclasses. */
export type AuthErrorReason =
  | 'expired'
  | 'not-yet-valid'
  | 'wrong-audience'
  | 'escalation'
  | 'broken-chain'
  | 'bad-signature'
  | 'replay'
  | 'caveat-exceeded'
  | 'unknown-issuer'
  | 'malformed'
  | 'receipt-mismatch'
  | 'unauthorized'

/** Base class of every refusal of `@ipvm/auth`; `reason` names why, `details` says where. */
export class AuthError extends IpvmError {
  static override readonly name: string = 'AuthError'
  static override readonly code: string = 'ERR_UNAUTHORIZED'
  static readonly reason: AuthErrorReason = 'unauthorized'

  /** The stable reason code of this refusal (also in `details.reason`). */
  get reason (): AuthErrorReason {
    const fromDetails = this.details?.reason
    if (typeof fromDetails === 'string') return fromDetails as AuthErrorReason
    return (this.constructor as typeof AuthError).reason ?? 'unauthorized'
  }

  constructor (message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, { ...details, reason: (new.target as typeof AuthError).reason }, options)
  }
}

/** A UCAN, invocation or receipt is past its expiry (`exp`). */
export class ExpiredError extends AuthError {
  static override readonly name = 'ExpiredError'
  static override readonly code = 'ERR_EXPIRED'
  static override readonly reason = 'expired'
}

/** A UCAN or invocation is not valid yet (`nbf` / `iat` in the future). */
export class NotYetValidError extends AuthError {
  static override readonly name = 'NotYetValidError'
  static override readonly code = 'ERR_NOT_YET_VALID'
  static override readonly reason = 'not-yet-valid'
}

/** An invocation (or the UCAN that carries it) is addressed to someone else. */
export class WrongAudienceError extends AuthError {
  static override readonly name = 'WrongAudienceError'
  static override readonly code = 'ERR_WRONG_AUDIENCE'
  static override readonly reason = 'wrong-audience'
}

/**
 * A delegation claims more than its proof grants: a wider ability or resource, a wider caveat
 * (`details.what`: `ability`, `resource`, `modules`, `fuel`, `memory`, `expiry`), or an invoker
 * asks for an ability no delegation gives it.
 */
export class EscalationError extends AuthError {
  static override readonly name = 'EscalationError'
  static override readonly code = 'ERR_ESCALATION'
  static override readonly reason = 'escalation'
}

/** The proofs do not form a chain: a proof's audience is not the next issuer, or a proof is missing. */
export class BrokenChainError extends AuthError {
  static override readonly name = 'BrokenChainError'
  static override readonly code = 'ERR_BROKEN_CHAIN'
  static override readonly reason = 'broken-chain'
}

/** A signature (of a UCAN, an invocation or a receipt) does not verify, or is missing. */
export class BadSignatureError extends AuthError {
  static override readonly name = 'BadSignatureError'
  static override readonly code = 'ERR_BAD_SIGNATURE'
  static override readonly reason = 'bad-signature'
}

/** An invocation was seen before within its validity window. */
export class ReplayError extends AuthError {
  static override readonly name = 'ReplayError'
  static override readonly code = 'ERR_REPLAY'
  static override readonly reason = 'replay'
}

/** The task asks for more than the chain's caveats allow (`details.caveat`: `modules`, `fuel`, `memory`). */
export class CaveatExceededError extends AuthError {
  static override readonly name = 'CaveatExceededError'
  static override readonly code = 'ERR_CAVEAT_EXCEEDED'
  static override readonly reason = 'caveat-exceeded'
}

/** The chain's root, or a receipt's issuer, is not the verifier itself, expected, or trusted. */
export class UnknownIssuerError extends AuthError {
  static override readonly name = 'UnknownIssuerError'
  static override readonly code = 'ERR_UNKNOWN_ISSUER'
  static override readonly reason = 'unknown-issuer'
}

/** A UCAN, DID, key, signature or signed invocation cannot be parsed. */
export class MalformedError extends AuthError {
  static override readonly name = 'MalformedError'
  static override readonly code = 'ERR_MALFORMED'
  static override readonly reason = 'malformed'
}

/** A receipt's `ran` is not the CID of the invocation it was checked against. */
export class ReceiptMismatchError extends AuthError {
  static override readonly name = 'ReceiptMismatchError'
  static override readonly code = 'ERR_RECEIPT_MISMATCH'
  static override readonly reason = 'receipt-mismatch'
}

/** A keystore cannot load or store a key (no IndexedDB, an unreadable or too widely readable key file, …). */
export class KeystoreError extends IpvmError {
  static override readonly name: string = 'KeystoreError'
  static override readonly code: string = 'ERR_KEYSTORE'
}

/** The identity's private key was created non-extractable and cannot be exported. */
export class NotExtractableError extends KeystoreError {
  static override readonly name = 'NotExtractableError'
  static override readonly code = 'ERR_NOT_EXTRACTABLE'
}

/** Every error class of this package, registered with `@ipvm/core`'s `deserializeError`. */
export const AUTH_ERRORS = [
  AuthError, ExpiredError, NotYetValidError, WrongAudienceError, EscalationError, BrokenChainError,
  BadSignatureError, ReplayError, CaveatExceededError, UnknownIssuerError, MalformedError,
  ReceiptMismatchError, KeystoreError, NotExtractableError
] as const

for (const ErrorClass of AUTH_ERRORS) registerError(ErrorClass)
