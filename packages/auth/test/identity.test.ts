/** Identities: did:key, signatures (WebCrypto and noble agree), export and import. */
import { afterEach, describe, expect, it } from 'vitest'
import { setWebCryptoEd25519 } from '../src/ed25519.js'
import {
  didFromPublicKey, exportIdentity, generateIdentity, hasWebCryptoEd25519, importIdentity, isEd25519Did, publicKeyFromDid,
  signerFromSeed, verifySignature
} from '../src/index.js'
import { refused } from './fixtures.js'

const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g)!.map((b) => Number.parseInt(b, 16)))
const toHex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join('')

// RFC 8032 §7.1, TEST 2
const SEED = hex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb')
const PUB = hex('3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c')
const MSG = hex('72')
const SIG = '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'

afterEach(() => { setWebCryptoEd25519(undefined) })

describe('identities', () => {
  it('WebCrypto Ed25519 is detected on this platform (Node 20, Chromium)', async () => {
    expect(await hasWebCryptoEd25519()).toBe(true)
  })

  for (const webCrypto of [true, false]) {
    it(`RFC 8032 vector, ${webCrypto ? 'WebCrypto' : 'noble'} signing`, async () => {
      setWebCryptoEd25519(webCrypto ? undefined : false)
      const signer = await signerFromSeed(SEED)
      expect(toHex(signer.publicKey)).toBe(toHex(PUB))
      expect(toHex(await signer.sign(MSG))).toBe(SIG)
      expect(await verifySignature(signer.did, MSG, hex(SIG))).toBe(true)
      expect(await verifySignature(signer.did, hex('73'), hex(SIG))).toBe(false)
    })
  }

  it('did:key is z6Mk… and round-trips the public key', async () => {
    const signer = await generateIdentity()
    expect(signer.did).toMatch(/^did:key:z6Mk[1-9A-HJ-NP-Za-km-z]{44}$/)
    expect(toHex(publicKeyFromDid(signer.did))).toBe(toHex(signer.publicKey))
    expect(didFromPublicKey(signer.publicKey)).toBe(signer.did)
    expect(isEd25519Did(signer.did)).toBe(true)
    expect(isEd25519Did('did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme')).toBe(false) // secp256k1
    expect(isEd25519Did('did:web:example.com')).toBe(false)
  })

  it('signatures from one path verify on the other', async () => {
    const signer = await generateIdentity({ extractable: true })
    const msg = new TextEncoder().encode('hello')
    const sig = await signer.sign(msg)
    setWebCryptoEd25519(false)
    expect(await verifySignature(signer.did, msg, sig)).toBe(true)
    const nobleSigner = await importIdentity(await exportIdentity(signer))
    const sig2 = await nobleSigner.sign(msg)
    setWebCryptoEd25519(undefined)
    expect(await verifySignature(signer.did, msg, sig2)).toBe(true)
    expect(await signer.verify(msg, sig2)).toBe(true)
  })

  it('exports and imports as multibase and as JWK, keeping the DID', async () => {
    const signer = await generateIdentity({ extractable: true })
    const multibase = await exportIdentity(signer)
    expect(multibase).toMatch(/^z/)
    const jwk = await exportIdentity(signer, { format: 'jwk' })
    expect(JSON.parse(jwk)).toMatchObject({ kty: 'OKP', crv: 'Ed25519' })
    expect((await importIdentity(multibase)).did).toBe(signer.did)
    expect((await importIdentity(jwk)).did).toBe(signer.did)
    expect((await importIdentity(JSON.parse(jwk))).did).toBe(signer.did)
  })

  it('refuses to export a non-extractable identity', async () => {
    const signer = await generateIdentity()
    expect(signer.extractable).toBe(false)
    await refused(exportIdentity(signer), 'NotExtractableError')
    await refused(signer.exportSeed(), 'NotExtractableError')
  })

  it('refuses malformed imports', async () => {
    await refused(importIdentity('zNotAKey'), 'MalformedError')
    await refused(importIdentity('{"kty":"OKP","crv":"Ed25519","d":"AAAA"}'), 'MalformedError')
    const a = await generateIdentity({ extractable: true })
    const b = await generateIdentity({ extractable: true })
    const mixed = { ...JSON.parse(await exportIdentity(a, { format: 'jwk' })), x: JSON.parse(await exportIdentity(b, { format: 'jwk' })).x }
    await refused(importIdentity(JSON.stringify(mixed)), 'MalformedError')
    expect(() => publicKeyFromDid('did:key:z6Mk')).toThrow(expect.objectContaining({ name: 'MalformedError' }))
  })
})
