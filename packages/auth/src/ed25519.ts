/**
 * Ed25519 primitives: `did:key` encoding, the Varsig signature form, and sign/verify through
 * WebCrypto when the platform has Ed25519 (Node ≥ 20 and current Chromium — 156 here —, Firefox and Safari) with
 * @noble/curves as the fallback everywhere else.
 */
import { throwIfAborted } from '@ipvm/core'
import { ed25519 } from '@noble/curves/ed25519.js'
import { base58btc } from 'multiformats/bases/base58'
import { BadSignatureError, MalformedError } from './errors.js'

/** Multicodec `ed25519-pub` (0xed) as an unsigned varint. */
const ED25519_PUB_PREFIX = Uint8Array.of(0xed, 0x01)
/** Multicodec `ed25519-priv` (0x1300) as an unsigned varint. */
export const ED25519_PRIV_PREFIX = Uint8Array.of(0x80, 0x26)
const DID_KEY_PREFIX = 'did:key:z'

/**
 * The Varsig header written before every signature this package makes: varsig (0x34), key type
 * ed25519-pub (0xed, varint `ed 01`), payload encoding DAG-CBOR (0x71). A signature on the wire is
 * these 4 bytes followed by the 64-byte Ed25519 signature.
 */
export const VARSIG_ED25519_DAG_CBOR = Uint8Array.of(0x34, 0xed, 0x01, 0x71)
export const SIGNATURE_LENGTH = 64

/** The `did:key` of an Ed25519 public key. */
export function didFromPublicKey (publicKey: Uint8Array): string {
  if (publicKey.byteLength !== 32) throw new MalformedError(`an Ed25519 public key has 32 bytes, got ${publicKey.byteLength}`)
  const bytes = new Uint8Array(34)
  bytes.set(ED25519_PUB_PREFIX, 0)
  bytes.set(publicKey, 2)
  return `did:key:${base58btc.encode(bytes)}`
}

const publicKeys = new Map<string, Uint8Array>()

/** The Ed25519 public key in a `did:key`; throws {@link MalformedError} for anything else. */
export function publicKeyFromDid (did: string): Uint8Array {
  const cached = publicKeys.get(did)
  if (cached !== undefined) return cached
  if (typeof did !== 'string' || !did.startsWith(DID_KEY_PREFIX)) {
    throw new MalformedError(`not an Ed25519 did:key: ${String(did).slice(0, 80)}`, { did: String(did).slice(0, 200) })
  }
  let bytes: Uint8Array
  try {
    bytes = base58btc.decode(did.slice('did:key:'.length))
  } catch (err) {
    throw new MalformedError(`not a base58btc did:key: ${did.slice(0, 80)}`, { did: did.slice(0, 200) }, { cause: err })
  }
  if (bytes.byteLength !== 34 || bytes[0] !== 0xed || bytes[1] !== 0x01) {
    throw new MalformedError(`not an Ed25519 did:key (multicodec 0xed): ${did.slice(0, 80)}`, { did: did.slice(0, 200) })
  }
  const key = bytes.subarray(2)
  if (publicKeys.size > 4096) publicKeys.clear()
  publicKeys.set(did, key)
  return key
}

/** True when `did` is a well-formed Ed25519 `did:key`. */
export function isEd25519Did (did: unknown): did is string {
  if (typeof did !== 'string') return false
  try {
    publicKeyFromDid(did)
    return true
  } catch {
    return false
  }
}

/** Prefixes a raw 64-byte signature with the Varsig header. */
export function toVarsig (signature: Uint8Array): Uint8Array {
  const out = new Uint8Array(VARSIG_ED25519_DAG_CBOR.byteLength + signature.byteLength)
  out.set(VARSIG_ED25519_DAG_CBOR, 0)
  out.set(signature, VARSIG_ED25519_DAG_CBOR.byteLength)
  return out
}

/**
 * The raw 64-byte signature in a Varsig (header {@link VARSIG_ED25519_DAG_CBOR}); a bare 64-byte
 * signature is accepted as well. Throws {@link BadSignatureError} for anything else.
 */
export function fromVarsig (sig: Uint8Array): Uint8Array {
  if (!(sig instanceof Uint8Array)) throw new BadSignatureError('the signature is not bytes')
  if (sig.byteLength === SIGNATURE_LENGTH) return sig
  const h = VARSIG_ED25519_DAG_CBOR
  if (sig.byteLength === h.byteLength + SIGNATURE_LENGTH && h.every((b, i) => sig[i] === b)) return sig.subarray(h.byteLength)
  throw new BadSignatureError(`not an Ed25519 Varsig: ${sig.byteLength} bytes`, { length: sig.byteLength })
}

// ------------------------------------------------------------------------------------- WebCrypto

/** WebCrypto's typings want ArrayBuffer-backed views; ours always are (no SharedArrayBuffer). */
function buf (bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes as Uint8Array<ArrayBuffer>
}

let webCryptoSupport: Promise<boolean> | undefined

/** Whether `crypto.subtle` can generate, sign and verify with Ed25519 here (detected once). */
export function hasWebCryptoEd25519 (): Promise<boolean> {
  webCryptoSupport ??= (async () => {
    try {
      const subtle = globalThis.crypto?.subtle
      if (subtle === undefined) return false
      const pair = await subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']) as CryptoKeyPair
      const msg = Uint8Array.of(1, 2, 3)
      const sig = new Uint8Array(await subtle.sign({ name: 'Ed25519' }, pair.privateKey, msg))
      return sig.byteLength === SIGNATURE_LENGTH && await subtle.verify({ name: 'Ed25519' }, pair.publicKey, sig, msg)
    } catch {
      return false
    }
  })()
  return webCryptoSupport
}

/** Forces the noble fallback (`false`) or re-detection (`undefined`); for tests and benchmarks. */
export function setWebCryptoEd25519 (enabled: boolean | undefined): void {
  webCryptoSupport = enabled === undefined ? undefined : Promise.resolve(enabled)
  verifyKeys.clear()
}

// PKCS#8 wrapping of a 32-byte Ed25519 seed (RFC 8410).
const PKCS8_PREFIX = Uint8Array.of(0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20)

/** Imports a seed as a WebCrypto private key (non-extractable unless asked). */
export async function importPrivateKey (seed: Uint8Array, extractable = false): Promise<CryptoKey> {
  const der = new Uint8Array(PKCS8_PREFIX.byteLength + 32)
  der.set(PKCS8_PREFIX, 0)
  der.set(seed, PKCS8_PREFIX.byteLength)
  try {
    return await globalThis.crypto.subtle.importKey('pkcs8', der, { name: 'Ed25519' }, extractable, ['sign'])
  } finally {
    der.fill(0)
  }
}

const verifyKeys = new Map<string, Promise<CryptoKey>>()
const MAX_VERIFY_KEYS = 1024

function verifyKeyFor (publicKey: Uint8Array): Promise<CryptoKey> {
  const id = base58btc.baseEncode(publicKey)
  let key = verifyKeys.get(id)
  if (key === undefined) {
    if (verifyKeys.size >= MAX_VERIFY_KEYS) verifyKeys.clear()
    key = globalThis.crypto.subtle.importKey('raw', buf(publicKey), { name: 'Ed25519' }, false, ['verify'])
    verifyKeys.set(id, key)
  }
  return key
}

/** Signs with a raw 32-byte seed (noble; used where WebCrypto has no Ed25519). */
export function signWithSeed (seed: Uint8Array, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, seed)
}

/** Signs with a WebCrypto Ed25519 private key. */
export async function signWithCryptoKey (key: CryptoKey, message: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await globalThis.crypto.subtle.sign({ name: 'Ed25519' }, key, buf(message)))
}

/** Verifies a raw 64-byte Ed25519 signature (RFC 8032) by a public key. Never throws. */
export async function verifyEd25519 (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
  if (signature.byteLength !== SIGNATURE_LENGTH || publicKey.byteLength !== 32) return false
  try {
    if (await hasWebCryptoEd25519()) {
      return await globalThis.crypto.subtle.verify({ name: 'Ed25519' }, await verifyKeyFor(publicKey), buf(signature), buf(message))
    }
    return ed25519.verify(signature, message, publicKey, { zip215: false })
  } catch {
    return false
  }
}

/** Verifies `signature` (raw or Varsig) over `message` by the key of `did`; false for anything invalid. */
export async function verifySignature (did: string, message: Uint8Array, signature: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<boolean> {
  throwIfAborted(options.signal)
  try {
    return await verifyEd25519(publicKeyFromDid(did), message, fromVarsig(signature))
  } catch {
    return false
  }
}

/** A fresh random 32-byte Ed25519 seed. */
export function randomSeed (): Uint8Array {
  return ed25519.utils.randomSecretKey()
}

/** The public key of a 32-byte seed. */
export function publicKeyFromSeed (seed: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(seed)
}
