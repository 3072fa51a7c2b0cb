/**
 * Receipt records in the DHT and announcement flooding, between real libp2p nodes on loopback:
 * a valid record is found by another node; a forged one (signature broken) is refused by the DHT and
 * never returned; a record over 64 KiB is refused (a large receipt is published as a pointer and
 * fetched from its provider); a peer announcing faster than its token bucket is cut off.
 */
import { generateIdentity, signReceipt } from '@ipvm/auth'
import { CID, cidOfBytes, encode, invocationCid, type Receipt, receiptToIpld, wasmTask } from '@ipvm/core'
import * as dagCbor from '@ipld/dag-cbor'
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
    const sent = { put: 0, get: 0 }
    expect(await a.putReceiptRecord(instruction, receipt, { signal: AbortSignal.timeout(10_000), onProgress: (e) => { if (e.type === 'kad-dht:query:send-query') sent.put++ } })).toBe('receipt')
    const found = await b.getReceiptRecords(instruction, { signal: AbortSignal.timeout(10_000), onProgress: (e) => { if (e.type === 'kad-dht:query:send-query') sent.get++ } })
    expect(found.length).toBeGreaterThan(0)
    // the queries' RPCs are reported (each node has one DHT peer: the other)
    expect(sent.put).toBeGreaterThanOrEqual(1)
    expect(sent.get).toBeGreaterThanOrEqual(1)
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

  it('a small receipt travels inside its announcement and is relayed A → B → C with its CID checked', async () => {
    const [a, b, c] = await line()
    const got: Array<{ peerId: string, instruction: CID, receiptCid: CID, receipt?: Receipt }> = []
    c.addEventListener('receipt:announced', (event) => { got.push(event.detail) })
    const { instruction, receipt } = await signed(7)
    const bytes = encode(receiptToIpld(receipt))
    await a.announceReceipt(instruction, await cidOfBytes(bytes), { receipt })
    await until(() => got.length === 1, 'the relayed announcement')
    expect(got[0]!.peerId).toBe(a.peerId)
    expect(got[0]!.instruction.equals(instruction)).toBe(true)
    expect(got[0]!.receipt?.out).toEqual({ ok: 7 })
    expect(got[0]!.receipt?.iss).toBe(receipt.iss)
    expect(b.announcementStats()).toMatchObject({ accepted: 1, invalid: 0 })
    // Over 4 KiB a receipt is announced by CID, with where to fetch it.
    const large = await signed(new Uint8Array(5000))
    await a.announceReceipt(large.instruction, await cidOfBytes(encode(receiptToIpld(large.receipt))), { receipt: large.receipt })
    await until(() => got.length === 2, 'the pointer announcement')
    expect(got[1]!.receipt).toBeUndefined()
    expect(got[1]!.instruction.equals(large.instruction)).toBe(true)
  })

  it('an inline receipt that does not match its CID, or that the node\'s check refuses, is neither delivered nor relayed, and is counted', async () => {
    const [a, b, c] = await line()
    const atB: CID[] = []
    const atC: CID[] = []
    b.addEventListener('receipt:announced', (event) => { atB.push(event.detail.instruction) })
    c.addEventListener('receipt:announced', (event) => { atC.push(event.detail.instruction) })
    const refused: string[] = []
    b.validateAnnouncedReceipts(async (announced) => {
      if (announced.receipt.out !== undefined && 'ok' in announced.receipt.out && announced.receipt.out.ok === 13) {
        refused.push(announced.peerId)
        return 'reject'
      }
      return 'accept'
    })
    const publish = async (value: unknown): Promise<void> => {
      await (a.libp2p.services as unknown as { pubsub: { publish: (t: string, d: Uint8Array) => Promise<unknown> } }).pubsub.publish(RECEIPTS_TOPIC, dagCbor.encode(value))
    }
    // 1. bytes that hash to another CID (a receipt swapped in transit)
    const one = await signed(11)
    const other = await signed(12)
    await publish({ instruction: one.instruction, receiptCid: await cidOfBytes(encode(receiptToIpld(other.receipt))), receipt: encode(receiptToIpld(one.receipt)) })
    // 2. a receipt B's check refuses (in ipvm: a signature that does not verify)
    const thirteen = await signed(13)
    await a.announceReceipt(thirteen.instruction, await cidOfBytes(encode(receiptToIpld(thirteen.receipt))), { receipt: thirteen.receipt })
    // 3. not a receipt at all
    await publish({ instruction: one.instruction, receiptCid: one.instruction, receipt: encode({ hello: 'world' }) })
    // A valid one afterwards arrives at both: the bad ones were dropped, not queued.
    const fine = await signed(14)
    await a.announceReceipt(fine.instruction, await cidOfBytes(encode(receiptToIpld(fine.receipt))), { receipt: fine.receipt })
    await until(() => atC.length === 1, 'the valid announcement at C')
    expect(atB.map(String)).toEqual([fine.instruction.toString()])
    expect(atC.map(String)).toEqual([fine.instruction.toString()])
    expect(refused).toEqual([a.peerId])
    expect(b.announcementStats()).toMatchObject({ accepted: 1, invalid: 2, malformed: 1 })
  })
})

/** Three nodes in a line, A – B – C, with gossipsub meshes formed (C hears A only through B). */
type Net = Awaited<ReturnType<Nodes['create']>>
async function line (): Promise<[Net, Net, Net]> {
  const create = async (): Promise<Net> => await nodes.create({ listen: ['/ip4/127.0.0.1/tcp/0'], webRTC: false })
  const a = await create()
  const b = await create()
  const c = await create()
  await b.dial(tcpAddress(a))
  await c.dial(tcpAddress(b))
  const meshPeers = (n: Net): number => (n.libp2p.services as unknown as { pubsub: { getMeshPeers: (topic: string) => unknown[] } }).pubsub.getMeshPeers(RECEIPTS_TOPIC).length
  await until(() => meshPeers(a) > 0 && meshPeers(b) > 1 && meshPeers(c) > 0, 'gossipsub meshes')
  return [a, b, c]
}
