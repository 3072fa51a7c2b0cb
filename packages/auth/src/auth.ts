/**
 * `createAuth`: one node's identity and trust policy bound together, in the style of js-libp2p
 * factories. The runtime holds one `Auth`; everything it does is also available as plain functions.
 */
import type { Invocation, Receipt } from '@ipvm/core'
import { type ReplayCache, type SignedInvocation, type SignInvocationOptions, type VerifiedInvocation, createReplayCache, signInvocation, verifyInvocation } from './invocation.js'
import { type UnsignedReceipt, type VerifyReceiptOptions, signReceipt, verifyReceipt } from './receipt.js'
import type { AbortOptions, Signer } from './signer.js'
import { type Capability, type DelegateOptions, type Delegation, type DelegationCache, delegate, ipvmCapability } from './ucan.js'

/** Options of {@link createAuth}. */
export interface AuthInit {
  /** This node's identity. */
  signer: Signer
  /** Providers (besides this node) whose delegations this node honours when executing. */
  trusted?: Iterable<string>
  /** Clock in milliseconds since the epoch (default `Date.now`). */
  now?: () => number
  /** Seconds an `iat` / `nbf` may lie in the future (default 30). */
  clockSkew?: number
  /** Replay cache for invocations received (default: a new bounded in-memory cache). */
  replay?: ReplayCache
  /** Cache of signature-checked UCANs (default shared; `false` for none). */
  cache?: DelegationCache | false
}

/** One node's authority: sign and delegate as it, verify what peers send it. */
export interface Auth {
  readonly did: string
  readonly signer: Signer
  /** The providers this node honours besides itself. */
  readonly trusted: ReadonlySet<string>
  trust: (did: string) => void
  untrust: (did: string) => void
  /** This node's root capability over its own compute (`ipvm:<did>`, default `ipvm/*`). */
  capability: (can?: string) => Capability
  /** Delegates as this node (see {@link delegate}). */
  delegate: (options: Omit<DelegateOptions, 'issuer'>) => Promise<Delegation>
  /** Signs an invocation for the executor `options.audience`. */
  signInvocation: (invocation: Invocation, options: SignInvocationOptions) => Promise<SignedInvocation>
  /** Checks an invocation sent to this node (audience = this node, root = this node or trusted). */
  verifyInvocation: (signed: SignedInvocation, options?: AbortOptions) => Promise<VerifiedInvocation>
  /** Signs a receipt as this node. */
  signReceipt: (receipt: UnsignedReceipt, options?: AbortOptions) => Promise<Receipt>
  /** Checks a receipt (by default: issuer must be this node or trusted). */
  verifyReceipt: (receipt: Receipt, options?: VerifyReceiptOptions) => Promise<Receipt>
}

/** Binds an identity and a trust policy. */
export function createAuth (init: AuthInit): Auth {
  const { signer } = init
  const trusted = new Set(init.trusted ?? [])
  const replay = init.replay ?? createReplayCache()
  const now = init.now ?? Date.now
  return {
    did: signer.did,
    signer,
    trusted,
    trust: (did) => { trusted.add(did) },
    untrust: (did) => { trusted.delete(did) },
    capability: (can) => ipvmCapability(signer.did, can),
    delegate: async (options) => await delegate({ now, ...options, issuer: signer }),
    signInvocation: async (invocation, options) => await signInvocation(invocation, signer, { now, ...options }),
    verifyInvocation: async (signed, options = {}) => {
      const verify: Parameters<typeof verifyInvocation>[1] = { executor: signer.did, trusted, replay, now }
      if (init.clockSkew !== undefined) verify.clockSkew = init.clockSkew
      if (init.cache !== undefined) verify.cache = init.cache
      if (options.signal !== undefined) verify.signal = options.signal
      return await verifyInvocation(signed, verify)
    },
    signReceipt: async (receipt, options) => await signReceipt(receipt, signer, options),
    verifyReceipt: async (receipt, options = {}) => {
      const defaults = options.expectedIssuer === undefined && options.trusted === undefined && options.anyIssuer !== true
      return await verifyReceipt(receipt, defaults ? { ...options, trusted: [signer.did, ...trusted] } : options)
    }
  }
}
