/**
 * The contract of @ipvm/net: what the runtime (placement, remote execution) and `ipvm serve` use.
 * One libp2p node per ipvm node; Helia shares it for content (bitswap), so a provider fetches the
 * module and inputs it lacks from the invoker.
 */
import type { SignedInvocation } from '@ipvm/auth'
import type { CID, IpldValue, Receipt, Result } from '@ipvm/core'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Blockstore } from 'interface-blockstore'

export interface AbortOptions {
  signal?: AbortSignal
}

/** What a node advertises over gossipsub (topic `ipvm/capabilities/1.0.0`), refreshed and expiring. */
export interface Capabilities {
  /** The node's DID: the issuer of the receipts it signs, and the audience of invocations to it. */
  did: string
  peerId: string
  /** Ops it executes, e.g. `['wasm/run']`. */
  ops: string[]
  /** Declared affinities, e.g. `{ gpu: true }`; a task's `meta.affinity` must be satisfied by them. */
  affinities: Record<string, IpldValue>
  /** Workers in its pool, and how many are idle now. */
  workers: number
  freeWorkers: number
  /** Bytes of memory it offers a task, if it says. */
  memoryBytes?: number
  /** Module CIDs it holds (no transfer needed). */
  modules: string[]
  /** Data CIDs it holds (for `meta.near`). */
  data: string[]
  /** Milliseconds since the epoch after which this announcement is stale. */
  expires: number
}

/** A receipt an awaited instruction produced, sent with an invocation so the provider can resolve the await. */
export interface AwaitedResult {
  instruction: CID
  out: Result
}

/** What the invoker sends on `/ipvm/invoke/1.0.0`. */
export interface InvokeRequest {
  signed: SignedInvocation
  /** Results of the instructions the task awaits (the provider has no receipts for them). */
  awaited: AwaitedResult[]
}

/** Progress the provider streams before the receipt. */
export type InvokeProgress =
  | { type: 'invoke:accepted' }
  | { type: 'invoke:started' }

/** The provider side: verify, run, sign; throw typed errors (they travel to the invoker). */
export type InvokeHandler = (request: InvokeRequest, context: { peer: PeerId, signal: AbortSignal, progress: (p: InvokeProgress) => void }) => Promise<Receipt>

/** One receipt as exchanged on `/ipvm/receipts/1.0.0`. */
export interface ExchangedReceipt {
  instruction: CID
  receipt: Receipt
}

export type ReceiptLookup = (instructions: CID[], options: AbortOptions) => Promise<ExchangedReceipt[]>

/** Serves reverse lookups: receipts of instructions that took `argument` (a CID) as an argument. */
export type ComputedFromLookup = (argument: CID, options: AbortOptions) => Promise<ExchangedReceipt[]>

/** A receipt found in the DHT (signature checked, trust not judged: the reader's policy decides). */
export interface DhtReceipt {
  receipt: Receipt
  /** The peer that returned the record, or the provider a pointer record named. */
  from: string
  via: 'record' | 'pointer'
}

/**
 * Tuning of the DHT's queries (kad-dht's defaults otherwise: 20, 10, 10). In a network of tens of
 * peers where every routing table holds nearly everyone, `{ kBucketSize: 8, alpha: 3, disjointPaths: 1 }`
 * cuts the RPCs of a put from ~45 to ~18 and of a get from ~20 to ~9 (bench/sim.mjs) — at the price of
 * fewer replicas per record (8) and no multi-path defence against peers that misroute queries.
 */
export interface DhtOptions {
  /** Peers per routing-table bucket, and replicas of a put record (default 20). */
  kBucketSize?: number
  /** Concurrent RPCs per query path (default 10). */
  alpha?: number
  /** Disjoint paths a query follows (default 10). */
  disjointPaths?: number
}

/** Progress of a DHT query: kad-dht's events (`kad-dht:query:send-query`, `…:peer-response`, `…:value`, …). */
export interface DhtProgressOptions {
  onProgress?: (event: Event) => void
}

/** What this node did with receipt announcements it received. */
export interface AnnouncementStats {
  accepted: number
  /** Dropped because the publisher exceeded its token bucket. */
  rateLimited: number
  /** Dropped because they did not decode. */
  malformed: number
  /** Dropped because the receipt they carried failed its checks (CID, signature: see `validateAnnouncedReceipts`). */
  invalid: number
}

/** A receipt that arrived inside an announcement, before it is delivered or relayed. */
export interface AnnouncedReceipt {
  /** The publisher (who signed the gossipsub message). */
  peerId: string
  instruction: CID
  receiptCid: CID
  receipt: Receipt
}

/**
 * Judges a receipt that arrived inside an announcement: `'accept'` delivers and relays it,
 * `'reject'` drops it and penalizes the peer that relayed it (gossipsub peer scoring), `'ignore'`
 * drops it quietly (e.g. an issuer this node no longer listens to).
 */
export type AnnouncedReceiptValidator = (announced: AnnouncedReceipt) => Promise<'accept' | 'reject' | 'ignore'>

export interface NetworkEvents {
  /** A peer's (new or refreshed) capabilities. */
  'peer:capabilities': CustomEvent<Capabilities>
  /** A peer's capabilities expired without a refresh (it went away or stopped announcing). */
  'peer:capabilities:expired': CustomEvent<Capabilities>
  /**
   * A peer announced a new receipt (gossipsub topic `ipvm/receipts/1.0.0`). `receipt` is there when
   * it travelled inline (its CID checked, and the validator of `validateAnnouncedReceipts` passed it);
   * otherwise fetch it from `peerId` with `fetchReceipts`.
   */
  'receipt:announced': CustomEvent<{ peerId: string, instruction: CID, receiptCid: CID, receipt?: Receipt }>
  /** A peer's announcement was dropped: it announces faster than its token bucket allows. */
  'receipt:rate-limited': CustomEvent<{ peerId: string }>
}

/** Options of `createIpvmNetwork`. */
export interface CreateIpvmNetworkOptions extends AbortOptions {
  /** The node's local blockstore; `network.blockstore` is Helia on top of it with bitswap on this libp2p. */
  blockstore: Blockstore
  /**
   * Addresses to listen on. Node default: `/ip4/127.0.0.1/tcp/0` and `/ip4/127.0.0.1/tcp/0/ws`
   * (loopback only); browsers: none of their own. `/webrtc` is always added (unless `webRTC: false`).
   */
  listen?: string[]
  /** Multiaddrs to dial at start (nothing by default: no public bootstrap peers). */
  bootstrap?: string[]
  /** A circuit relay multiaddr to reserve a slot on (listen on `<relay>/p2p-circuit`): how a page becomes reachable. */
  relay?: string
  /** Run a circuit-relay server (Node only; `ipvm serve` does). */
  relayServer?: boolean
  /** The libp2p key (default: a new Ed25519 key). It is not the ipvm identity (the DID). */
  privateKey?: PrivateKey
  /** Largest length-prefixed frame sent or accepted, in bytes (default 8 MiB). */
  maxMessageBytes?: number
  /** How often this node re-announces its capabilities (default: a third of `capabilityTtlMs`). */
  announceIntervalMs?: number
  /** How long an announcement is valid (default 30 s). */
  capabilityTtlMs?: number
  /** Time a peer has to send a complete request on `/ipvm/invoke` and `/ipvm/receipts` (default 10 s). */
  requestTimeoutMs?: number
  /** Time `network.blockstore.get` waits for a block from peers when the caller gives no signal (default 30 s). */
  fetchTimeoutMs?: number
  /** WebRTC (default true). */
  webRTC?: boolean
  /** ICE servers for WebRTC (default none: no public STUN servers are contacted). */
  iceServers?: RTCIceServer[]
  /** Start at once (default true). */
  start?: boolean
  /** Run the Kademlia DHT (`/ipvm/kad/1.0.0`) with receipt records (default false); an object tunes its queries. */
  dht?: boolean | DhtOptions
  /** Receipt announcements accepted per publisher: refill per second and burst (default 50/s, 200). */
  announcementRate?: { perSecond: number, burst: number }
}

export interface IpvmNetwork extends EventTarget {
  readonly libp2p: Libp2p
  /** A blockstore that fetches missing blocks from connected peers (Helia + bitswap on this libp2p). */
  readonly blockstore: Blockstore
  readonly peerId: string
  multiaddrs: () => Multiaddr[]
  start: () => Promise<void>
  stop: () => Promise<void>
  /** Connects to a peer (a provider, a relay, another page) by multiaddr. */
  dial: (address: string | Multiaddr, options?: AbortOptions) => Promise<{ peerId: string }>
  /** Sends a signed invocation; resolves with the provider's receipt (not yet verified: the caller verifies). */
  invoke: (peer: string | PeerId | Multiaddr, request: InvokeRequest, options?: AbortOptions & { onProgress?: (p: InvokeProgress) => void }) => Promise<Receipt>
  /** Serves `/ipvm/invoke/1.0.0`. */
  handleInvoke: (handler: InvokeHandler) => void
  /** Asks a peer for receipts of instructions. */
  fetchReceipts: (peer: string | PeerId | Multiaddr, instructions: CID[], options?: AbortOptions) => Promise<ExchangedReceipt[]>
  /** Serves `/ipvm/receipts/1.0.0`. */
  handleReceipts: (lookup: ReceiptLookup) => void
  /** Asks a peer which receipts it holds of instructions that took `argument` as an argument. */
  fetchComputedFrom: (peer: string | PeerId | Multiaddr, argument: CID, options?: AbortOptions) => Promise<ExchangedReceipt[]>
  /** Serves reverse lookups on `/ipvm/receipts/1.0.0` (`{arguments: [cid]}`). */
  handleComputedFrom: (lookup: ComputedFromLookup) => void
  /** Whether the DHT runs (`dht: true`). */
  readonly dhtEnabled: boolean
  /**
   * Puts a receipt record in the DHT: the receipt, or a pointer to this node when it is larger than
   * 64 KiB. `onProgress` hears kad-dht's query events (`kad-dht:query:send-query` is one RPC sent).
   */
  putReceiptRecord: (instruction: CID, receipt: Receipt, options?: AbortOptions & DhtProgressOptions) => Promise<'receipt' | 'pointer'>
  /**
   * The receipt record of an instruction in the DHT (validated; a pointer resolved over
   * `/ipvm/receipts`): kad-dht answers with the one record its selector picks when the query ends.
   * `onProgress` as for puts.
   */
  getReceiptRecords: (instruction: CID, options?: AbortOptions & DhtProgressOptions) => Promise<DhtReceipt[]>
  /** Counts of receipt announcements accepted and dropped. */
  announcementStats: () => AnnouncementStats
  /** Starts (or updates) this node's announcements; they are re-published before they expire. */
  announce: (capabilities: Omit<Capabilities, 'peerId' | 'expires'>) => void
  /**
   * Announces a new receipt of an instruction. With `receipt` (and its DAG-CBOR `bytes`, if at hand)
   * the announcement carries it when it is at most 4 KiB, so nobody needs to fetch it; otherwise it
   * names the receipt CID and where this node listens.
   */
  announceReceipt: (instruction: CID, receiptCid: CID, options?: { receipt?: Receipt, bytes?: Uint8Array }) => Promise<void>
  /** Sets the check every inline-announced receipt passes before it is delivered or relayed (default: its CID only). */
  validateAnnouncedReceipts: (validator: AnnouncedReceiptValidator | undefined) => void
  /** Known, unexpired capabilities of other peers. */
  peers: () => Capabilities[]
  /** Stops announcing this node's capabilities. */
  stopAnnouncing: () => void
  readonly status: 'started' | 'stopped'
  addEventListener: (<K extends keyof NetworkEvents>(type: K, listener: ((event: NetworkEvents[K]) => void) | null, options?: boolean | AddEventListenerOptions) => void) &
    ((type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions) => void)
  removeEventListener: (<K extends keyof NetworkEvents>(type: K, listener: ((event: NetworkEvents[K]) => void) | null, options?: boolean | EventListenerOptions) => void) &
    ((type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions) => void)
}
