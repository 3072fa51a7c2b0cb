import { createAuth, generateIdentity } from '@ipvm/auth'
import { cidOf, type CID, encode, invocationCid, type Receipt } from '@ipvm/core'
import { CID as MfCID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import * as raw from 'multiformats/codecs/raw'
import { afterEach, describe, expect, it } from 'vitest'
import { type Capabilities, MalformedMessageError, MAX_RECEIPTS_PER_REQUEST } from '../src/index.js'
import { addInvocation, Nodes, tcpAddress, waitFor, wsAddress } from './helpers.js'

const nodes = new Nodes()
afterEach(async () => { await nodes.stopAll() })

async function receiptsFor (count: number): Promise<Array<{ instruction: CID, receipt: Receipt }>> {
  const auth = createAuth({ signer: await generateIdentity() })
  return await Promise.all(Array.from({ length: count }, async (_, i) => {
    const invocation = addInvocation(i, 1)
    const ran = await invocationCid(invocation)
    const instruction = await cidOf({ i })
    return { instruction, receipt: await auth.signReceipt({ ran, out: { ok: i + 1 }, fx: { fork: [] }, meta: {}, prf: [] }) }
  }))
}

async function collect (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  for await (const chunk of source) chunks.push(chunk)
  return Uint8Array.from(chunks.flatMap((c) => [...c]))
}

describe('/ipvm/receipts/1.0.0', () => {
  it('returns the receipts a peer holds, only for instructions asked for', async () => {
    const held = await receiptsFor(3)
    const a = await nodes.create()
    const b = await nodes.create()
    let asked = 0
    a.handleReceipts(async (instructions) => {
      asked += instructions.length
      // A sloppy lookup that also returns a receipt nobody asked for: the server filters it out.
      return held.filter((h) => instructions.some((c) => c.equals(h.instruction))).concat(held[2]!)
    })
    const unknown = await cidOf({ unknown: true })
    const got = await b.fetchReceipts(tcpAddress(a), [held[0]!.instruction, unknown, held[1]!.instruction])
    expect(asked).toBe(3)
    expect(got.map((g) => g.instruction.toString()).sort()).toEqual([held[0]!.instruction.toString(), held[1]!.instruction.toString()].sort())
    const first = got.find((g) => g.instruction.equals(held[0]!.instruction))!
    expect(first.receipt.out).toEqual({ ok: 1 })
    expect(first.receipt.sig).toBeInstanceOf(Uint8Array)
    expect(await b.fetchReceipts(a.peerId, [])).toEqual([])
  })

  it('splits more than 256 instructions into several requests; a lookup error arrives typed', async () => {
    const a = await nodes.create()
    const b = await nodes.create()
    const sizes: number[] = []
    a.handleReceipts(async (instructions) => { sizes.push(instructions.length); return [] })
    const many = await Promise.all(Array.from({ length: MAX_RECEIPTS_PER_REQUEST + 10 }, async (_, i) => await cidOf({ i })))
    expect(await b.fetchReceipts(tcpAddress(a), many)).toEqual([])
    expect(sizes).toEqual([MAX_RECEIPTS_PER_REQUEST, 10])
    a.handleReceipts(async () => { throw new MalformedMessageError('nope', { why: 'test' }) })
    await expect(b.fetchReceipts(a.peerId, many.slice(0, 1))).rejects.toMatchObject({ name: 'MalformedMessageError', details: { why: 'test', remotePeer: a.peerId } })
  })
})

describe('gossipsub announcements', () => {
  it('capabilities arrive, refresh, and expire', async () => {
    const a = await nodes.create({ capabilityTtlMs: 1500, announceIntervalMs: 400 })
    const b = await nodes.create({ capabilityTtlMs: 1500 })
    const seen: Capabilities[] = []
    const expired: Capabilities[] = []
    b.addEventListener('peer:capabilities', (event) => { seen.push(event.detail) })
    b.addEventListener('peer:capabilities:expired', (event) => { expired.push(event.detail) })
    a.announce({ did: 'did:key:z6MkExample', ops: ['wasm/run'], affinities: { gpu: true }, workers: 4, freeWorkers: 3, memoryBytes: 1 << 30, modules: ['bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'], data: [] })
    await b.dial(tcpAddress(a))
    const caps = await waitFor(() => b.peers().find((p) => p.peerId === a.peerId), 10_000, 'capabilities')
    expect(caps).toMatchObject({ did: 'did:key:z6MkExample', ops: ['wasm/run'], affinities: { gpu: true }, workers: 4, freeWorkers: 3, memoryBytes: 1 << 30 })
    expect(caps.expires).toBeGreaterThan(Date.now())
    // Refreshed before expiry: still there after more than one TTL.
    await new Promise((resolve) => setTimeout(resolve, 1800))
    expect(b.peers().map((p) => p.peerId)).toContain(a.peerId)
    expect(seen.length).toBeGreaterThan(1)
    // Updates replace the previous announcement.
    a.announce({ did: 'did:key:z6MkExample', ops: ['wasm/run'], affinities: {}, workers: 4, freeWorkers: 0, modules: [], data: [] })
    await waitFor(() => b.peers().find((p) => p.peerId === a.peerId && p.freeWorkers === 0), 5000, 'update')
    // Re-announcing the same capabilities (a caller's timer) publishes nothing extra: the refresh does.
    const before = seen.length
    const started = Date.now()
    for (let i = 0; i < 20; i++) {
      a.announce({ did: 'did:key:z6MkExample', ops: ['wasm/run'], affinities: {}, workers: 4, freeWorkers: 0, modules: [], data: [] })
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    // At most the periodic refreshes (one per 400 ms) that fit in the time the loop took, plus one in
    // flight — not one per announce() (20).
    const refreshes = Math.ceil((Date.now() - started) / 400) + 1
    expect(seen.length - before).toBeLessThanOrEqual(Math.min(refreshes, 19))
    // No more announcements: gone after the TTL.
    a.stopAnnouncing()
    await waitFor(() => b.peers().length === 0, 5000, 'expiry')
    await waitFor(() => expired.length > 0, 2000, 'expired event')
    expect(expired.map((e) => e.peerId)).toEqual([a.peerId])
    expect(a.peers()).toEqual([])
  })

  it('ignores malformed and oversized announcements', async () => {
    const a = await nodes.create()
    const b = await nodes.create()
    let events = 0
    b.addEventListener('peer:capabilities', () => { events++ })
    b.addEventListener('receipt:announced', () => { events++ })
    await b.dial(tcpAddress(a))
    const pubsub = (a.libp2p.services as { pubsub: { publish: (t: string, d: Uint8Array) => Promise<unknown>, getSubscribers: (t: string) => unknown[] } }).pubsub
    await waitFor(() => pubsub.getSubscribers('ipvm/capabilities/1.0.0').length > 0, 5000, 'subscription')
    await pubsub.publish('ipvm/capabilities/1.0.0', encode({ did: 'not a did', ops: 3 }))
    await pubsub.publish('ipvm/capabilities/1.0.0', new Uint8Array([0xff, 0x01]))
    await pubsub.publish('ipvm/capabilities/1.0.0', encode({ did: 'did:key:z', ops: [], affinities: {}, workers: 1, freeWorkers: 1, modules: [], data: [], expires: Date.now() + 1000, pad: new Uint8Array(70_000) }))
    await pubsub.publish('ipvm/receipts/1.0.0', encode({ instruction: 'x' }))
    // A valid one afterwards arrives: the bad ones were dropped, not queued.
    await pubsub.publish('ipvm/capabilities/1.0.0', encode({ did: 'did:key:z', ops: [], affinities: {}, workers: 1, freeWorkers: 1, modules: [], data: [], expires: Date.now() + 5000 }))
    await waitFor(() => b.peers().length === 1, 5000, 'valid announcement')
    expect(events).toBe(1)
  })

  it('receipt announcements are delivered as events', async () => {
    const a = await nodes.create()
    const b = await nodes.create()
    const got: Array<{ peerId: string, instruction: CID, receiptCid: CID }> = []
    b.addEventListener('receipt:announced', (event) => { got.push(event.detail) })
    await b.dial(tcpAddress(a))
    const pubsub = (a.libp2p.services as { pubsub: { getSubscribers: (t: string) => unknown[] } }).pubsub
    await waitFor(() => pubsub.getSubscribers('ipvm/receipts/1.0.0').length > 0, 5000, 'subscription')
    const instruction = await cidOf({ x: 1 })
    const receiptCid = await cidOf({ r: 1 })
    await a.announceReceipt(instruction, receiptCid)
    await waitFor(() => got.length === 1, 5000, 'announcement')
    expect(got[0]!.peerId).toBe(a.peerId)
    expect(got[0]!.instruction.equals(instruction)).toBe(true)
    expect(got[0]!.receiptCid.equals(receiptCid)).toBe(true)
  })
})

describe('content over bitswap', () => {
  it('B fetches a block only A has, through network.blockstore', async () => {
    const a = await nodes.create()
    const b = await nodes.create()
    const bytes = new TextEncoder().encode('a block only A has')
    const cid = MfCID.createV1(raw.code, await sha256.digest(bytes))
    await a.local.put(cid, bytes)
    // An IPVM-style DAG-CBOR / sha3-256 block too.
    const value = { hello: 'ipvm' }
    const cborCid = await cidOf(value)
    await a.blockstore.put(cborCid, encode(value))
    expect(await b.local.has(cid)).toBe(false)
    await b.dial(tcpAddress(a))
    expect(await collect(b.blockstore.get(cid, { signal: AbortSignal.timeout(10_000) }))).toEqual(bytes)
    expect(await collect(b.blockstore.get(cborCid, { signal: AbortSignal.timeout(10_000) }))).toEqual(encode(value))
    // Stored locally once fetched.
    expect(await b.local.has(cid)).toBe(true)
  })

  it('a block nobody has fails after the fetch timeout instead of hanging', async () => {
    const a = await nodes.create()
    const b = await nodes.create({ fetchTimeoutMs: 500 })
    await b.dial(tcpAddress(a))
    const cid = MfCID.createV1(raw.code, await sha256.digest(new TextEncoder().encode('nobody has this')))
    // No signal is passed: only the fetch timeout can end this (a hang fails on the test's own timeout).
    await expect(collect(b.blockstore.get(cid))).rejects.toThrow()
  }, 10_000)
})

describe('WebSockets between two Node nodes', () => {
  it('dials over /ws and exchanges receipts', async () => {
    const held = await receiptsFor(1)
    const a = await nodes.create({ listen: ['/ip4/127.0.0.1/tcp/0/ws'] })
    const b = await nodes.create({ listen: [] })
    a.handleReceipts(async () => held)
    const address = wsAddress(a)
    expect(address).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\/p2p\//)
    const { peerId } = await b.dial(address)
    expect(peerId).toBe(a.peerId)
    const got = await b.fetchReceipts(address, [held[0]!.instruction])
    expect(got).toHaveLength(1)
    const connections = b.libp2p.getConnections()
    expect(connections.some((c) => c.remoteAddr.toString().includes('/ws'))).toBe(true)
  })
})

describe('connections', () => {
  it('take two pings at once from one end (the connection monitor\'s and kad-dht\'s contact check) without failing either', async () => {
    const a = await nodes.create({ listen: ['/ip4/127.0.0.1/tcp/0'], webRTC: false })
    const b = await nodes.create({ listen: ['/ip4/127.0.0.1/tcp/0'], webRTC: false })
    await a.dial(tcpAddress(b))
    const pingOf = (n: typeof a): { ping: (peer: unknown) => Promise<number> } => (n.libp2p.services as unknown as { ping: { ping: (peer: unknown) => Promise<number> } }).ping
    // With libp2p's default of one outbound ping stream per connection the second fails on the limit,
    // and a failed monitor ping makes libp2p abort a healthy connection (hundreds at 50 DHT nodes).
    const results = await Promise.allSettled([pingOf(a).ping(b.libp2p.peerId), pingOf(a).ping(b.libp2p.peerId)])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled'])
    expect(a.libp2p.getConnections(b.libp2p.peerId)).toHaveLength(1)
  })

  it('refuses DHT tuning outside 1–64', async () => {
    await expect(nodes.create({ listen: ['/ip4/127.0.0.1/tcp/0'], webRTC: false, dht: { alpha: 0 } })).rejects.toThrow(/dht.alpha must be an integer from 1 to 64/)
  })
})
