/** Receipt signatures: sign, verify, and every way a changed receipt is caught. */
import { type CID, decode, encode, invocationCid, readReceipt, type Receipt, receiptCid, receiptToIpld } from '@ipvm/core'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  createAuth, createReplayCache, delegate, ipvmCapability, readSignedInvocation, signedInvocationToIpld, signInvocation,
  signReceipt, VARSIG_ED25519_DAG_CBOR, verifyInvocation, verifyReceipt
} from '../src/index.js'
import { moduleCid, now, type People, people, refused, T, task } from './fixtures.js'

let p: People
let ran: CID
let inv: ReturnType<typeof task>

beforeAll(async () => {
  p = await people()
  inv = task(await moduleCid('adder'))
  ran = await invocationCid(inv)
})

function unsigned () {
  return { ran, out: { ok: 3 }, fx: { fork: [] }, meta: { fuel: 42 }, prf: [] }
}

describe('receipts', () => {
  it('signs with iss = signer and a Varsig, and verifies', async () => {
    const r = await signReceipt(unsigned(), p.executor)
    expect(r.iss).toBe(p.executor.did)
    expect(r.sig).toBeInstanceOf(Uint8Array)
    expect(r.sig!.byteLength).toBe(68)
    expect([...r.sig!.subarray(0, 4)]).toEqual([...VARSIG_ED25519_DAG_CBOR])
    await expect(verifyReceipt(r, { expectedIssuer: p.executor.did, invocation: inv })).resolves.toBe(r)
    await expect(verifyReceipt(r, { trusted: [p.alice.did, p.executor.did], invocation: ran })).resolves.toBe(r)
  })

  it('survives DAG-CBOR encoding (the wire form) and keeps its CID', async () => {
    const r = await signReceipt(unsigned(), p.executor)
    const back = readReceipt(decode(encode(receiptToIpld(r))))
    await verifyReceipt(back, { expectedIssuer: p.executor.did, invocation: inv })
    expect((await receiptCid(back)).toString()).toBe((await receiptCid(r)).toString())
  })

  it('rejects a receipt whose out changed after signing', async () => {
    const r = await signReceipt(unsigned(), p.executor)
    const forged: Receipt = { ...r, out: { ok: 4 } }
    await refused(verifyReceipt(forged, { expectedIssuer: p.executor.did }), 'BadSignatureError', 'bad-signature')
    await refused(verifyReceipt({ ...r, out: { error: 'nope' } }, { expectedIssuer: p.executor.did }), 'BadSignatureError')
    await refused(verifyReceipt({ ...r, meta: { fuel: 1 } }, { expectedIssuer: p.executor.did }), 'BadSignatureError')
  })

  it('rejects a receipt whose iss was swapped', async () => {
    const r = await signReceipt(unsigned(), p.executor)
    const swapped: Receipt = { ...r, iss: p.mallory.did }
    // not who we expected
    await refused(verifyReceipt(swapped, { expectedIssuer: p.executor.did }), 'UnknownIssuerError', 'unknown-issuer')
    // even when the new issuer is trusted, the signature is not theirs
    await refused(verifyReceipt(swapped, { trusted: [p.mallory.did] }), 'BadSignatureError', 'bad-signature')
    await refused(verifyReceipt(swapped, { anyIssuer: true }), 'BadSignatureError', 'bad-signature')
  })

  it('rejects a receipt re-signed by someone not expected', async () => {
    const r = await signReceipt(unsigned(), p.mallory)
    await verifyReceipt(r, { anyIssuer: true })
    await refused(verifyReceipt(r, { expectedIssuer: p.executor.did }), 'UnknownIssuerError', 'unknown-issuer')
    await refused(verifyReceipt(r, {}), 'UnknownIssuerError', 'unknown-issuer')
  })

  it('rejects a receipt for another invocation', async () => {
    const r = await signReceipt(unsigned(), p.executor)
    const other = task(await moduleCid('other'))
    await refused(verifyReceipt(r, { expectedIssuer: p.executor.did, invocation: other }), 'ReceiptMismatchError', 'receipt-mismatch')
  })

  it('rejects unsigned receipts and broken signatures', async () => {
    const r = await signReceipt(unsigned(), p.executor)
    await refused(verifyReceipt({ ...unsigned(), iss: null }, { anyIssuer: true }), 'UnknownIssuerError')
    const { sig: _sig, ...noSig } = r
    await refused(verifyReceipt(noSig, { expectedIssuer: p.executor.did }), 'BadSignatureError')
    const flipped = r.sig!.slice()
    flipped[10] = flipped[10]! ^ 1
    await refused(verifyReceipt({ ...r, sig: flipped }, { expectedIssuer: p.executor.did }), 'BadSignatureError')
    await refused(verifyReceipt({ ...r, sig: r.sig!.subarray(0, 40) }, { expectedIssuer: p.executor.did }), 'BadSignatureError')
  })
})

describe('createAuth', () => {
  it('binds identity and trust: invocation over the wire, receipt back', async () => {
    const executor = createAuth({ signer: p.executor, now, replay: createReplayCache() })
    const toAlice = await executor.delegate({ audience: p.alice.did, capabilities: [executor.capability('wasm/run')], caveats: { fuel: 5000 } })
    const signed = await signInvocation(inv, p.alice, { audience: executor.did, proofs: [toAlice], now })
    // over the wire
    const received = readSignedInvocation(decode(encode(signedInvocationToIpld(signed))))
    const verified = await executor.verifyInvocation(received)
    expect(verified.cid.toString()).toBe(ran.toString())
    await refused(executor.verifyInvocation(received), 'ReplayError')
    const receipt = await executor.signReceipt({ ran: verified.cid, out: { ok: 3 }, fx: { fork: [] }, meta: {}, prf: [] })
    const alice = createAuth({ signer: p.alice, now })
    await alice.verifyReceipt(receipt, { expectedIssuer: executor.did, invocation: inv })
    await refused(alice.verifyReceipt(receipt), 'UnknownIssuerError')
    alice.trust(executor.did)
    await alice.verifyReceipt(receipt)
  })

  it('readSignedInvocation refuses malformed wire data', async () => {
    const signed = await signInvocation(inv, p.alice, { audience: p.executor.did, now })
    const wire = signedInvocationToIpld(signed)
    expect(() => readSignedInvocation(null)).toThrow(expect.objectContaining({ name: 'MalformedError' }))
    for (const broken of [
      { ...wire, inv: 'x' },
      { ...wire, inv: { task: { run: { rsc: 'not a uri', op: 'wasm/run', input: { func: 'f', args: [] } } } } },
      { ...wire, iss: 7 },
      { ...wire, exp: 1.5 },
      { ...wire, prf: [1] },
      { ...wire, sig: 'abc' }
    ]) {
      expect(() => readSignedInvocation(broken)).toThrow(expect.objectContaining({ name: 'MalformedError' }))
    }
  })

  it('trust and untrust a provider', async () => {
    const executor = createAuth({ signer: p.executor, now })
    const leaf = await delegate({ issuer: p.operator, audience: p.alice.did, capabilities: [ipvmCapability(p.operator.did)], now })
    const signed = () => signInvocation(inv, p.alice, { audience: p.executor.did, proofs: [leaf], now: () => T })
    await refused(executor.verifyInvocation(await signed()), 'UnknownIssuerError')
    executor.trust(p.operator.did)
    await executor.verifyInvocation(await signed())
    executor.untrust(p.operator.did)
    await refused(executor.verifyInvocation(await signed()), 'UnknownIssuerError')
    await verifyInvocation(await signed(), { executor: p.executor.did, trusted: [p.operator.did], replay: false, now })
  })
})
