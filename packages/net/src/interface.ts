/**
 * The contract of @ipvm/net: what the runtime (placement, remote execution) and `ipvm serve` use.
 * One libp2p node per ipvm node; Helia shares it for content (bitswap), so a provider fetches the
 * module and inputs it lacks from the invoker.
 */
import type { SignedInvocation } from '@ipvm/auth'
import type { CID, IpldValue, Receipt, Result } from '@ipvm/core'
import type { Libp2p, PeerId } from '@libp2p/interface'
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

export interface NetworkEvents {
  /** A peer's (new or refreshed) capabilities. */
  'peer:capabilities': CustomEvent<Capabilities>
  /** A peer announced a new receipt (gossipsub topic `ipvm/receipts/1.0.0`). */
  'receipt:announced': CustomEvent<{ peerId: string, instruction: CID, receiptCid: CID }>
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
  /** Starts (or updates) this node's announcements; they are re-published before they expire. */
  announce: (capabilities: Omit<Capabilities, 'peerId' | 'expires'>) => void
  /** Announces a new receipt by instruction CID. */
  announceReceipt: (instruction: CID, receiptCid: CID) => Promise<void>
  /** Known, unexpired capabilities of other peers. */
  peers: () => Capabilities[]
}
