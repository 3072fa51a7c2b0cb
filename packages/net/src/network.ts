/**
 * `createIpvmNetwork()`: one libp2p node per ipvm node (transports per platform), Helia with bitswap
 * on it for content, the `/ipvm/invoke/1.0.0` and `/ipvm/receipts/1.0.0` protocols, and capability
 * and receipt announcements over gossipsub.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { AbortError, type CID, cidOfBytes, deserializeError, encode, ipldEquals, throwIfAborted, type IpldValue, type Receipt, receiptToIpld, serializeError, type SerializedError } from '@ipvm/core'
import { withBitswap } from '@helia/bitswap'
import { type GossipSub, gossipsub, type Message, TopicValidatorResult } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { type KadDHT, type KadDHTInit, kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { memory } from '@libp2p/memory'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import { noise } from '@libp2p/noise'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { yamux } from '@libp2p/yamux'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { sha3256 } from '@multiformats/sha3'
import { createHeliaLight } from 'helia'
import type { Blockstore } from 'interface-blockstore'
import { createLibp2p } from 'libp2p'
import {
  MalformedMessageError, MessageTooLargeError, NetworkError, NetworkNotStartedError, PeerUnreachableError,
  ProtocolNotSupportedError, RemoteError
} from './errors.js'
import { closeStream, DEFAULT_MAX_MESSAGE_BYTES, type FrameStream, frameStream, resetStream } from './frames.js'
import type {
  AbortOptions, AnnouncedReceiptValidator, AnnouncementStats, Capabilities, DhtOptions, DhtProgressOptions, ComputedFromLookup, CreateIpvmNetworkOptions, DhtReceipt, ExchangedReceipt,
  InvokeHandler, InvokeProgress, InvokeRequest, IpvmNetwork, ReceiptLookup
} from './interface.js'
import {
  CAPABILITIES_TOPIC, capabilitiesToIpld, INVOKE_PROTOCOL, invokeRequestToIpld, MAX_CAPABILITIES_BYTES, MAX_PROGRESS_FRAMES,
  MAX_INLINE_RECEIPT_BYTES, MAX_RECEIPT_ANNOUNCEMENT_BYTES, MAX_RECEIPTS_PER_REQUEST, progressToIpld, readCapabilities, readInvokeReply, readInvokeRequest,
  readComputedFromReply, type ReceiptAnnouncement, readReceiptAnnouncement, readReceiptsReply, readReceiptsRequest, RECEIPTS_PROTOCOL, RECEIPTS_TOPIC, receiptsReplyToIpld
} from './messages.js'
import {
  decodeReceiptRecord, DHT_PROTOCOL, encodeReceiptRecord, MAX_RECORD_BYTES, RECEIPT_RECORD_NAMESPACE, type ReceiptRecord, receiptRecordKey,
  selectReceiptRecord, validateReceiptRecord
} from './records.js'
import { platformConfig } from './transports.js'

const DEFAULT_TTL_MS = 30_000
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000
const DEFAULT_FETCH_TIMEOUT_MS = 30_000
/** Announcements claiming to stay valid longer than this from now are cut to it. */
const MAX_ANNOUNCED_TTL_MS = 10 * 60_000
/** Most peers whose capabilities are remembered at once. */
const MAX_KNOWN_PEERS = 4096

type Services = { identify: unknown, ping: unknown, pubsub: GossipSub, relay?: unknown, dht?: KadDHT }

/** A token bucket: `take()` is false once the peer spent its burst faster than the refill rate. */
class TokenBucket {
  private tokens: number
  private last = Date.now()
  constructor (private readonly perSecond: number, private readonly burst: number) { this.tokens = burst }
  take (): boolean {
    const now = Date.now()
    this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.perSecond / 1000)
    this.last = now
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }
}

/** A peer to talk to: a peer id (string or object) or a multiaddr (string starting with `/`, or object). */
export type PeerTarget = string | PeerId | Multiaddr

function toTarget (peer: PeerTarget): PeerId | Multiaddr {
  if (typeof peer !== 'string') return peer
  try {
    return peer.startsWith('/') ? multiaddr(peer) : peerIdFromString(peer)
  } catch (err) {
    throw new PeerUnreachableError(`not a peer id or multiaddr: ${peer.slice(0, 120)} (${(err as Error).message})`, { peer: peer.slice(0, 120) })
  }
}

function describeTarget (target: PeerId | Multiaddr): string {
  return target.toString()
}

/** A remote's serialized error as the typed error it names, marked with the peer it came from. */
function remoteFailure (data: SerializedError, peer: string): Error {
  const err = deserializeError(data)
  err.details.remotePeer = peer
  return err
}

/** Adds a default timeout to fetches from the network (a block nobody has must not hang a task forever). */
function withFetchTimeout (inner: Blockstore, timeoutMs: number): Blockstore {
  const timed = <O extends { signal?: AbortSignal }>(options?: O): O => {
    const timeout = AbortSignal.timeout(timeoutMs)
    const signal = options?.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout])
    return { ...(options ?? {}), signal } as O
  }
  return {
    put: async (cid, bytes, options) => await inner.put(cid, bytes, options),
    putMany: (source, options) => inner.putMany(source, options),
    get: (cid, options) => inner.get(cid, timed(options)),
    getMany: (source, options) => inner.getMany(source, timed(options)),
    delete: async (cid, options) => { await inner.delete(cid, options) },
    deleteMany: (source, options) => inner.deleteMany(source, options),
    has: async (cid, options) => await inner.has(cid, options),
    getAll: (options) => inner.getAll(options)
  }
}

class Network extends EventTarget {
  readonly libp2p: Libp2p<Services>
  readonly blockstore: Blockstore
  readonly peerId: string
  status: 'started' | 'stopped' = 'stopped'
  private readonly helia: ReturnType<typeof createHeliaLight>
  private readonly maxMessageBytes: number
  private readonly ttlMs: number
  private readonly intervalMs: number
  private readonly requestTimeoutMs: number
  private readonly bootstrap: string[]
  private invokeHandler: InvokeHandler | undefined
  private receiptLookup: ReceiptLookup | undefined
  private computedFromLookup: ComputedFromLookup | undefined
  private readonly buckets = new Map<string, TokenBucket>()
  private readonly addressed = new Set<string>()
  private readonly announceRate: { perSecond: number, burst: number }
  private readonly stats: AnnouncementStats = { accepted: 0, rateLimited: 0, malformed: 0, invalid: 0 }
  private receiptValidator: AnnouncedReceiptValidator | undefined
  /**
   * What the topic validators read from the messages they accepted: gossipsub delivers the object it
   * validated, so delivery does not decode (or check) a message again.
   */
  private readonly validated = new WeakMap<Message, Capabilities | ReceiptAnnouncement>()
  private readonly active = new Set<AbortController>()
  private readonly known = new Map<string, Capabilities>()
  private own: Omit<Capabilities, 'peerId' | 'expires'> | undefined
  private announceTimer: ReturnType<typeof setInterval> | undefined
  private sweepTimer: ReturnType<typeof setInterval> | undefined
  private publishSoon: ReturnType<typeof setTimeout> | undefined
  private stopped = false

  constructor (libp2p: Libp2p<Services>, helia: ReturnType<typeof createHeliaLight>, options: CreateIpvmNetworkOptions) {
    super()
    this.libp2p = libp2p
    this.helia = helia
    this.peerId = libp2p.peerId.toString()
    this.blockstore = withFetchTimeout(helia.blockstore, options.fetchTimeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS)
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
    this.ttlMs = options.capabilityTtlMs ?? DEFAULT_TTL_MS
    this.intervalMs = Math.max(10, Math.min(options.announceIntervalMs ?? this.ttlMs / 3, this.ttlMs / 2))
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    this.bootstrap = options.bootstrap ?? []
    this.announceRate = { perSecond: options.announcementRate?.perSecond ?? 50, burst: options.announcementRate?.burst ?? 200 }
    if (!Number.isSafeInteger(this.maxMessageBytes) || this.maxMessageBytes < 1024) throw new NetworkError('maxMessageBytes must be an integer of at least 1024')
  }

  multiaddrs (): Multiaddr[] {
    return this.libp2p.getMultiaddrs()
  }

  async start (): Promise<void> {
    if (this.stopped) throw new NetworkNotStartedError('this network was stopped; create a new one')
    if (this.status === 'started') return
    await this.libp2p.handle(INVOKE_PROTOCOL, (stream, connection) => { void this.serveInvoke(stream, connection) })
    await this.libp2p.handle(RECEIPTS_PROTOCOL, (stream, connection) => { void this.serveReceipts(stream, connection) })
    await this.libp2p.start()
    await this.helia.start()
    const pubsub = this.libp2p.services.pubsub
    pubsub.topicValidators.set(CAPABILITIES_TOPIC, (_peer, message) => this.validateCapabilities(message))
    pubsub.topicValidators.set(RECEIPTS_TOPIC, (_peer, message) => this.validateReceiptAnnouncement(message))
    pubsub.addEventListener('message', this.onMessage)
    pubsub.addEventListener('subscription-change', this.onSubscriptionChange)
    pubsub.subscribe(CAPABILITIES_TOPIC)
    pubsub.subscribe(RECEIPTS_TOPIC)
    this.sweepTimer = setInterval(() => { this.sweep() }, Math.max(50, Math.min(1000, this.ttlMs / 4)))
    unref(this.sweepTimer)
    if (this.own !== undefined) this.startAnnouncing()
    this.status = 'started'
    await Promise.allSettled(this.bootstrap.map(async (address) => await this.dial(address, { signal: AbortSignal.timeout(10_000) })))
  }

  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this.status = 'stopped'
    clearInterval(this.sweepTimer)
    clearInterval(this.announceTimer)
    clearTimeout(this.publishSoon)
    for (const controller of this.active) controller.abort(new NetworkNotStartedError('the network is stopping'))
    const pubsub = this.libp2p.services.pubsub
    pubsub.removeEventListener('message', this.onMessage)
    pubsub.removeEventListener('subscription-change', this.onSubscriptionChange)
    await this.helia.stop()
    await this.libp2p.stop()
    this.known.clear()
  }

  async dial (address: PeerTarget, options: AbortOptions = {}): Promise<{ peerId: string }> {
    const { connection } = await this.connect(address, options.signal)
    return { peerId: connection.remotePeer.toString() }
  }

  /** A connection to `peer` (an existing one, or dialled); typed errors name the protocol it was for, if any. */
  private async connect (peer: PeerTarget, signal?: AbortSignal, protocol?: string): Promise<{ connection: Connection, target: PeerId | Multiaddr }> {
    this.assertStarted()
    const target = toTarget(peer)
    try {
      return { connection: await this.libp2p.dial(target, withSignal(signal)), target }
    } catch (err) {
      throwIfAborted(signal)
      throw new PeerUnreachableError(`cannot reach ${describeTarget(target)}: ${(err as Error).message}`, {
        peer: describeTarget(target), ...(protocol === undefined ? {} : { protocol }), cause: (err as Error).name
      })
    }
  }

  /** Opens a stream for `protocol`, mapping dial failures to typed errors. */
  private async open (peer: PeerTarget, protocol: string, signal?: AbortSignal): Promise<{ stream: Stream, remote: string }> {
    const { connection, target } = await this.connect(peer, signal, protocol)
    const remote = connection.remotePeer.toString()
    try {
      return { stream: await connection.newStream(protocol, withSignal(signal)), remote }
    } catch (err) {
      throwIfAborted(signal)
      const name = (err as Error).name
      if (name === 'UnsupportedProtocolError' || /protocol selection failed|not supported/i.test((err as Error).message)) {
        throw new ProtocolNotSupportedError(`${describeTarget(target)} does not speak ${protocol}`, { peer: describeTarget(target), protocol })
      }
      throw new PeerUnreachableError(`cannot reach ${describeTarget(target)} for ${protocol}: ${(err as Error).message}`, { peer: describeTarget(target), protocol, cause: name })
    }
  }

  async invoke (peer: PeerTarget, request: InvokeRequest, options: AbortOptions & { onProgress?: (p: InvokeProgress) => void } = {}): Promise<Receipt> {
    const { signal } = options
    const { stream, remote } = await this.open(peer, INVOKE_PROTOCOL, signal)
    const frames = frameStream(stream, this.maxMessageBytes)
    const onAbort = (): void => { resetStream(stream, new AbortError()) }
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      await frames.write(invokeRequestToIpld(request), withSignal(signal))
      for (let progressFrames = 0; ;) {
        const reply = readInvokeReply(await frames.read(withSignal(signal)))
        if (reply.kind === 'progress') {
          if (++progressFrames > MAX_PROGRESS_FRAMES) throw new MalformedMessageError(`more than ${MAX_PROGRESS_FRAMES} progress frames`, { remotePeer: remote })
          options.onProgress?.(reply.progress)
          continue
        }
        if (reply.kind === 'error') throw remoteFailure(reply.error, remote)
        await closeStream(stream)
        return reply.receipt
      }
    } catch (err) {
      resetStream(stream, err instanceof Error ? err : new Error(String(err)))
      if (!(err instanceof AbortError)) throwIfAborted(signal)
      throw err
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
  }

  handleInvoke (handler: InvokeHandler): void {
    this.invokeHandler = handler
  }

  async fetchReceipts (peer: PeerTarget, instructions: CID[], options: AbortOptions = {}): Promise<ExchangedReceipt[]> {
    if (instructions.length === 0) return []
    if (instructions.length > MAX_RECEIPTS_PER_REQUEST) {
      // Several requests, in order, on separate streams.
      const out: ExchangedReceipt[] = []
      for (let i = 0; i < instructions.length; i += MAX_RECEIPTS_PER_REQUEST) {
        out.push(...await this.fetchReceipts(peer, instructions.slice(i, i + MAX_RECEIPTS_PER_REQUEST), options))
      }
      return out
    }
    return await this.receiptsRequest(peer, { instructions }, (reply) => readReceiptsReply(reply, instructions), options.signal)
  }

  /** One request and one reply on `/ipvm/receipts/1.0.0` (by instructions, or by argument). */
  private async receiptsRequest (peer: PeerTarget, request: Record<string, IpldValue>, read: (reply: IpldValue) => ExchangedReceipt[] | { error: SerializedError }, signal?: AbortSignal): Promise<ExchangedReceipt[]> {
    const { stream, remote } = await this.open(peer, RECEIPTS_PROTOCOL, signal)
    const frames = frameStream(stream, this.maxMessageBytes)
    try {
      await frames.write(request, withSignal(signal))
      const reply = read(await frames.read(withSignal(signal)))
      if (!Array.isArray(reply)) throw remoteFailure(reply.error, remote)
      await closeStream(stream)
      return reply
    } catch (err) {
      resetStream(stream, err instanceof Error ? err : new Error(String(err)))
      if (!(err instanceof AbortError)) throwIfAborted(signal)
      throw err
    }
  }

  handleReceipts (lookup: ReceiptLookup): void {
    this.receiptLookup = lookup
  }

  async fetchComputedFrom (peer: PeerTarget, argument: CID, options: AbortOptions = {}): Promise<ExchangedReceipt[]> {
    return await this.receiptsRequest(peer, { arguments: [argument] }, readComputedFromReply, options.signal)
  }

  handleComputedFrom (lookup: ComputedFromLookup): void {
    this.computedFromLookup = lookup
  }

  get dhtEnabled (): boolean {
    return this.libp2p.services.dht !== undefined
  }

  async putReceiptRecord (instruction: CID, receipt: Receipt, options: AbortOptions & DhtProgressOptions = {}): Promise<'receipt' | 'pointer'> {
    const dht = this.requireDht()
    let value = encodeReceiptRecord({ instruction, receipt })
    let kind: 'receipt' | 'pointer' = 'receipt'
    if (value.byteLength > MAX_RECORD_BYTES) {
      value = encodeReceiptRecord({ instruction, provider: this.peerId })
      kind = 'pointer'
    }
    for await (const _event of dht.put(receiptRecordKey(instruction), value, queryOptions(options))) {
      // drain: the put completes when the query does
    }
    return kind
  }

  async getReceiptRecords (instruction: CID, options: AbortOptions & DhtProgressOptions = {}): Promise<DhtReceipt[]> {
    const dht = this.requireDht()
    const found: DhtReceipt[] = []
    try {
      // kad-dht has already run validateReceiptRecord on every value it received, and yields one:
      // the value its selector picked, once the whole query has ended.
      for await (const event of dht.get(receiptRecordKey(instruction), queryOptions(options))) {
        if (event.name !== 'VALUE') continue
        let record: ReceiptRecord
        try {
          record = decodeReceiptRecord(event.value)
        } catch {
          continue
        }
        if ('provider' in record) {
          const fetched = await this.fetchReceipts(record.provider, [instruction], options).catch(() => [])
          for (const r of fetched) found.push({ receipt: r.receipt, from: record.provider, via: 'pointer' })
        } else {
          found.push({ receipt: record.receipt, from: event.from.toString(), via: 'record' })
        }
      }
    } catch (err) {
      if (options.signal?.aborted === true) return found
      if (found.length > 0) return found
      if ((err as Error).name === 'NotFoundError') return found
      throw err
    }
    return found
  }

  announcementStats (): AnnouncementStats {
    return { ...this.stats }
  }

  private requireDht (): KadDHT {
    this.assertStarted()
    const dht = this.libp2p.services.dht
    if (dht === undefined) throw new NetworkError('the DHT is off: create the network with dht: true')
    return dht
  }

  /** Whether an announcement from `peer` fits its token bucket. */
  private admit (peer: string): boolean {
    let bucket = this.buckets.get(peer)
    if (bucket === undefined) {
      if (this.buckets.size >= MAX_KNOWN_PEERS) this.buckets.delete(this.buckets.keys().next().value!)
      bucket = new TokenBucket(this.announceRate.perSecond, this.announceRate.burst)
      this.buckets.set(peer, bucket)
    }
    return bucket.take()
  }

  announce (capabilities: Omit<Capabilities, 'peerId' | 'expires'>): void {
    const before = this.own
    this.own = { ...capabilities }
    // Unchanged capabilities wait for the periodic refresh: callers may re-announce on a timer, and
    // every publication reaches (and is verified by) every subscriber.
    const unchanged = before !== undefined && ipldEquals(capabilitiesToIpld({ ...before, expires: 0 }), capabilitiesToIpld({ ...this.own, expires: 0 }))
    if (this.status === 'started' && !(unchanged && this.announceTimer !== undefined)) this.startAnnouncing()
  }

  stopAnnouncing (): void {
    this.own = undefined
    clearInterval(this.announceTimer)
    clearTimeout(this.publishSoon)
    this.announceTimer = undefined
    this.publishSoon = undefined
  }

  async announceReceipt (instruction: CID, receiptCid: CID, options: { receipt?: Receipt, bytes?: Uint8Array } = {}): Promise<void> {
    this.assertStarted()
    // A small receipt travels inside the announcement: every subscriber can check and keep it without
    // a round trip to the announcer, who may be several gossip hops away and not dialable.
    const bytes = options.bytes ?? (options.receipt === undefined ? undefined : encode(receiptToIpld(options.receipt)))
    if (bytes !== undefined && bytes.byteLength <= MAX_INLINE_RECEIPT_BYTES) {
      await this.libp2p.services.pubsub.publish(RECEIPTS_TOPIC, dagCbor.encode({ instruction, receiptCid, receipt: bytes }))
      return
    }
    // Otherwise with up to 4 of our addresses: a peer several gossip hops away can then dial us to fetch it.
    const addrs: string[] = []
    let budget = 700 // of the 1 KiB a pointer announcement may take; the CIDs and framing take the rest
    for (const a of this.multiaddrs().map(String)) {
      if (addrs.length === 4 || a.length > 256 || a.length + 3 > budget) continue
      addrs.push(a)
      budget -= a.length + 3
    }
    await this.libp2p.services.pubsub.publish(RECEIPTS_TOPIC, dagCbor.encode({ instruction, receiptCid, addrs }))
  }

  validateAnnouncedReceipts (validator: AnnouncedReceiptValidator | undefined): void {
    this.receiptValidator = validator
  }

  peers (): Capabilities[] {
    const now = Date.now()
    return [...this.known.values()].filter((c) => c.expires > now)
  }

  // ------------------------------------------------------------------------------------ internals

  private assertStarted (): void {
    if (this.status !== 'started') throw new NetworkNotStartedError(this.stopped ? 'the network was stopped' : 'the network is not started: call start() first')
  }

  /** Serves one `/ipvm/invoke` stream: read the request, run the handler, stream progress, send the receipt or error. */
  private async serveInvoke (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer
    await this.serving(stream, 'the invoker went away', async (frames, controller, readRequest) => {
      let request: InvokeRequest
      try {
        request = readInvokeRequest(await readRequest())
      } catch (err) {
        await this.refuse(frames, err)
        return
      }
      const handler = this.invokeHandler
      if (handler === undefined) {
        await this.refuse(frames, new ProtocolNotSupportedError('this node does not run tasks for others'))
        return
      }
      // Frames go out in order: progress before the receipt, whatever the handler awaits in between.
      let chain: Promise<void> = Promise.resolve()
      const send = (value: IpldValue): Promise<void> => {
        chain = chain.then(async () => { await frames.write(value) })
        return chain
      }
      let progressFrames = 0
      const progress = (p: InvokeProgress): void => {
        if (controller.signal.aborted || ++progressFrames > MAX_PROGRESS_FRAMES) return
        send(progressToIpld(p)).catch(() => {})
      }
      let final: IpldValue
      try {
        const receipt = await handler(request, { peer, signal: controller.signal, progress })
        final = { receipt: receiptToIpld(receipt) }
      } catch (err) {
        final = { error: serializeError(err) as unknown as IpldValue }
      }
      if (controller.signal.aborted) {
        resetStream(stream, new RemoteError('aborted'))
        return
      }
      try {
        await chain.catch(() => {})
        await send(final)
      } catch (err) {
        if (err instanceof MessageTooLargeError) {
          await this.refuse(frames, err)
          return
        }
        resetStream(stream, err as Error)
        return
      }
      await closeStream(stream)
    })
  }

  /**
   * One served stream: its frames, a controller aborted when the peer goes away (or the node stops),
   * and the first read bounded by the request timeout.
   */
  private async serving (stream: Stream, gone: string, body: (frames: FrameStream, controller: AbortController, readRequest: () => Promise<IpldValue>) => Promise<void>): Promise<void> {
    const frames = frameStream(stream, this.maxMessageBytes)
    const controller = new AbortController()
    const onClose = (): void => { controller.abort(new RemoteError(gone)) }
    stream.addEventListener('close', onClose)
    this.active.add(controller)
    try {
      await body(frames, controller, async () => await frames.read({ signal: AbortSignal.any([controller.signal, AbortSignal.timeout(this.requestTimeoutMs)]) }))
    } finally {
      stream.removeEventListener('close', onClose)
      this.active.delete(controller)
    }
  }

  /** Serves one `/ipvm/receipts` stream. */
  private async serveReceipts (stream: Stream, _connection: Connection): Promise<void> {
    await this.serving(stream, 'the peer went away', async (frames, controller, readRequest) => {
      let instructions: CID[]
      try {
        const request = readReceiptsRequest(await readRequest())
        if (!Array.isArray(request)) {
          await this.serveComputedFrom(frames, request.argument, controller.signal)
          return
        }
        instructions = request
      } catch (err) {
        await this.refuse(frames, err)
        return
      }
      const lookup = this.receiptLookup
      if (lookup === undefined) {
        await this.refuse(frames, new ProtocolNotSupportedError('this node does not serve receipts'))
        return
      }
      let found: ExchangedReceipt[]
      try {
        const asked = new Set(instructions.map((c) => c.toString()))
        found = (await lookup(instructions, { signal: controller.signal })).filter((r) => asked.delete(r.instruction.toString()))
      } catch (err) {
        await this.refuse(frames, err, false)
        return
      }
      if (!await this.writeReceiptsReply(frames, found)) return
      await closeStream(stream)
    })
  }

  private async serveComputedFrom (frames: FrameStream, argument: CID, signal: AbortSignal): Promise<void> {
    const lookup = this.computedFromLookup
    if (lookup === undefined) {
      await this.refuse(frames, new ProtocolNotSupportedError('this node does not answer reverse lookups'))
      return
    }
    let found: ExchangedReceipt[]
    try {
      found = (await lookup(argument, { signal })).slice(0, MAX_RECEIPTS_PER_REQUEST)
    } catch (err) {
      await this.refuse(frames, err, false)
      return
    }
    if (!await this.writeReceiptsReply(frames, found)) return
    await closeStream(frames.stream)
  }

  /**
   * Writes a receipts reply; one that does not fit in a frame is cut in half until it does (the
   * asker asks again for what is missing). False when the stream had to be reset.
   */
  private async writeReceiptsReply (frames: FrameStream, found: ExchangedReceipt[]): Promise<boolean> {
    for (;;) {
      try {
        await frames.write(receiptsReplyToIpld(found))
        return true
      } catch (err) {
        if (!(err instanceof MessageTooLargeError) || found.length === 0) {
          resetStream(frames.stream, err as Error)
          return false
        }
        found = found.slice(0, Math.floor(found.length / 2))
      }
    }
  }

  /** Sends `err` as the final frame; resets the stream after a frame that was too large or malformed. */
  private async refuse (frames: FrameStream, err: unknown, reset = err instanceof MessageTooLargeError || err instanceof MalformedMessageError): Promise<void> {
    if (err instanceof RemoteError || (err instanceof Error && err.name === 'AbortError')) {
      resetStream(frames.stream, err)
      return
    }
    try {
      await frames.write({ error: serializeError(err) as unknown as IpldValue }, { signal: AbortSignal.timeout(5000) })
    } catch {
      resetStream(frames.stream, err instanceof Error ? err : new Error(String(err)))
      return
    }
    if (reset) resetStream(frames.stream, err instanceof Error ? err : new Error(String(err)))
    else await closeStream(frames.stream)
  }

  private startAnnouncing (): void {
    clearInterval(this.announceTimer)
    this.announceTimer = setInterval(() => { this.publishCapabilities() }, this.intervalMs)
    unref(this.announceTimer)
    this.schedulePublish(0)
  }

  /** Publishes soon (coalescing bursts of `announce()` calls and new subscribers). */
  private schedulePublish (delayMs: number): void {
    if (this.publishSoon !== undefined) return
    this.publishSoon = setTimeout(() => {
      this.publishSoon = undefined
      this.publishCapabilities()
    }, delayMs)
    unref(this.publishSoon)
  }

  private publishCapabilities (): void {
    if (this.own === undefined || this.status !== 'started') return
    const message = capabilitiesToIpld({ ...this.own, expires: Date.now() + this.ttlMs })
    const bytes = dagCbor.encode(message)
    if (bytes.byteLength > MAX_CAPABILITIES_BYTES) {
      this.dispatchEvent(new CustomEvent('error', { detail: new MessageTooLargeError(`capabilities of ${bytes.byteLength} bytes exceed ${MAX_CAPABILITIES_BYTES}`) }))
      return
    }
    this.libp2p.services.pubsub.publish(CAPABILITIES_TOPIC, bytes).catch(() => {
      // No subscribers yet, or stopping: the next interval or subscription retries.
    })
  }

  private readonly onSubscriptionChange = (event: CustomEvent<{ peerId: PeerId, subscriptions: Array<{ topic: string, subscribe: boolean }> }>): void => {
    if (this.own === undefined) return
    if (event.detail.subscriptions.some((s) => s.topic === CAPABILITIES_TOPIC && s.subscribe)) this.schedulePublish(50)
  }

  private decodeCapabilities (message: Message): Capabilities | undefined {
    if (message.type !== 'signed' || message.data.byteLength > MAX_CAPABILITIES_BYTES) return undefined
    try {
      const capabilities = readCapabilities(dagCbor.decode<IpldValue>(message.data), message.from.toString())
      capabilities.expires = Math.min(capabilities.expires, Date.now() + MAX_ANNOUNCED_TTL_MS)
      return capabilities
    } catch {
      return undefined
    }
  }

  private validateCapabilities (message: Message): TopicValidatorResult {
    const capabilities = this.decodeCapabilities(message)
    if (capabilities === undefined) return TopicValidatorResult.Reject
    if (capabilities.expires <= Date.now()) return TopicValidatorResult.Ignore
    this.validated.set(message, capabilities)
    return TopicValidatorResult.Accept
  }

  private readonly onMessage = (event: CustomEvent<Message>): void => {
    const message = event.detail
    // Both topics have validators (set in start()): only what they accepted is delivered.
    const validated = this.validated.get(message)
    if (validated === undefined || message.type !== 'signed') return
    if (message.topic === CAPABILITIES_TOPIC && 'did' in validated) {
      const capabilities = validated
      if (capabilities.expires <= Date.now() || capabilities.peerId === this.peerId) return
      // Bounded: a flood of peer ids cannot grow the table without limit.
      if (!this.known.has(capabilities.peerId) && this.known.size >= MAX_KNOWN_PEERS) return
      this.known.set(capabilities.peerId, capabilities)
      this.dispatchEvent(new CustomEvent('peer:capabilities', { detail: capabilities }))
    } else if (message.topic === RECEIPTS_TOPIC && 'instruction' in validated) {
      const { instruction, receiptCid, addrs, inline } = validated
      if (inline === undefined) this.learnAddresses(message.from, addrs)
      this.dispatchEvent(new CustomEvent('receipt:announced', {
        detail: { peerId: message.from.toString(), instruction, receiptCid, ...(inline === undefined ? {} : { receipt: inline.receipt }) }
      }))
    }
  }

  /** Remembers where an announcer listens (once per peer, bounded), unless already connected. */
  private learnAddresses (peer: PeerId, addrs: string[]): void {
    const key = peer.toString()
    if (addrs.length === 0 || this.addressed.has(key) || this.libp2p.getConnections(peer).length > 0) return
    if (this.addressed.size >= MAX_KNOWN_PEERS) this.addressed.clear()
    this.addressed.add(key)
    const multiaddrs: Multiaddr[] = []
    for (const a of addrs) {
      try {
        const m = multiaddr(a)
        const id = m.getComponents().find((c) => c.name === 'p2p')?.value
        if (id === undefined || id === key) multiaddrs.push(m) // never addresses claiming another peer
      } catch {
        // not a multiaddr: ignored
      }
    }
    if (multiaddrs.length > 0) this.libp2p.peerStore.merge(peer, { multiaddrs }).catch(() => {})
  }

  /**
   * Shape and size, then the publisher's token bucket, then an inline receipt's CID and the node's
   * own check (signature): a flood or a forgery is neither delivered nor relayed.
   */
  private async validateReceiptAnnouncement (message: Message): Promise<TopicValidatorResult> {
    if (message.type !== 'signed' || message.data.byteLength > MAX_RECEIPT_ANNOUNCEMENT_BYTES) {
      this.stats.malformed++
      return TopicValidatorResult.Reject
    }
    let announcement: ReceiptAnnouncement
    try {
      announcement = readReceiptAnnouncement(dagCbor.decode<IpldValue>(message.data))
    } catch {
      this.stats.malformed++
      return TopicValidatorResult.Reject
    }
    const peerId = message.from.toString()
    if (!this.admit(peerId)) {
      this.stats.rateLimited++
      this.dispatchEvent(new CustomEvent('receipt:rate-limited', { detail: { peerId } }))
      return TopicValidatorResult.Ignore
    }
    const inline = announcement.inline
    if (inline !== undefined) {
      if (!(await cidOfBytes(inline.bytes)).equals(announcement.receiptCid)) {
        this.stats.invalid++
        return TopicValidatorResult.Reject
      }
      const verdict = this.receiptValidator === undefined
        ? 'accept'
        : await this.receiptValidator({ peerId, instruction: announcement.instruction, receiptCid: announcement.receiptCid, receipt: inline.receipt }).catch(() => 'reject' as const)
      if (verdict !== 'accept') {
        if (verdict === 'reject') this.stats.invalid++
        return verdict === 'reject' ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore
      }
    }
    this.stats.accepted++
    this.validated.set(message, announcement)
    return TopicValidatorResult.Accept
  }

  private sweep (): void {
    const now = Date.now()
    for (const [peerId, capabilities] of this.known) {
      if (capabilities.expires <= now) {
        this.known.delete(peerId)
        this.dispatchEvent(new CustomEvent('peer:capabilities:expired', { detail: capabilities }))
      }
    }
  }
}

function unref (timer: unknown): void {
  (timer as { unref?: () => void } | undefined)?.unref?.()
}

function withSignal (signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal === undefined ? {} : { signal }
}

/** Publisher and sequence number of a gossipsub message, as a string (see `fastMsgIdFn` above). */
function fastMessageId (message: { from?: Uint8Array, seqno?: Uint8Array, data?: Uint8Array }): string {
  const hex = (bytes: Uint8Array | undefined): string => bytes === undefined ? '' : Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
  return `${hex(message.from)}/${hex(message.seqno)}/${message.data?.byteLength ?? 0}`
}

/** The kad-dht settings a caller may tune (the rest are fixed: protocol, server mode, validators). */
function dhtTuning (options: DhtOptions): Partial<Pick<KadDHTInit, 'kBucketSize' | 'alpha' | 'disjointPaths'>> {
  const tuning: Partial<Pick<KadDHTInit, 'kBucketSize' | 'alpha' | 'disjointPaths'>> = {}
  for (const key of ['kBucketSize', 'alpha', 'disjointPaths'] as const) {
    const value = options[key]
    if (value === undefined) continue
    if (!Number.isSafeInteger(value) || value < 1 || value > 64) throw new NetworkError(`dht.${key} must be an integer from 1 to 64`)
    tuning[key] = value
  }
  return tuning
}

/** A DHT query's options: the caller's signal and progress listener (kad-dht emits `kad-dht:query:*` events). */
function queryOptions (options: AbortOptions & DhtProgressOptions): { signal?: AbortSignal, onProgress?: (event: Event) => void } {
  return { ...withSignal(options.signal), ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }) }
}


/**
 * Creates (and by default starts) the network of one ipvm node: a libp2p node with this platform's
 * transports, Helia with bitswap over it (`network.blockstore`), the ipvm protocols and gossip.
 */
export async function createIpvmNetwork (options: CreateIpvmNetworkOptions): Promise<IpvmNetwork> {
  if (options.blockstore === undefined) throw new NetworkError('createIpvmNetwork needs the node\'s blockstore')
  options.signal?.throwIfAborted()
  const platform = platformConfig({
    ...(options.listen === undefined ? {} : { listen: options.listen }),
    ...(options.relay === undefined ? {} : { relay: options.relay }),
    ...(options.relayServer === undefined ? {} : { relayServer: options.relayServer }),
    ...(options.webRTC === undefined ? {} : { webRTC: options.webRTC }),
    ...(options.iceServers === undefined ? {} : { iceServers: options.iceServers })
  })
  const libp2p = await createLibp2p({
    start: false,
    ...(options.privateKey === undefined ? {} : { privateKey: options.privateKey }),
    addresses: { listen: platform.listen },
    transports: (options.listen ?? []).some((a) => a.startsWith('/memory')) ? [...platform.transports, memory()] : platform.transports,
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // Loopback and private addresses are fine: what to dial is the user's choice, never a default list.
    connectionGater: { denyDialMultiaddr: () => false },
    services: {
      identify: identify(),
      // Two outbound ping streams per connection, not libp2p's one: kad-dht pings every new contact
      // while the connection monitor pings every connection; when they overlap the second ping fails
      // on the stream limit, and a failed monitor ping aborts a healthy connection — at 50 DHT nodes
      // hundreds of connections were torn down and redialled (bench/sim.mjs).
      ping: ping({ maxOutboundStreams: 2 }),
      pubsub: gossipsub({
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        allowedTopics: [CAPABILITIES_TOPIC, RECEIPTS_TOPIC],
        maxInboundDataLength: Math.max(1024 * 1024, MAX_CAPABILITIES_BYTES * 4),
        // Without it gossipsub verifies a message's signature before it checks whether it has seen
        // the message, so every duplicate copy from another mesh peer costs an Ed25519 verify: in a
        // 50-node network that was most of the CPU. Publisher + sequence number is the message id
        // under StrictSign; it enters the cache only once the signature verified, so a forged copy
        // cannot shadow the real one.
        fastMsgIdFn: fastMessageId,
        // Own messages go to the mesh (D peers) and spread from there, not to every subscribed peer:
        // with the DHT a node ends up connected to most of the network, and flooding each receipt
        // announcement to all of them multiplied the copies every node decrypts and drops.
        floodPublish: false
      }),
      ...platform.services,
      ...(options.dht !== undefined && options.dht !== false
        ? {
            dht: kadDHT({
              ...(options.dht === true ? {} : dhtTuning(options.dht)),
              protocol: DHT_PROTOCOL,
              clientMode: false,
              peerInfoMapper: passthroughMapper,
              allowQueryWithZeroPeers: true,
              validators: { [RECEIPT_RECORD_NAMESPACE]: async (key: Uint8Array, value: Uint8Array) => { await validateReceiptRecord(key, value) } },
              selectors: { [RECEIPT_RECORD_NAMESPACE]: selectReceiptRecord }
            })
          }
        : {})
    }
  }) as unknown as Libp2p<Services>
  const helia = createHeliaLight({
    blockstore: options.blockstore,
    codecs: [dagCbor],
    hashers: [sha3256]
  })
  // Bitswap runs on our libp2p: it only needs `helia.libp2p` to register its protocol and find peers.
  Object.defineProperty(helia, 'libp2p', { value: libp2p, enumerable: true })
  withBitswap(helia as unknown as Parameters<typeof withBitswap>[0])
  const network = new Network(libp2p, helia, options)
  if (options.start !== false) {
    try {
      await network.start()
    } catch (err) {
      await network.stop().catch(() => {})
      throw err
    }
  }
  return network as unknown as IpvmNetwork
}
