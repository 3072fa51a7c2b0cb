/**
 * Receipt records in the DHT and announcement flooding, between real libp2p nodes on loopback:
 * a valid record is found by another node; a forged one (signature broken) is refused by the DHT and
 * never returned; a record over 64 KiB is refused (a large receipt is published as a pointer and
 * fetched from its provider); a peer announcing faster than its token bucket is cut off.
 */
import { generateIdentity, signReceipt } from '@ipvm/auth'
import { CID, invocationCid, type Receipt, wasmTask } from '@ipvm/core'
import { afterEach, describe, expect, it } from 'vitest'
import {
  encodeReceiptRecord, MessageTooLargeError, RECEIPTS_TOPIC, receiptRecordKey, validateReceiptRecord
} from '../src/index.js'
import { Nodes, tcpAddress } from './helpers.js'

const nodes = new Nodes()
afterEach(async () => { await nodes.stopAll() })

async function until (predicate: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await predicate()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}

async function signed (out: number | Uint8Array): Promise<{ instruction: CID, receipt: Receipt }> {
  const signer = await generateIdentity()
  const task = await wasmTask({ rsc: 'ipfs://bafkqaaa', func: 'add-one', args: [typeof out === 'number' ? out - 1 : 0] })
  const receipt = await signReceipt({ ran: await invocationCid({ task: task.task }), out: { ok: out }, fx: { fork: [] }, meta: {}, iss: signer.did, prf: [] }, signer)
  return { instruction: task.instruction, receipt }
}

async function pair (): Promise<[Awaited<ReturnType<Nodes['create']>>, Awaited<ReturnType<Nodes['create']>>]> {
  const a = await nodes.create({ listen: ['/ip4/127.0.0.1/tcp/0'], webRTC: false, dht: true })
  const b = await nodes.create({ listen: ['/ip4/127.0.0.1/tcp/0'], webRTC: false, dht: true })
  await b.dial(tcpAddress(a))
  await until(() => a.libp2p.getConnections().length > 0, 'a connection')
  const dhtOf = (n: typeof a): { routingTable: { size: number } } => (n.libp2p.services as unknown as { dht: { routingTable: { size: number } } }).dht
  await until(() => dhtOf(a).routingTable.size > 0 && dhtOf(b).routingTable.size > 0, 'DHT routing tables')
  return [a, b]
}

describe('receipt records in the DHT', () => {
  it('a record put by one node is found by another, its signature checked', async () => {
    const [a, b] = await pair()
    const { instruction, receipt } = await signed(2)
    expect(await a.putReceiptRecord(instruction, receipt, { signal: AbortSignal.timeout(10_000) })).toBe('receipt')
    const found = await b.getReceiptRecords(instruction, { signal: AbortSignal.timeout(10_000) })
    expect(found.length).toBeGreaterThan(0)
    expect(found[0]!.receipt.out).toEqual({ ok: 2 })
    expect(found[0]!.receipt.iss).toBe(receipt.iss)
  })

  it('a forged record (its receipt altered after signing) is refused by the DHT and never returned', async () => {
    const [a, b] = await pair()
    const { instruction, receipt } = await signed(2)
    const forged: Receipt = { ...receipt, out: { ok: 999 } }
    const value = encodeReceiptRecord({ instruction, receipt: forged })
    await expect(validateReceiptRecord(receiptRecordKey(instruction), value)).rejects.toThrow(/signature/)
    // A put straight into kad-dht, bypassing putReceiptRecord: peers' validators refuse to store it,
    // and a reader drops it wherever it comes from.
    const dht = (a.libp2p.services as unknown as { dht: { put: (k: Uint8Array, v: Uint8Array, o: { signal: AbortSignal }) => AsyncIterable<unknown> } }).dht
    await (async () => { for await (const _ of dht.put(receiptRecordKey(instruction), value, { signal: AbortSignal.timeout(5000) })) { /* drain */ } })().catch(() => {})
    expect(await b.getReceiptRecords(instruction, { signal: AbortSignal.timeout(3000) })).toEqual([])
    // A record under another instruction's key is refused too.
    const other = await signed(5)
    await expect(validateReceiptRecord(receiptRecordKey(other.instruction), encodeReceiptRecord({ instruction, receipt }))).rejects.toThrow(/another instruction/)
  })

  it('a record over 64 KiB is refused; a large receipt is published as a pointer and fetched from its provider', async () => {
    const [a, b] = await pair()
    const big = await signed(new Uint8Array(70 * 1024).fill(7))
    await expect(validateReceiptRecord(receiptRecordKey(big.instruction), encodeReceiptRecord(big))).rejects.toThrow(MessageTooLargeError)
    a.handleReceipts(async (instructions) => instructions.filter((i) => i.equals(big.instruction)).map((instruction) => ({ instruction, receipt: big.receipt })))
    expect(await a.putReceiptRecord(big.instruction, big.receipt, { signal: AbortSignal.timeout(10_000) })).toBe('pointer')
    const found = await b.getReceiptRecords(big.instruction, { signal: AbortSignal.timeout(10_000) })
    expect(found[0]).toMatchObject({ via: 'pointer', from: a.peerId })
    expect((found[0]!.receipt.out as { ok: Uint8Array }).ok.byteLength).toBe(70 * 1024)
  })
})

describe('receipt announcements', () => {
  it('a peer that floods announcements is rate-limited: the excess is dropped and counted', async () => {
    const a = await nodes.create({ listen: ['/ip4/127.0.0.1/tcp/0'], webRTC: false })
    const b = await nodes.create({ listen: ['/ip4/127.0.0.1/tcp/0'], webRTC: false, announcementRate: { perSecond: 1, burst: 5 } })
    await b.dial(tcpAddress(a))
    const pubsubOf = (n: typeof a): { getSubscribers: (topic: string) => unknown[] } => (n.libp2p.services as unknown as { pubsub: { getSubscribers: (topic: string) => unknown[] } }).pubsub
    await until(() => pubsubOf(a).getSubscribers(RECEIPTS_TOPIC).length > 0, 'subscription')
    let received = 0
    let limited = 0
    b.addEventListener('receipt:announced', () => { received++ })
    b.addEventListener('receipt:rate-limited', () => { limited++ })
    const cid = CID.parse('bafkqaaa')
    for (let i = 0; i < 100; i++) {
      const { instruction } = await signed(i + 1)
      await a.announceReceipt(instruction, cid)
    }
    await until(() => received + limited >= 100, 'all announcements judged')
    expect(received).toBeGreaterThanOrEqual(5)
    expect(received).toBeLessThanOrEqual(10)
    expect(b.announcementStats().rateLimited).toBe(limited)
    expect(limited).toBeGreaterThanOrEqual(90)
  })
})
