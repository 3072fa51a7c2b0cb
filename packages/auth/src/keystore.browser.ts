/**
 * Browser keystore: identities in IndexedDB. Where WebCrypto has Ed25519, a non-extractable identity
 * is a `CryptoKey` that IndexedDB stores by structured clone (the private key never exists as bytes
 * in JavaScript); otherwise (or with `extractable: true`) the 32-byte seed is stored.
 */
import { throwIfAborted } from '@ipvm/core'
import { type IDBPDatabase, openDB } from 'idb'
import { didFromPublicKey, hasWebCryptoEd25519, importPrivateKey, publicKeyFromSeed, randomSeed } from './ed25519.js'
import { KeystoreError } from './errors.js'
import { checkIdentityName, DEFAULT_IDENTITY_NAME, type Keystore, type KeystoreInit, type LoadIdentityOptions } from './keystore.js'
import { type AbortOptions, type Ed25519Jwk, type IdentityOptions, type Signer, seedFromExport, signerFromCryptoKey, signerFromSeed } from './signer.js'

export { DEFAULT_IDENTITY_NAME } from './keystore.js'
export type { Keystore, KeystoreInit, LoadIdentityOptions } from './keystore.js'

const STORE = 'identities'
const DEFAULT_DB = 'ipvm-keystore'

type StoredIdentity =
  | { name: string, did: string, publicKey: Uint8Array, kind: 'cryptokey', privateKey: CryptoKey }
  | { name: string, did: string, publicKey: Uint8Array, kind: 'seed', seed: Uint8Array, extractable: boolean }

async function toSigner (record: StoredIdentity, options: IdentityOptions): Promise<Signer> {
  if (record.kind === 'cryptokey') return signerFromCryptoKey(record.privateKey, record.publicKey)
  // A stored identity keeps the extractability it was created with.
  return await signerFromSeed(record.seed, { ...options, extractable: record.extractable })
}

async function toRecord (name: string, seed: Uint8Array | undefined, extractable: boolean): Promise<StoredIdentity> {
  if (!extractable && await hasWebCryptoEd25519()) {
    let privateKey: CryptoKey
    let publicKey: Uint8Array
    if (seed === undefined) {
      const pair = await globalThis.crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']) as CryptoKeyPair
      privateKey = pair.privateKey
      publicKey = new Uint8Array(await globalThis.crypto.subtle.exportKey('raw', pair.publicKey))
    } else {
      privateKey = await importPrivateKey(seed, false)
      publicKey = publicKeyFromSeed(seed)
    }
    return { name, did: didFromPublicKey(publicKey), publicKey, kind: 'cryptokey', privateKey }
  }
  const s = seed ?? randomSeed()
  const publicKey = publicKeyFromSeed(s)
  return { name, did: didFromPublicKey(publicKey), publicKey, kind: 'seed', seed: s.slice(), extractable }
}

/** Opens the IndexedDB keystore (database `init.location`, default `ipvm-keystore`). */
export async function openKeystore (init: KeystoreInit = {}): Promise<Keystore> {
  throwIfAborted(init.signal)
  if (typeof globalThis.indexedDB === 'undefined') throw new KeystoreError('IndexedDB is not available here; in Node use the key-file keystore (the "node" export of @ipvm/auth)')
  let db: IDBPDatabase
  try {
    db = await openDB(init.location ?? DEFAULT_DB, 1, {
      upgrade (database) {
        if (!database.objectStoreNames.contains(STORE)) database.createObjectStore(STORE, { keyPath: 'name' })
      }
    })
  } catch (err) {
    throw new KeystoreError(`cannot open the IndexedDB keystore: ${(err as Error).message}`, {}, { cause: err })
  }

  const get = async (name = DEFAULT_IDENTITY_NAME, options: IdentityOptions = {}): Promise<Signer | undefined> => {
    throwIfAborted(options.signal)
    const record = await db.get(STORE, checkIdentityName(name)) as StoredIdentity | undefined
    return record === undefined ? undefined : await toSigner(record, options)
  }

  return {
    get,
    async loadOrCreate (options: LoadIdentityOptions = {}): Promise<Signer> {
      const name = checkIdentityName(options.name ?? DEFAULT_IDENTITY_NAME)
      const existing = await get(name, options)
      if (existing !== undefined) return existing
      const fresh = await toRecord(name, undefined, options.extractable === true)
      throwIfAborted(options.signal)
      // A concurrent opener may have stored one meanwhile: keep the first stored.
      const tx = db.transaction(STORE, 'readwrite')
      const stored = await tx.store.get(name) as StoredIdentity | undefined
      if (stored === undefined) await tx.store.add(fresh)
      await tx.done
      return await toSigner(stored ?? fresh, options)
    },
    async import (exported: string | Ed25519Jwk, options: LoadIdentityOptions = {}): Promise<Signer> {
      const name = checkIdentityName(options.name ?? DEFAULT_IDENTITY_NAME)
      const seed = seedFromExport(exported)
      try {
        const record = await toRecord(name, seed, options.extractable === true)
        throwIfAborted(options.signal)
        await db.put(STORE, record)
        return await toSigner(record, options)
      } finally {
        seed.fill(0)
      }
    },
    async list (options: AbortOptions = {}): Promise<string[]> {
      throwIfAborted(options.signal)
      return (await db.getAllKeys(STORE)).map(String)
    },
    async delete (name: string, options: AbortOptions = {}): Promise<void> {
      throwIfAborted(options.signal)
      await db.delete(STORE, checkIdentityName(name))
    },
    async close (): Promise<void> {
      db.close()
    }
  }
}

/** Opens the keystore, loads (or creates and stores) one identity, and closes the keystore. */
export async function loadOrCreateIdentity (options: KeystoreInit & LoadIdentityOptions = {}): Promise<Signer> {
  const keystore = await openKeystore(options)
  try {
    return await keystore.loadOrCreate(options)
  } finally {
    await keystore.close()
  }
}
