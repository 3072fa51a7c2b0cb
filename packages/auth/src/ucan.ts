/**
 * UCAN delegation and verification behind a small interface ({@link Delegation}, {@link delegate},
 * {@link verifyAuthority}) so the wire format can change without touching the runtime.
 *
 * On the wire today: JWT UCANs as @ucans/ucans 0.12 writes them (header `ucv: "0.8.1"`, the
 * 0.8/0.9 payload: `att: [{with, can}]`, inline JWT proofs in `prf`, IPVM caveats in `fct`).
 * The library builds, parses and checks signatures; the chain walk, time bounds (with an injectable
 * clock), attenuation and caveat rules are ours, so every refusal has a typed reason.
 */
import * as ucans from '@ucans/ucans'
import { throwIfAborted } from '@ipvm/core'
import { CID } from 'multiformats/cid'
import { isEd25519Did, publicKeyFromDid, verifySignature } from './ed25519.js'
import {
  AuthError, BadSignatureError, BrokenChainError, EscalationError, ExpiredError, MalformedError, NotYetValidError,
  UnknownIssuerError
} from './errors.js'
import type { AbortOptions, Signer } from './signer.js'

/** A UCAN capability: `with` a resource URI, `can` an ability. */
export interface Capability {
  /** For IPVM compute: `ipvm:<provider did>`. */
  with: string
  /** `wasm/run`, `ipvm/*` (every IPVM ability) or `*` (superuser). */
  can: string
}

/**
 * Limits the runtime enforces on everything a delegation allows. Absent fields add no limit of
 * their own (the proof's limits still apply).
 */
export interface Caveats {
  /** Module CIDs (`run.rsc` = `ipfs://<cid>`) that may be run. */
  modules?: string[]
  /** The most fuel one task may ask for. */
  fuel?: number
  /** The most memory (bytes) one task may ask for. */
  memory?: number
}

/** A parsed (not necessarily verified) UCAN delegation. */
export interface Delegation {
  /** The encoded UCAN (JWT) as sent on the wire. */
  readonly jwt: string
  readonly issuer: string
  readonly audience: string
  readonly capabilities: readonly Capability[]
  readonly caveats: Caveats
  /** Expiry, seconds since the epoch. */
  readonly expiration: number
  /** Not-before, seconds since the epoch. */
  readonly notBefore?: number
  readonly nonce?: string
  /** Facts other than IPVM caveats. */
  readonly facts: ReadonlyArray<Record<string, unknown>>
  /** Proofs (encoded UCANs). */
  readonly proofs: readonly string[]
}

/** The UCAN version written on the wire (header `ucv`). */
export const UCAN_VERSION = '0.8.1'
/** The fact key IPVM caveats are stored under: `fct: [{"ipvm/caveats": {modules, fuel, memory}}]`. */
export const CAVEATS_FACT = 'ipvm/caveats'
/** The resource scheme of IPVM compute capabilities. */
export const IPVM_SCHEME = 'ipvm'
/** The ability that covers every IPVM ability (`wasm/run` among them). */
export const IPVM_ALL = 'ipvm/*'
export const SUPERUSER = '*'

/** The root capability of a provider over its own compute: `{with: "ipvm:<did>", can}`. */
export function ipvmCapability (providerDid: string, can: string = IPVM_ALL): Capability {
  return { with: `${IPVM_SCHEME}:${providerDid}`, can }
}

/** The provider DID of an `ipvm:<did>` resource, or undefined for any other resource. */
export function providerOf (resource: string): string | undefined {
  if (!resource.startsWith(`${IPVM_SCHEME}:`)) return undefined
  const did = resource.slice(IPVM_SCHEME.length + 1)
  return did.startsWith('did:') ? did : undefined
}

/**
 * Whether a capability with ability `parent` may be delegated as `child` (on the same resource):
 * `*` covers everything; `ipvm/*` covers every ability but `*`; `ns/*` covers `ns/…`; otherwise
 * only the same ability (case-insensitive). Nothing but `*` covers `*`.
 */
export function abilityCovers (parent: string, child: string): boolean {
  const p = parent.toLowerCase()
  const c = child.toLowerCase()
  if (p === SUPERUSER) return true
  if (c === SUPERUSER) return false
  if (p === c) return true
  if (p === IPVM_ALL) return true
  if (p.endsWith('/*')) return c.startsWith(p.slice(0, -1))
  return false
}

// ------------------------------------------------------------------------------------- the library

const edPlugin: ucans.DidKeyPlugin = {
  prefix: Uint8Array.of(0xed, 0x01),
  jwtAlg: 'EdDSA',
  verifySignature: async (did: string, data: Uint8Array, sig: Uint8Array): Promise<boolean> => await verifySignature(did, data, sig)
}
const api = ucans.getPluginInjectedApi(new ucans.Plugins([edPlugin], {}))

function keypairOf (signer: Signer): ucans.DidableKey {
  return { jwtAlg: 'EdDSA', did: () => signer.did, sign: async (msg: Uint8Array) => await signer.sign(msg) }
}

// ---------------------------------------------------------------------------------------- caveats

function normalizeModule (module: string): string {
  try {
    return CID.parse(module).toV1().toString()
  } catch {
    return module
  }
}

function isNonNegativeNumber (v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0
}

/** Checks and normalizes caveats (module CIDs as base32 CIDv1); throws {@link MalformedError}. */
export function normalizeCaveats (caveats: unknown, strict = true): Caveats {
  if (caveats === undefined || caveats === null) return {}
  if (typeof caveats !== 'object' || Array.isArray(caveats)) throw new MalformedError('caveats must be a map {modules?, fuel?, memory?}')
  const c = caveats as Record<string, unknown>
  const out: Caveats = {}
  if (c.modules !== undefined) {
    if (!Array.isArray(c.modules) || !c.modules.every((m) => typeof m === 'string')) {
      throw new MalformedError('caveats.modules must be a list of CID strings')
    }
    const modules: string[] = []
    for (const m of c.modules as string[]) {
      const n = normalizeModule(m)
      if (strict && n === m && !isCidString(m)) throw new MalformedError(`caveats.modules: not a CID: ${m.slice(0, 80)}`)
      if (!modules.includes(n)) modules.push(n)
    }
    out.modules = modules
  }
  for (const key of ['fuel', 'memory'] as const) {
    const v = c[key]
    if (v === undefined) continue
    if (!isNonNegativeNumber(v)) throw new MalformedError(`caveats.${key} must be a non-negative number`)
    out[key] = v
  }
  return out
}

function isCidString (text: string): boolean {
  try {
    CID.parse(text)
    return true
  } catch {
    return false
  }
}

/** The limits both caveat sets impose (the narrower of each). */
export function intersectCaveats (a: Caveats, b: Caveats): Caveats {
  const out: Caveats = {}
  if (a.modules !== undefined && b.modules !== undefined) {
    const inB = new Set(b.modules)
    out.modules = a.modules.filter((m) => inB.has(m))
  } else if (a.modules !== undefined || b.modules !== undefined) {
    out.modules = [...(a.modules ?? b.modules ?? [])]
  }
  for (const key of ['fuel', 'memory'] as const) {
    const x = a[key]
    const y = b[key]
    if (x !== undefined || y !== undefined) out[key] = Math.min(x ?? Number.POSITIVE_INFINITY, y ?? Number.POSITIVE_INFINITY)
  }
  return out
}

/** Throws {@link EscalationError} when `child` states a caveat wider than `parent` allows. */
export function checkCaveatAttenuation (parent: Caveats, child: Caveats, where: Record<string, unknown> = {}): void {
  if (child.modules !== undefined && parent.modules !== undefined) {
    const allowed = new Set(parent.modules)
    const extra = child.modules.filter((m) => !allowed.has(m))
    if (extra.length > 0) {
      throw new EscalationError(`delegation allows modules its proof does not: ${extra.join(', ')}`, { ...where, what: 'modules', extra })
    }
  } else if (child.modules === undefined && parent.modules !== undefined) {
    // Inherits the parent's list: no escalation.
  }
  for (const key of ['fuel', 'memory'] as const) {
    const p = parent[key]
    const c = child[key]
    if (p !== undefined && c !== undefined && c > p) {
      throw new EscalationError(`delegation allows ${key} ${c}, its proof only ${p}`, { ...where, what: key, allowed: p, claimed: c })
    }
  }
}

// -------------------------------------------------------------------------------------- delegation

/** Options of {@link delegate}. */
export interface DelegateOptions extends AbortOptions {
  /** Who delegates (signs). */
  issuer: Signer
  /** The DID the capabilities are delegated to. */
  audience: string
  capabilities: Capability[]
  caveats?: Caveats
  /** Expiry in seconds since the epoch; default `now + lifetime`. */
  expiration?: number
  /** Lifetime in seconds when `expiration` is absent (default 3600). */
  lifetime?: number
  /** Not-before in seconds since the epoch. */
  notBefore?: number
  /** The proofs the issuer's authority rests on (its own delegations). */
  proofs?: Array<Delegation | string>
  /** Extra facts. */
  facts?: Array<Record<string, unknown>>
  /** Add a random nonce (default true) so equal delegations have different tokens. */
  nonce?: boolean
  /** Clock in milliseconds since the epoch (default `Date.now`). */
  now?: () => number
}

/**
 * Signs a UCAN delegating `capabilities` (limited by `caveats`) from `issuer` to `audience`. It does
 * not check that the issuer holds what it delegates: verifiers do ({@link verifyAuthority}).
 */
export async function delegate (options: DelegateOptions): Promise<Delegation> {
  throwIfAborted(options.signal)
  if (!isEd25519Did(options.audience)) throw new MalformedError(`the audience must be an Ed25519 did:key, got ${String(options.audience).slice(0, 80)}`)
  if (!Array.isArray(options.capabilities) || options.capabilities.length === 0) throw new MalformedError('a delegation needs at least one capability')
  const now = Math.floor((options.now ?? Date.now)() / 1000)
  const expiration = options.expiration ?? now + (options.lifetime ?? 3600)
  if (!Number.isSafeInteger(expiration)) throw new MalformedError('expiration must be an integer number of seconds')
  const caveats = normalizeCaveats(options.caveats)
  const facts: Array<Record<string, unknown>> = [...(options.facts ?? [])]
  if (Object.keys(caveats).length > 0) facts.push({ [CAVEATS_FACT]: caveats })
  const params: Parameters<typeof api.build>[0] = {
    issuer: keypairOf(options.issuer),
    audience: options.audience,
    capabilities: options.capabilities.map((c) => ucans.capability.parse({ with: c.with, can: c.can })),
    expiration,
    proofs: (options.proofs ?? []).map((p) => typeof p === 'string' ? p : p.jwt),
    addNonce: options.nonce !== false
  }
  if (facts.length > 0) params.facts = facts
  if (options.notBefore !== undefined) params.notBefore = options.notBefore
  const ucan = await api.build(params)
  return toDelegation(ucans.encode(ucan), ucan.payload)
}

function toDelegation (jwt: string, payload: ucans.UcanPayload): Delegation {
  let caveats: Caveats = {}
  let first = true
  const facts: Array<Record<string, unknown>> = []
  for (const fact of payload.fct ?? []) {
    if (Object.hasOwn(fact, CAVEATS_FACT)) {
      const c = normalizeCaveats(fact[CAVEATS_FACT], false)
      caveats = first ? c : intersectCaveats(caveats, c)
      first = false
      const rest = { ...fact }
      delete rest[CAVEATS_FACT]
      if (Object.keys(rest).length > 0) facts.push(rest)
    } else {
      facts.push(fact)
    }
  }
  const d: { -readonly [K in keyof Delegation]: Delegation[K] } = {
    jwt,
    issuer: payload.iss,
    audience: payload.aud,
    capabilities: payload.att.map((c) => ucans.capability.encode(c)),
    caveats,
    expiration: payload.exp,
    facts,
    proofs: [...payload.prf]
  }
  if (payload.nbf !== undefined && payload.nbf !== null) d.notBefore = payload.nbf
  if (payload.nnc !== undefined && payload.nnc !== null) d.nonce = payload.nnc
  return Object.freeze(d)
}

/** Parses an encoded UCAN without checking its signature; throws {@link MalformedError}. */
export function parseDelegation (jwt: string): Delegation {
  if (typeof jwt !== 'string') throw new MalformedError('a UCAN is a JWT string')
  let parts: ucans.UcanParts
  try {
    parts = ucans.parse(jwt)
  } catch (err) {
    throw new MalformedError(`not a UCAN: ${(err as Error).message.slice(0, 200)}`, {}, { cause: err })
  }
  if (jwt.split('.').length !== 3) throw new MalformedError('a UCAN JWT has three parts')
  return toDelegation(jwt, parts.payload)
}

/** A bounded set of UCANs whose signatures were checked (a signature never stops being valid). */
export interface DelegationCache {
  get: (jwt: string) => Delegation | undefined
  set: (jwt: string, delegation: Delegation) => void
}

/** A {@link DelegationCache} holding at most `maxEntries` UCANs (least recently added go first). */
export function createDelegationCache (maxEntries = 4096): DelegationCache {
  const map = new Map<string, Delegation>()
  return {
    get: (jwt) => map.get(jwt),
    set: (jwt, delegation) => {
      if (map.size >= maxEntries) {
        const oldest = map.keys().next()
        if (oldest.done !== true) map.delete(oldest.value)
      }
      map.set(jwt, delegation)
    }
  }
}

const sharedCache = createDelegationCache()

/**
 * Parses a UCAN and checks its signature (not its time bounds); throws {@link MalformedError} or
 * {@link BadSignatureError}.
 */
export async function verifyDelegationSignature (jwt: string, cache: DelegationCache | false = sharedCache, options: AbortOptions = {}): Promise<Delegation> {
  throwIfAborted(options.signal)
  const cached = cache === false ? undefined : cache.get(jwt)
  if (cached !== undefined) return cached
  const delegation = parseDelegation(jwt)
  publicKeyFromDid(delegation.issuer)
  try {
    await api.validate(jwt, { checkIsExpired: false, checkIsTooEarly: false })
  } catch (err) {
    throw new BadSignatureError(`UCAN from ${delegation.issuer} has an invalid signature`, { issuer: delegation.issuer, audience: delegation.audience }, { cause: err })
  }
  if (cache !== false) cache.set(jwt, delegation)
  return delegation
}

// ------------------------------------------------------------------------------------ verification

/** A proven authority: the chain from a trusted root to the holder. */
export interface Authority {
  /** The provider whose compute is used: the chain's root, trusted by the verifier. */
  root: string
  /** Who exercises the authority (the invoker). */
  holder: string
  /** The capability the holder's delegation grants (covering the requested ability). */
  capability: Capability
  /** The effective caveats: every link's, intersected. */
  caveats: Caveats
  /** The earliest expiry along the chain (seconds), or undefined for a root acting alone. */
  expiration?: number
  /** The delegations from the holder's (first) up to the root's (last). */
  chain: Delegation[]
}

/** What {@link verifyAuthority} must prove. */
export interface VerifyAuthorityOptions extends AbortOptions {
  /** Who exercises the authority (the invoker). */
  holder: string
  /** The ability exercised, e.g. `wasm/run`. */
  can: string
  /** Roots accepted: providers whose `ipvm:<did>` resources count (the verifier itself and DIDs it trusts). */
  roots: Iterable<string>
  /** Delegations to the holder (each carrying its own proofs inline). */
  proofs: Array<Delegation | string>
  /** Clock in milliseconds since the epoch (default `Date.now`). */
  now?: () => number
  /** Seconds a not-before may lie in the future (clock skew); default 0. */
  clockSkew?: number
  /** Cache of signature-checked UCANs (default: a shared bounded cache; `false` for none). */
  cache?: DelegationCache | false
  /** The longest chain followed (default 16). */
  maxDepth?: number
  /** The most UCANs checked in one verification, across all branches (default 64). */
  maxLinks?: number
}

interface Link {
  root: string
  chain: Delegation[]
  caveats: Caveats
  expiration: number
}

interface WalkContext {
  roots: Set<string>
  now: number
  skew: number
  cache: DelegationCache | false
  maxDepth: number
  /** UCANs that may still be checked (a budget against proof fan-out). */
  linksLeft: number
  signal?: AbortSignal
}

/**
 * Proves that `holder` may exercise `can` on the compute of one of `roots`, through `proofs`.
 * A root acting on its own resources needs no proofs. Throws an {@link AuthError} subclass naming
 * the first reason no chain holds.
 */
export async function verifyAuthority (options: VerifyAuthorityOptions): Promise<Authority> {
  throwIfAborted(options.signal)
  const roots = new Set(options.roots)
  const ctx: WalkContext = {
    roots,
    now: Math.floor((options.now ?? Date.now)() / 1000),
    skew: options.clockSkew ?? 0,
    cache: options.cache ?? sharedCache,
    maxDepth: options.maxDepth ?? 16,
    linksLeft: options.maxLinks ?? 64
  }
  if (options.signal !== undefined) ctx.signal = options.signal
  if (roots.has(options.holder)) {
    return { root: options.holder, holder: options.holder, capability: ipvmCapability(options.holder, SUPERUSER), caveats: {}, chain: [] }
  }
  if (options.proofs.length === 0) {
    throw new UnknownIssuerError(`${options.holder} is not trusted and shows no delegation`, { holder: options.holder })
  }
  const errors: AuthError[] = []
  for (const proof of options.proofs) {
    const jwt = typeof proof === 'string' ? proof : proof.jwt
    try {
      const delegation = await checkLink(jwt, options.holder, ctx, 0)
      const candidates = delegation.capabilities.filter((c) => providerOf(c.with) !== undefined && abilityCovers(c.can, options.can))
      if (candidates.length === 0) {
        throw new EscalationError(`no delegation to ${options.holder} grants ${options.can} on IPVM compute`, { what: 'ability', can: options.can, granted: delegation.capabilities.map((c) => c.can) })
      }
      for (const capability of candidates) {
        const provider = providerOf(capability.with)!
        try {
          if (!roots.has(provider)) {
            throw new UnknownIssuerError(`the delegated resource ${capability.with} is not the verifier's nor a trusted provider's`, { root: provider })
          }
          const link = await proveCapability(delegation, capability, ctx, 0)
          const authority: Authority = { root: link.root, holder: options.holder, capability, caveats: link.caveats, expiration: link.expiration, chain: link.chain }
          return authority
        } catch (err) {
          if (!(err instanceof AuthError)) throw err
          errors.push(err)
        }
      }
    } catch (err) {
      if (!(err instanceof AuthError)) throw err
      errors.push(err)
    }
  }
  throw errors[0]!
}

/** Checks one UCAN: signature, addressing (its audience is `audience`), time bounds. */
async function checkLink (jwt: string, audience: string, ctx: WalkContext, depth: number): Promise<Delegation> {
  throwIfAborted(ctx.signal)
  if (depth >= ctx.maxDepth) throw new BrokenChainError(`delegation chain longer than ${ctx.maxDepth}`, { depth })
  if (ctx.linksLeft <= 0) throw new BrokenChainError('too many proofs to check', { depth })
  ctx.linksLeft--
  const d = await verifyDelegationSignature(jwt, ctx.cache, ctx)
  const where = { issuer: d.issuer, audience: d.audience, depth }
  if (d.audience !== audience) {
    throw new BrokenChainError(`a proof is addressed to ${d.audience}, not to ${audience} who relies on it`, { ...where, expected: audience })
  }
  if (d.expiration <= ctx.now) {
    throw new ExpiredError(`UCAN from ${d.issuer} expired at ${d.expiration}`, { ...where, expiration: d.expiration, now: ctx.now })
  }
  if (d.notBefore !== undefined && d.notBefore > ctx.now + ctx.skew) {
    throw new NotYetValidError(`UCAN from ${d.issuer} is not valid before ${d.notBefore}`, { ...where, notBefore: d.notBefore, now: ctx.now })
  }
  return d
}

/** Proves that `d.issuer` may delegate `capability` (one of `d`'s), up to a trusted root. */
async function proveCapability (d: Delegation, capability: Capability, ctx: WalkContext, depth: number): Promise<Link> {
  const provider = providerOf(capability.with)
  if (provider === undefined) throw new EscalationError(`not an IPVM resource: ${capability.with}`, { what: 'resource' })
  if (d.issuer === provider) {
    if (!ctx.roots.has(provider)) throw new UnknownIssuerError(`the chain's root ${provider} is not trusted`, { root: provider })
    return { root: provider, chain: [d], caveats: d.caveats, expiration: d.expiration }
  }
  if (d.proofs.length === 0) {
    throw new BrokenChainError(`${d.issuer} delegates ${capability.can} on ${capability.with} without a proof`, { issuer: d.issuer, depth })
  }
  const errors: AuthError[] = []
  for (const jwt of d.proofs) {
    try {
      const parent = await checkLink(jwt, d.issuer, ctx, depth + 1)
      const sameResource = parent.capabilities.filter((c) => c.with === capability.with)
      if (sameResource.length === 0) {
        throw new EscalationError(`the proof of ${d.issuer} grants nothing on ${capability.with}`, { what: 'resource', resource: capability.with, depth })
      }
      const covering = sameResource.filter((c) => abilityCovers(c.can, capability.can))
      if (covering.length === 0) {
        throw new EscalationError(`${d.issuer} delegates ${capability.can} but was only given ${sameResource.map((c) => c.can).join(', ')}`, { what: 'ability', claimed: capability.can, granted: sameResource.map((c) => c.can), depth })
      }
      const up = await firstOk(covering, async (c) => await proveCapability(parent, c, ctx, depth + 1))
      checkCaveatAttenuation(up.caveats, d.caveats, { issuer: d.issuer, depth })
      if (d.expiration > up.expiration) {
        throw new EscalationError(`delegation from ${d.issuer} outlives its proof (${d.expiration} > ${up.expiration})`, { what: 'expiry', expiration: d.expiration, proofExpiration: up.expiration, depth })
      }
      return { root: up.root, chain: [d, ...up.chain], caveats: intersectCaveats(up.caveats, d.caveats), expiration: Math.min(up.expiration, d.expiration) }
    } catch (err) {
      if (!(err instanceof AuthError)) throw err
      errors.push(err)
    }
  }
  throw errors[0]!
}

async function firstOk<T, R> (items: T[], fn: (item: T) => Promise<R>): Promise<R> {
  let first: unknown
  for (const item of items) {
    try {
      return await fn(item)
    } catch (err) {
      if (!(err instanceof AuthError)) throw err
      first ??= err
    }
  }
  throw first
}
