/**
 * `createIpvm()` with sensible defaults per platform: receipts and blocks in IndexedDB (browsers) or
 * LevelDB under the user's data directory (Node), a worker pool sized to the machine, and a
 * persisted did:key identity that signs every receipt.
 */
import { createAuth, generateIdentity, loadOrCreateIdentity, signReceipt, type Signer } from '@ipvm/auth'
import type { IpldValue, Receipt } from '@ipvm/core'
import { type ClosableBlockstore, createBlockstore, createReceiptStore, defaultDataDir, PLATFORM, type ReceiptStore } from '@ipvm/store'
import { createWasmExecutor } from '@ipvm/wasm'
import type { IpvmNetwork } from '@ipvm/net'
import type { Blockstore } from 'interface-blockstore'
import { blockstoreContent } from './content.js'
import type { EffectHandler, WasmExecutor } from './executor.js'
import { invokeHandler, type ProviderOptions } from './provider.js'
import type { RemoteInit } from './remote.js'
import { createIpvmFromParts, type Ipvm } from './runtime.js'
import { Reputation } from './reputation.js'
import type { ReceiptSigner } from './services.js'
import { ReceiptSharing, type SharingInit, type VerificationPolicy } from './sharing.js'

export interface CreateIpvmOptions {
  /**
   * Where everything lives: in Node a directory (default: `$IPVM_HOME` or the user data directory)
   * holding `receipts/`, `blocks/` and `keys/`; in browsers a prefix for IndexedDB database names.
   */
  location?: string
  /** Keep receipts, blocks and the identity in memory only. */
  memory?: boolean
  /** A receipt store of your own. */
  store?: ReceiptStore
  /** A Helia-compatible blockstore of your own (e.g. `helia.blockstore`). */
  blockstore?: Blockstore
  /** An executor of your own, or options of the default worker pool. */
  executor?: WasmExecutor
  poolSize?: number
  /** The identity that signs receipts: a signer, or `false` for unsigned (Homestar-style) receipts. */
  signer?: Signer | false
  /** Handlers for ops other than `wasm/run`. */
  handlers?: Record<string, EffectHandler>
  /** Receipt store budget in bytes (least recently used receipts are evicted beyond it). */
  maxReceiptBytes?: number
  /** Bytes outputs above this go to the blockstore and the receipt links them (default 64 KiB). */
  outputThreshold?: number
  /** Start at once (default true). */
  start?: boolean
  /**
   * A network (`createIpvmNetwork` from @ipvm/net): content then comes from its blockstore (peers
   * fetch what they lack over bitswap) and tasks can run on peers (see `remote`).
   */
  network?: IpvmNetwork
  /** Affinities this node has, e.g. `{ gpu: true }`: tasks needing one it lacks go to a peer that has it. */
  affinities?: Record<string, IpldValue>
  /** Delegation settings: UCANs to present to providers, this node's affinities, placement mode. */
  remote?: Omit<RemoteInit, 'network' | 'auth'>
  /** Providers whose receipts (and delegations) this node trusts besides its own. */
  trusted?: string[]
  /**
   * With a network: run tasks peers delegate here (each invocation must carry a UCAN chain rooted at
   * this node or a trusted provider). Default true.
   */
  serve?: boolean
  /**
   * With a network: which peers' receipts the memo accepts — `'own'`, `{ trusted: DIDs }` or
   * `{ confirmations: N, referee?: boolean }`. Default `{ trusted: options.trusted ?? [] }`.
   */
  verification?: VerificationPolicy
  /** With a network: tuning of receipt sharing (peers asked per lookup, default deadline, publish rate), or `false` for none. */
  sharing?: false | Pick<SharingInit, 'askPeers' | 'defaultDeadlineMs' | 'publishPerSecond'>
  /** Peers at or below this reputation are ignored in lookups and placement (default -1). */
  reputationThreshold?: number
  /** Events about invocations served (refused, ran). */
  onProviderEvent?: ProviderOptions['onEvent']
  /** Called after each `/ipvm/receipts` request this node answered. */
  onReceiptsServed?: (asked: number, found: number) => void
  signal?: AbortSignal
}

/** Wraps an @ipvm/auth signer as the runtime's receipt signer. */
export function receiptSigner (signer: Signer): ReceiptSigner {
  return {
    did: signer.did,
    sign: async (receipt: Receipt) => await signReceipt({ ...receipt, iss: signer.did }, signer)
  }
}

/** Where a part lives: a subdirectory in Node, a database name with a suffix in browsers. */
function place (base: string, part: string): string {
  if (PLATFORM === 'node') return base.endsWith('/') ? `${base}${part}` : `${base}/${part}`
  return `${base}-${part}`
}

/** Creates (and by default starts) an ipvm node. */
export async function createIpvm (options: CreateIpvmOptions = {}): Promise<Ipvm> {
  const memory = options.memory === true
  const base = options.location ?? defaultDataDir()
  const store = options.store ?? createReceiptStore({
    memory,
    location: place(base, 'receipts'),
    ...(options.maxReceiptBytes === undefined ? {} : { maxBytes: options.maxReceiptBytes })
  })
  const ownBlockstore: ClosableBlockstore | undefined = options.blockstore === undefined && options.network === undefined ? await createBlockstore({ memory, location: place(base, 'blocks') }) : undefined
  const blockstore: Blockstore = options.blockstore ?? options.network?.blockstore ?? ownBlockstore!
  let signer: ReceiptSigner | undefined
  let identity: Signer | undefined
  if (options.signer !== false) {
    const abort = options.signal === undefined ? {} : { signal: options.signal }
    identity = options.signer ?? (memory ? await generateIdentity(abort) : await loadOrCreateIdentity({ location: place(base, 'keys'), ...abort }))
    signer = receiptSigner(identity)
  }
  let remote: RemoteInit | undefined
  if (options.network !== undefined) {
    if (identity === undefined) throw new TypeError('delegating to peers needs an identity: do not pass signer: false with a network')
    remote = { ...(options.affinities === undefined ? {} : { affinities: options.affinities }), ...options.remote, network: options.network, auth: createAuth({ signer: identity, ...(options.trusted === undefined ? {} : { trusted: options.trusted }) }) }
  }
  let sharing: ReceiptSharing | undefined
  let reputationStore: ClosableBlockstore | undefined
  let reputation: Reputation | undefined
  if (remote !== undefined && options.sharing !== false) {
    reputationStore = await createBlockstore({ memory, location: place(base, 'reputation') })
    reputation = new Reputation({ blockstore: reputationStore, ...(options.reputationThreshold === undefined ? {} : { threshold: options.reputationThreshold }) })
    await reputation.load()
    remote.reputation = reputation
    sharing = new ReceiptSharing({
      ...(options.sharing ?? {}),
      network: remote.network,
      auth: remote.auth,
      store,
      reputation,
      policy: options.verification ?? { trusted: options.trusted ?? [] }
    })
  }
  const executor = options.executor ?? createWasmExecutor(options.poolSize === undefined ? {} : { size: options.poolSize })
  const node = await createIpvmFromParts({
    ...(options.affinities === undefined ? {} : { affinities: options.affinities }),
    store,
    content: blockstoreContent(blockstore),
    executor,
    ...(signer === undefined ? {} : { signer }),
    ...(options.handlers === undefined ? {} : { handlers: options.handlers }),
    ...(options.outputThreshold === undefined ? {} : { outputThreshold: options.outputThreshold }),
    ...(remote === undefined ? {} : { remote }),
    ...(sharing === undefined ? {} : { sharing }),
    start: options.start !== false
  })
  const cleanups: Array<() => Promise<void> | void> = []
  if (remote !== undefined) {
    const { network, auth } = remote
    if (options.serve !== false) {
      network.handleInvoke(invokeHandler(node, auth, options.onProviderEvent === undefined ? {} : { onEvent: options.onProviderEvent }))
    }
    network.handleReceipts(async (instructions, opts) => {
      const found = []
      for (const instruction of instructions) {
        const entry = await node.store.getByInstruction(instruction, opts)
        const receipt = entry?.receipt ?? sharing?.held(instruction)
        if (receipt !== undefined) found.push({ instruction, receipt })
      }
      options.onReceiptsServed?.(instructions.length, found.length)
      return found
    })
    // Capabilities: what this node runs, its affinities and how busy its pool is, refreshed.
    const announce = (): void => {
      const stats = (executor as { stats?: { size?: number, idle?: number } }).stats
      network.announce({
        did: auth.did,
        ops: ['wasm/run'],
        affinities: remote.affinities ?? options.affinities ?? {},
        workers: executor.concurrency,
        freeWorkers: stats?.idle ?? executor.concurrency,
        modules: [],
        data: []
      })
    }
    announce()
    const timer = setInterval(announce, 5_000)
    ;(timer as { unref?: () => void }).unref?.()
    cleanups.push(() => { clearInterval(timer) })
  }
  if (reputationStore !== undefined && reputation !== undefined) {
    const [closable, scores] = [reputationStore, reputation]
    cleanups.push(async () => { await scores.flush(); await closable.close() })
  }
  if (ownBlockstore !== undefined) {
    const closable = ownBlockstore
    cleanups.push(async () => { await closable.close() })
  }
  if (cleanups.length > 0) {
    const stop = node.stop.bind(node)
    Object.defineProperty(node, 'stop', { value: async () => { await stop(); for (const cleanup of cleanups) await cleanup() } })
  }
  return node
}
