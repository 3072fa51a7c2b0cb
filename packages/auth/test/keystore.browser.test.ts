/** The IndexedDB keystore, in real Chromium IndexedDB: reopen and get the same DID. */
import { describe, expect, it } from 'vitest'
import { setWebCryptoEd25519 } from '../src/ed25519.js'
import { exportIdentity, generateIdentity, loadOrCreateIdentity, openKeystore, verifySignature } from '../src/index.js'
import { refused } from './fixtures.js'

const db = () => `ipvm-keystore-test-${Math.random().toString(36).slice(2)}`

describe('IndexedDB keystore', () => {
  it('creates an identity once and gives the same DID after reopening', async () => {
    const location = db()
    const first = await loadOrCreateIdentity({ location })
    const again = await loadOrCreateIdentity({ location })
    expect(again.did).toBe(first.did)
    const msg = new TextEncoder().encode('still me')
    expect(await verifySignature(first.did, msg, await again.sign(msg))).toBe(true)
    const other = await loadOrCreateIdentity({ location: db() })
    expect(other.did).not.toBe(first.did)
  })

  it('stores a non-extractable CryptoKey, not key bytes', async () => {
    const location = db()
    const ks = await openKeystore({ location })
    const signer = await ks.loadOrCreate({ name: 'node' })
    await ks.close()
    expect(signer.extractable).toBe(false)
    await refused(exportIdentity(signer), 'NotExtractableError')
    const raw = await new Promise<unknown>((resolve, reject) => {
      const req = indexedDB.open(location)
      req.onerror = () => reject(req.error)
      req.onsuccess = () => {
        const get = req.result.transaction('identities').objectStore('identities').get('node')
        get.onsuccess = () => { req.result.close(); resolve(get.result) }
        get.onerror = () => reject(get.error)
      }
    })
    expect(raw).toMatchObject({ kind: 'cryptokey', did: signer.did })
    const key = (raw as { privateKey: CryptoKey }).privateKey
    expect(key).toBeInstanceOf(CryptoKey)
    expect(key.extractable).toBe(false)
    expect(raw).not.toHaveProperty('seed')
  })

  it('without WebCrypto Ed25519, falls back to a stored seed and still reopens to the same DID', async () => {
    setWebCryptoEd25519(false)
    try {
      const location = db()
      const first = await loadOrCreateIdentity({ location })
      const again = await loadOrCreateIdentity({ location })
      expect(again.did).toBe(first.did)
      expect(again.extractable).toBe(false)
      await refused(exportIdentity(again), 'NotExtractableError')
      const msg = new TextEncoder().encode('fallback')
      setWebCryptoEd25519(undefined)
      expect(await verifySignature(first.did, msg, await again.sign(msg))).toBe(true)
    } finally {
      setWebCryptoEd25519(undefined)
    }
  })

  it('imports an exported identity, lists and deletes', async () => {
    const location = db()
    const original = await generateIdentity({ extractable: true })
    const ks = await openKeystore({ location })
    const imported = await ks.import(await exportIdentity(original), { name: 'moved' })
    expect(imported.did).toBe(original.did)
    expect((await ks.get('moved'))?.did).toBe(original.did)
    const extractable = await ks.loadOrCreate({ name: 'portable', extractable: true })
    expect((await ks.get('portable'))?.did).toBe(extractable.did)
    expect(await exportIdentity((await ks.get('portable'))!)).toBe(await exportIdentity(extractable))
    expect((await ks.list()).sort()).toEqual(['moved', 'portable'])
    await ks.delete('moved')
    expect(await ks.get('moved')).toBeUndefined()
    await refused(ks.get('../etc'), 'KeystoreError')
    await ks.close()
  })
})
