/**
 * Identities: an Ed25519 key pair named by its `did:key`. A {@link Signer} signs bytes; its private
 * key lives in a non-extractable WebCrypto `CryptoKey` where the platform has Ed25519 in WebCrypto,
 * and in memory (signed with @noble/curves) elsewhere.
 */
import { throwIfAborted } from '@ipvm/core'
import { base58btc } from 'multiformats/bases/base58'
import { base64url } from 'multiformats/bases/base64'
import {
  didFromPublicKey, ED25519_PRIV_PREFIX, fromVarsig, hasWebCryptoEd25519, importPrivateKey, publicKeyFromSeed, randomSeed,
  signWithCryptoKey, signWithSeed, verifyEd25519
} from './ed25519.js'
import { MalformedError, NotExtractableError } from './errors.js'

/** Options of every asynchronous operation. */
export interface AbortOptions {
  signal?: AbortSignal
}

/** An Ed25519 identity that can sign. */
export interface Signer {
  /** `did:key:z6Mk…` */
  readonly did: string
  /** The 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array
  /** Whether {@link Signer.exportSeed} may reveal the private key. */
  readonly extractable: boolean
  /** The raw 64-byte Ed25519 signature of `message`. */
  sign: (message: Uint8Array, options?: AbortOptions) => Promise<Uint8Array>
  /** Whether `signature` (raw or Varsig) is this identity's signature of `message`. */
  verify: (message: Uint8Array, signature: Uint8Array, options?: AbortOptions) => Promise<boolean>
  /** The 32-byte private seed; throws {@link NotExtractableError} for a non-extractable identity. */
  exportSeed: () => Promise<Uint8Array>
}

/** Options for creating or importing an identity. */
export interface IdentityOptions extends AbortOptions {
  /** Keep the private key exportable (default `false`: non-extractable where the platform allows). */
  extractable?: boolean
}

class Ed25519Signer implements Signer {
  readonly did: string
  readonly #seed: Uint8Array | undefined
  readonly #key: CryptoKey | undefined

  constructor (readonly publicKey: Uint8Array, readonly extractable: boolean, seed: Uint8Array | undefined, key: CryptoKey | undefined) {
    this.did = didFromPublicKey(publicKey)
    this.#seed = seed
    this.#key = key
  }

  async sign (message: Uint8Array, options: AbortOptions = {}): Promise<Uint8Array> {
    throwIfAborted(options.signal)
    if (this.#key !== undefined) return await signWithCryptoKey(this.#key, message)
    if (this.#seed !== undefined) return signWithSeed(this.#seed, message)
    throw new NotExtractableError('this signer has no private key')
  }

  async verify (message: Uint8Array, signature: Uint8Array, options: AbortOptions = {}): Promise<boolean> {
    throwIfAborted(options.signal)
    let raw: Uint8Array
    try {
      raw = fromVarsig(signature)
    } catch {
      return false
    }
    return await verifyEd25519(this.publicKey, message, raw)
  }

  async exportSeed (): Promise<Uint8Array> {
    if (!this.extractable || this.#seed === undefined) {
      throw new NotExtractableError(`the private key of ${this.did} is not extractable`, { did: this.did })
    }
    return this.#seed.slice()
  }

  toJSON (): { did: string } {
    return { did: this.did }
  }
}

/**
 * A signer for a 32-byte seed. With `extractable: false` and WebCrypto Ed25519 available, the seed
 * is imported into a non-extractable `CryptoKey` and not kept.
 */
export async function signerFromSeed (seed: Uint8Array, options: IdentityOptions = {}): Promise<Signer> {
  throwIfAborted(options.signal)
  if (!(seed instanceof Uint8Array) || seed.byteLength !== 32) throw new MalformedError('an Ed25519 seed has 32 bytes')
  const extractable = options.extractable === true
  const publicKey = publicKeyFromSeed(seed)
  if (await hasWebCryptoEd25519()) {
    const key = await importPrivateKey(seed, false)
    return new Ed25519Signer(publicKey, extractable, extractable ? seed.slice() : undefined, key)
  }
  return new Ed25519Signer(publicKey, extractable, seed.slice(), undefined)
}

/**
 * A signer for a WebCrypto Ed25519 private key and its raw public key (for keys that never leave
 * WebCrypto, such as a browser keystore's non-extractable keys).
 */
export function signerFromCryptoKey (privateKey: CryptoKey, publicKey: Uint8Array): Signer {
  return new Ed25519Signer(publicKey, false, undefined, privateKey)
}

/** A new random identity (non-extractable unless `extractable: true`). */
export async function generateIdentity (options: IdentityOptions = {}): Promise<Signer> {
  const seed = randomSeed()
  try {
    return await signerFromSeed(seed, options)
  } finally {
    seed.fill(0)
  }
}

/** The formats of {@link exportIdentity}. */
export type IdentityFormat = 'multibase' | 'jwk'

/** An Ed25519 private key as a JSON Web Key (RFC 8037). */
export interface Ed25519Jwk {
  kty: 'OKP'
  crv: 'Ed25519'
  /** base64url public key */
  x: string
  /** base64url private seed */
  d: string
}

/**
 * Exports an extractable identity: `multibase` (default) is base58btc `z…` of the multicodec
 * `ed25519-priv` (0x1300) prefixed seed; `jwk` is the JSON text of an {@link Ed25519Jwk}.
 */
export async function exportIdentity (signer: Signer, options: AbortOptions & { format?: IdentityFormat } = {}): Promise<string> {
  throwIfAborted(options.signal)
  const seed = await signer.exportSeed()
  try {
    if (options.format === 'jwk') {
      const jwk: Ed25519Jwk = { kty: 'OKP', crv: 'Ed25519', x: base64url.baseEncode(signer.publicKey), d: base64url.baseEncode(seed) }
      return JSON.stringify(jwk)
    }
    const bytes = new Uint8Array(ED25519_PRIV_PREFIX.byteLength + 32)
    bytes.set(ED25519_PRIV_PREFIX, 0)
    bytes.set(seed, ED25519_PRIV_PREFIX.byteLength)
    return base58btc.encode(bytes)
  } finally {
    seed.fill(0)
  }
}

/** The 32-byte seed in an exported identity (either format of {@link exportIdentity}). */
export function seedFromExport (exported: string | Ed25519Jwk): Uint8Array {
  if (typeof exported === 'object' && exported !== null) return seedFromJwk(exported)
  if (typeof exported !== 'string') throw new MalformedError('an exported identity is a string or a JWK')
  const text = exported.trim()
  if (text.startsWith('{')) {
    let jwk: unknown
    try {
      jwk = JSON.parse(text)
    } catch (err) {
      throw new MalformedError('the exported identity is not valid JSON', {}, { cause: err })
    }
    return seedFromJwk(jwk)
  }
  let bytes: Uint8Array
  try {
    bytes = base58btc.decode(text)
  } catch (err) {
    throw new MalformedError('the exported identity is neither a base58btc multibase key nor a JWK', {}, { cause: err })
  }
  if (bytes.byteLength !== 34 || bytes[0] !== ED25519_PRIV_PREFIX[0] || bytes[1] !== ED25519_PRIV_PREFIX[1]) {
    throw new MalformedError('the exported identity is not an ed25519-priv (0x1300) multikey')
  }
  return bytes.slice(2)
}

function seedFromJwk (jwk: unknown): Uint8Array {
  const j = jwk as Partial<Ed25519Jwk>
  if (j === null || typeof j !== 'object' || j.kty !== 'OKP' || j.crv !== 'Ed25519' || typeof j.d !== 'string') {
    throw new MalformedError('the JWK is not an Ed25519 private key ({kty: "OKP", crv: "Ed25519", d, x})')
  }
  let seed: Uint8Array
  try {
    seed = base64url.baseDecode(j.d)
  } catch (err) {
    throw new MalformedError('the JWK "d" is not base64url', {}, { cause: err })
  }
  if (seed.byteLength !== 32) throw new MalformedError('the JWK "d" is not a 32-byte Ed25519 seed')
  if (typeof j.x === 'string' && j.x !== base64url.baseEncode(publicKeyFromSeed(seed))) {
    throw new MalformedError('the JWK "x" is not the public key of "d"')
  }
  return seed
}

/** Imports an identity exported by {@link exportIdentity} (multibase text or JWK). */
export async function importIdentity (exported: string | Ed25519Jwk, options: IdentityOptions = {}): Promise<Signer> {
  const seed = seedFromExport(exported)
  try {
    return await signerFromSeed(seed, options)
  } finally {
    seed.fill(0)
  }
}
