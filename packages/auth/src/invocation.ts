/**
 * Signed invocations: a task sent to a peer, signed by its invoker and carrying the UCAN proofs of
 * the invoker's authority; and the executor's check of all of it before anything runs.
 */
import {
  type CID, encode, generateNonce, type Invocation, invocationCid, invocationToIpld, type IpldMap, type IpldValue,
  isIpldMap, IssueCollector, readTask, resourceCid, throwIfAborted
} from '@ipvm/core'
import { CID as MfCID } from 'multiformats/cid'
import { fromVarsig, isEd25519Did, toVarsig, verifySignature } from './ed25519.js'
import {
  BadSignatureError, CaveatExceededError, ExpiredError, MalformedError, NotYetValidError, ReplayError, WrongAudienceError
} from './errors.js'
import type { AbortOptions, Signer } from './signer.js'
import { type Authority, type Caveats, type Delegation, type DelegationCache, verifyAuthority } from './ucan.js'

/** An invocation signed by its invoker for one executor. */
export interface SignedInvocation {
  /** The invocation `{task, auth?}`; its CID is the `ran` of the receipt. */
  invocation: Invocation
  /** The invoker's DID. */
  iss: string
  /** The executor's DID. */
  aud: string
  /** Unique per invoker: a second use is a replay. */
  nonce: string
  /** Issued at, seconds since the epoch. */
  iat: number
  /** Expiry, seconds since the epoch. */
  exp: number
  /** UCAN delegations (JWTs) to `iss` proving its authority; empty when `iss` is the executor's own root. */
  prf: string[]
  /** Varsig (Ed25519, DAG-CBOR) of {@link invocationSigningPayload}. */
  sig: Uint8Array
}

/** The tag of the signed payload, so the signature cannot be confused with another structure's. */
export const INVOCATION_SIGNATURE_TAG = 'ipvm/invocation@0.1.0'

/**
 * What the invoker signs: DAG-CBOR of `{"ipvm/invocation@0.1.0": {inv: <invocation CID>, iss, aud,
 * nonce, iat, exp}}`.
 */
export async function invocationSigningPayload (signed: Omit<SignedInvocation, 'sig' | 'prf'>): Promise<Uint8Array> {
  const inv = await invocationCid(signed.invocation)
  return encode({ [INVOCATION_SIGNATURE_TAG]: { inv, iss: signed.iss, aud: signed.aud, nonce: signed.nonce, iat: signed.iat, exp: signed.exp } })
}

/** Options of {@link signInvocation}. */
export interface SignInvocationOptions extends AbortOptions {
  /** The executor's DID. */
  audience: string
  /** Delegations to the signer proving its authority. */
  proofs?: Array<Delegation | string>
  /** Lifetime in seconds (default 300). */
  lifetime?: number
  /** Expiry in seconds since the epoch (overrides `lifetime`). */
  expiration?: number
  /** A nonce (default: 12 random bytes, base32hex). */
  nonce?: string
  /** Clock in milliseconds since the epoch (default `Date.now`). */
  now?: () => number
}

/** Signs `invocation` by `signer` for the executor `options.audience`. */
export async function signInvocation (invocation: Invocation, signer: Signer, options: SignInvocationOptions): Promise<SignedInvocation> {
  throwIfAborted(options.signal)
  if (!isEd25519Did(options.audience)) throw new MalformedError(`the audience must be an Ed25519 did:key, got ${String(options.audience).slice(0, 80)}`)
  const iat = Math.floor((options.now ?? Date.now)() / 1000)
  const body = {
    invocation,
    iss: signer.did,
    aud: options.audience,
    nonce: options.nonce ?? generateNonce(),
    iat,
    exp: options.expiration ?? iat + (options.lifetime ?? 300)
  }
  const sig = toVarsig(await signer.sign(await invocationSigningPayload(body), options))
  return { ...body, prf: (options.proofs ?? []).map((p) => typeof p === 'string' ? p : p.jwt), sig }
}

/** The IPLD form of a signed invocation, for the wire. */
export function signedInvocationToIpld (signed: SignedInvocation): IpldMap {
  return {
    inv: invocationToIpld(signed.invocation),
    iss: signed.iss,
    aud: signed.aud,
    nonce: signed.nonce,
    iat: signed.iat,
    exp: signed.exp,
    prf: signed.prf,
    sig: signed.sig
  }
}

function isCid (value: unknown): value is CID {
  return MfCID.asCID(value) !== null
}

/** Reads a signed invocation from its IPLD form (untrusted input); throws {@link MalformedError}. */
export function readSignedInvocation (value: unknown): SignedInvocation {
  if (!isIpldMap(value)) throw new MalformedError('a signed invocation is a map')
  const inv = value.inv
  if (!isIpldMap(inv)) throw new MalformedError('signed invocation: "inv" must be an invocation map {task, auth?}')
  const issues = new IssueCollector()
  const task = readTask(inv.task, 'inv.task', issues)
  if (task === undefined || !issues.ok) {
    const first = issues.issues[0]
    throw new MalformedError(`signed invocation: ${first === undefined ? 'invalid task' : `${first.path}: expected ${first.expected}, got ${first.got}`}`, { issues: issues.issues })
  }
  const invocation: Invocation = { task }
  if (inv.auth !== undefined && inv.auth !== null) {
    if (!isCid(inv.auth)) throw new MalformedError('signed invocation: "inv.auth" must be a link')
    invocation.auth = inv.auth
  }
  for (const key of ['iss', 'aud', 'nonce'] as const) {
    if (typeof value[key] !== 'string') throw new MalformedError(`signed invocation: "${key}" must be a string`)
  }
  for (const key of ['iat', 'exp'] as const) {
    if (typeof value[key] !== 'number' || !Number.isSafeInteger(value[key])) throw new MalformedError(`signed invocation: "${key}" must be an integer`)
  }
  const prf = value.prf ?? []
  if (!Array.isArray(prf) || !prf.every((p) => typeof p === 'string')) throw new MalformedError('signed invocation: "prf" must be a list of UCAN strings')
  if (!(value.sig instanceof Uint8Array)) throw new MalformedError('signed invocation: "sig" must be bytes')
  return {
    invocation,
    iss: value.iss as string,
    aud: value.aud as string,
    nonce: value.nonce as string,
    iat: value.iat as number,
    exp: value.exp as number,
    prf: prf as string[],
    sig: value.sig
  }
}

// ----------------------------------------------------------------------------------------- replay

/** Remembers invocations until they expire, to refuse a second use. */
export interface ReplayCache {
  /**
   * Records `key` until `expiration` (seconds) and returns true, or returns false when `key` was seen
   * and has not expired (or may have been forgotten under memory pressure).
   */
  add: (key: string, expiration: number, now: number) => boolean
  readonly size: number
}

/** Options of {@link createReplayCache}. */
export interface ReplayCacheInit {
  /** Most entries kept (default 100 000). */
  maxEntries?: number
}

/**
 * A bounded in-memory {@link ReplayCache}. When full, it forgets the entries closest to expiry and
 * from then on refuses anything that expires no later than the latest forgotten one, so a forgotten
 * invocation can never be replayed.
 */
export function createReplayCache (init: ReplayCacheInit = {}): ReplayCache {
  const maxEntries = Math.max(1, init.maxEntries ?? 100_000)
  const seen = new Map<string, number>()
  let watermark = Number.NEGATIVE_INFINITY
  const prune = (now: number): void => {
    for (const [key, exp] of seen) if (exp <= now) seen.delete(key)
    if (seen.size < maxEntries) return
    const byExpiry = [...seen].sort((a, b) => a[1] - b[1])
    const drop = byExpiry.slice(0, Math.max(1, Math.ceil(maxEntries / 10)))
    for (const [key, exp] of drop) {
      seen.delete(key)
      if (exp > watermark) watermark = exp
    }
  }
  return {
    add (key, expiration, now) {
      const previous = seen.get(key)
      if (previous !== undefined && previous > now) return false
      if (expiration <= watermark) return false
      if (seen.size >= maxEntries) prune(now)
      if (expiration <= watermark) return false
      seen.set(key, expiration)
      return true
    },
    get size () {
      return seen.size
    }
  }
}

// ----------------------------------------------------------------------------------- verification

/** Options of {@link verifyInvocation}. */
export interface VerifyInvocationOptions extends AbortOptions {
  /** The executor's DID: the expected audience, and a root of authority. */
  executor: string
  /** Other providers whose delegations the executor honours (e.g. its operator). */
  trusted?: Iterable<string>
  /** Where seen invocations are remembered; `false` turns replay protection off. */
  replay: ReplayCache | false
  /** Clock in milliseconds since the epoch (default `Date.now`). */
  now?: () => number
  /** Seconds an `iat` / `nbf` may lie in the future (default 30). Expiry is never stretched. */
  clockSkew?: number
  /** Cache of signature-checked UCANs (default shared; `false` for none). */
  cache?: DelegationCache | false
}

/** Limits a task runs under: what it asked for, capped by the caveats (absent = runtime default). */
export interface TaskLimits {
  fuel?: number | bigint
  memory?: number | bigint
}

/** A signed invocation that passed every check. */
export interface VerifiedInvocation {
  invocation: Invocation
  /** The invocation CID: the `ran` of its receipt. */
  cid: CID
  /** The invoker. */
  issuer: string
  authority: Authority
  /** Limits for the runtime to enforce: the task's `meta`, or the caveat where the task states none. */
  limits: TaskLimits
}

/** The module CID a resource names (normalized to base32 CIDv1), or undefined. */
export function moduleOf (rsc: string): string | undefined {
  // The same resource rule as the runtime's: a caveat names the module the runtime would load.
  return resourceCid(rsc)?.toV1().toString()
}

function limitOf (value: IpldValue | undefined): number | bigint | undefined {
  if (typeof value === 'number' || typeof value === 'bigint') return value
  return undefined
}

/**
 * Checks a task against caveats and returns the limits it must run under; throws
 * {@link CaveatExceededError} for a module not allowed, or fuel / memory above the caveat.
 */
export function checkTaskCaveats (invocation: Invocation, caveats: Caveats): TaskLimits {
  const { run, meta } = invocation.task
  if (caveats.modules !== undefined) {
    const module = moduleOf(run.rsc)
    if (module === undefined || !caveats.modules.includes(module)) {
      throw new CaveatExceededError(`module ${run.rsc} is not among the modules allowed`, { caveat: 'modules', rsc: run.rsc, allowed: caveats.modules })
    }
  }
  const limits: TaskLimits = {}
  for (const key of ['fuel', 'memory'] as const) {
    const asked = limitOf(meta[key])
    const cap = caveats[key]
    if (asked !== undefined && cap !== undefined && (typeof asked === 'bigint' ? asked > BigInt(Math.floor(cap)) : asked > cap)) {
      throw new CaveatExceededError(`task asks for ${key} ${asked}, the delegation allows ${cap}`, { caveat: key, asked: String(asked), allowed: cap })
    }
    const limit = asked ?? cap
    if (limit !== undefined) limits[key] = limit
  }
  return limits
}

/**
 * The executor's check of a signed invocation, in order: shape, audience, signature, time bounds,
 * authority chain (root = the executor or a trusted provider), caveats against the task, replay.
 * Throws an {@link AuthError} subclass naming the reason; records the nonce only when all passed.
 */
export async function verifyInvocation (signed: SignedInvocation, options: VerifyInvocationOptions): Promise<VerifiedInvocation> {
  throwIfAborted(options.signal)
  const where = { issuer: signed.iss, audience: signed.aud, nonce: signed.nonce }
  if (!isEd25519Did(signed.iss)) throw new MalformedError(`invocation issuer is not an Ed25519 did:key: ${String(signed.iss).slice(0, 80)}`)
  if (signed.aud !== options.executor) {
    throw new WrongAudienceError(`invocation is addressed to ${signed.aud}, not to ${options.executor}`, { ...where, expected: options.executor })
  }
  const payload = await invocationSigningPayload(signed)
  const raw = fromVarsig(signed.sig)
  if (!await verifySignature(signed.iss, payload, raw)) {
    throw new BadSignatureError(`invocation signature by ${signed.iss} does not verify`, where)
  }
  const nowMs = (options.now ?? Date.now)()
  const now = Math.floor(nowMs / 1000)
  const skew = options.clockSkew ?? 30
  if (signed.exp <= now) throw new ExpiredError(`invocation expired at ${signed.exp}`, { ...where, expiration: signed.exp, now })
  if (signed.iat > now + skew) throw new NotYetValidError(`invocation issued in the future (${signed.iat})`, { ...where, issuedAt: signed.iat, now })
  const authorityOptions: Parameters<typeof verifyAuthority>[0] = {
    holder: signed.iss,
    can: signed.invocation.task.run.op,
    roots: [options.executor, ...(options.trusted ?? [])],
    proofs: signed.prf,
    now: () => nowMs,
    clockSkew: skew
  }
  if (options.cache !== undefined) authorityOptions.cache = options.cache
  if (options.signal !== undefined) authorityOptions.signal = options.signal
  const authority = await verifyAuthority(authorityOptions)
  const limits = checkTaskCaveats(signed.invocation, authority.caveats)
  const cid = await invocationCid(signed.invocation)
  throwIfAborted(options.signal)
  if (options.replay !== false && !options.replay.add(`${signed.iss}\n${signed.nonce}`, signed.exp, now)) {
    throw new ReplayError(`invocation ${cid.toString()} (nonce ${signed.nonce}) was already seen`, { ...where, invocation: cid.toString() })
  }
  return { invocation: signed.invocation, cid, issuer: signed.iss, authority, limits }
}
