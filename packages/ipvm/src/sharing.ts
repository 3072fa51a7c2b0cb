/**
 * The network step of the memo: after memory and the local store, receipts from peers — those
 * announced on gossipsub (fetched from the announcer and signature-checked in the background), asked
 * of connected peers over `/ipvm/receipts`, and read from the DHT — accepted only per the verification
 * policy: `'own'`, `{ trusted }` or `{ confirmations: N, referee }`. A lookup has a deadline derived
 * from the function's learned run time, so it never costs more than running a cheap task. Receipts
 * run here are published (DHT record + announcement) in the background, rate-limited. When peers'
 * receipts disagree with each other or with what this node computed, the liars lose reputation.
 */
import type { Auth } from '@ipvm/auth'
import { type CID, encodeBlock, invocationCid, ipldEquals, linksIn, type Receipt, receiptCid, receiptToIpld, type Task } from '@ipvm/core'
import type { AnnouncedReceipt, IpvmNetwork } from '@ipvm/net'
import type { ReceiptStore } from '@ipvm/store'
import type { RunTimeEstimates } from './placement.js'
import type { Reputation } from './reputation.js'
import type { ReceiptSink, StoredAnswer } from './services.js'

/** Which receipts from peers a node accepts. */
export type VerificationPolicy =
  | 'own'
  | { trusted: string[] }
  | { confirmations: number, referee?: boolean }

export interface SharingStats {
  /** Network lookups made (memory and store missed). */
  lookups: number
  /** Lookups answered from the network. */
  hits: number
  /** Requests sent for lookups (receipt fetches, and every RPC of a DHT query). */
  messages: number
  /** Messages sent in the background (fetches of announced receipts, announcements, RPCs of DHT puts). */
  backgroundMessages: number
  /** Receipts refused: bad signature, wrong instruction, untrusted, or a proven lie. */
  rejected: number
  /** Announcements dropped before use (unverifiable receipt, fetch failed). */
  dropped: number
  /** Disagreements settled by running the task here. */
  disputes: number
  /** Peers caught returning a wrong receipt. */
  liars: number
  /** Receipts published (announced and, with a DHT, put as records). */
  published: number
  /** Lookups that skipped the DHT: its queries have taken longer than the lookup's deadline. */
  dhtSkipped: number
}

export interface SharingEvents {
  'receipt:network-hit': CustomEvent<{ instruction: CID, issuers: string[], ms: number }>
  'receipt:rejected': CustomEvent<{ instruction: CID, issuer: string | null, reason: string }>
  'peer:liar': CustomEvent<{ did: string, instruction: CID, score: number }>
}

export interface SharingInit {
  network: IpvmNetwork
  auth: Auth
  store: ReceiptStore
  reputation: Reputation
  /** The node's policy (a run may pass its own). Default `{ trusted: [] }`: only this node's receipts. */
  policy?: VerificationPolicy
  /** Connected peers asked per lookup, besides those that announced (default 3). */
  askPeers?: number
  /** Deadline of a lookup whose function has no estimate yet (ms, default 250). */
  defaultDeadlineMs?: number
  /** Announcements (and DHT puts) published per second at most (default 20); the rest wait, up to 1024. */
  publishPerSecond?: number
}

interface Candidate { receipt: Receipt, from: string }

/** Whether a `{ trusted }` policy takes `did`'s receipts: this node's own, or a listed issuer's. */
function trusts (policy: { trusted: string[] }, did: string, ownDid: string | undefined): boolean {
  return did === ownDid || policy.trusted.includes(did)
}

/**
 * Whether a receipt accepted from the issuers `acceptedFrom` satisfies `policy`: `{ trusted }` wants
 * one of them this node's or trusted, `{ confirmations: N }` wants N of them; `'own'` never.
 */
export function acceptedUnder (policy: VerificationPolicy, acceptedFrom: string[], ownDid: string | undefined): boolean {
  if (policy === 'own') return false
  if ('trusted' in policy) return acceptedFrom.some((did) => trusts(policy, did, ownDid))
  return new Set(acceptedFrom).size >= Math.max(1, policy.confirmations)
}

/** The entry of `key`, created when missing; the oldest entry goes when the map is full. */
function boundedEntry<V> (map: Map<string, V>, key: string, create: () => V): V {
  let entry = map.get(key)
  if (entry === undefined) {
    if (map.size >= MAX_CANDIDATE_INSTRUCTIONS) map.delete(map.keys().next().value!)
    entry = create()
    map.set(key, entry)
  }
  return entry
}

const MAX_CANDIDATE_INSTRUCTIONS = 8192
/** The kad-dht progress event of one RPC sent during a query. */
const DHT_RPC = 'kad-dht:query:send-query'
/** How long a background DHT query (learning how long queries take) may run. */
const DHT_PROBE_TIMEOUT_MS = 5000
const FETCH_CONCURRENCY = 4

function issuerOf (receipt: Receipt): string | null {
  return typeof receipt.iss === 'string' ? receipt.iss : null
}

export class ReceiptSharing extends EventTarget {
  readonly stats: SharingStats = { lookups: 0, hits: 0, messages: 0, backgroundMessages: 0, rejected: 0, dropped: 0, disputes: 0, liars: 0, published: 0, dhtSkipped: 0 }
  readonly policy: VerificationPolicy
  /** Signature-checked receipts of peers, by instruction then issuer (bounded, oldest dropped). */
  private readonly candidates = new Map<string, Map<string, Candidate>>()
  private readonly fetchQueue: Array<{ peerId: string, instruction: CID, receiptCid: CID }> = []
  /** Peers that announced a receipt of an instruction (asked first by a lookup), bounded. */
  private readonly announcers = new Map<string, string[]>()
  private fetching = 0
  /** Results this node computed itself, by instruction (bounded, oldest dropped): the truth it can judge peers by. */
  private readonly ownResults = new Map<string, Receipt['out']>()
  /** How long this node's DHT queries take (moving average, ms), once one has run. */
  private dhtQueryMs: number | undefined
  private dhtSkips = 0
  private readonly publishQueue: Array<{ instruction: CID, receipt: Receipt, cid: CID, bytes?: Uint8Array }> = []
  private publishTimer: ReturnType<typeof setInterval> | undefined
  private stopped = false

  constructor (private readonly init: SharingInit) {
    super()
    this.policy = init.policy ?? { trusted: [] }
    init.network.addEventListener('receipt:announced', this.onAnnounced)
    init.network.validateAnnouncedReceipts(this.checkAnnounced)
    init.network.handleComputedFrom(async (argument, options) => {
      const entries = await init.store.listByArgument(argument, options)
      return entries.map((e) => ({ instruction: e.instruction, receipt: e.receipt }))
    })
  }

  stop (): void {
    this.stopped = true
    clearInterval(this.publishTimer)
    this.init.network.removeEventListener('receipt:announced', this.onAnnounced)
    this.init.network.validateAnnouncedReceipts(undefined)
  }

  /** Deadline of a lookup: clamp(estimate, 20 ms, 2 s), or the default without an estimate. */
  deadline (estimates: RunTimeEstimates | undefined, func: string | undefined): number {
    const estimate = func === undefined ? undefined : estimates?.get(func)
    if (estimate === undefined) return this.init.defaultDeadlineMs ?? 250
    return Math.round(Math.min(2000, Math.max(20, estimate)))
  }

  /**
   * Looks an instruction up on the network; resolves an answer accepted by the policy, or undefined
   * (also at the deadline). An accepted receipt is written to the store before it is returned.
   */
  async lookup (instruction: CID, options: { task?: Task, policy?: VerificationPolicy, deadlineMs: number, sink: ReceiptSink, workflow?: CID, signal?: AbortSignal }): Promise<StoredAnswer | undefined> {
    const policy = options.policy ?? this.policy
    if (policy === 'own' || this.stopped) return undefined
    this.stats.lookups++
    const started = performance.now()
    // The invocation a peer's receipt must name; hashed only once there is a candidate to check.
    const task = options.task
    let ran: Promise<CID> | undefined
    const expectedRan = task === undefined
      ? undefined
      : async (): Promise<CID> => {
        ran ??= invocationCid({ task })
        return await ran
      }
    let verdict = await this.judge(instruction, policy, expectedRan)
    if (verdict.kind === 'none') {
      const controller = new AbortController()
      const timeout = AbortSignal.timeout(Math.max(1, Math.round(options.deadlineMs)))
      const signal = AbortSignal.any([controller.signal, timeout, ...(options.signal === undefined ? [] : [options.signal])])
      await this.ask(instruction, policy, signal, options.deadlineMs, async () => (await this.judge(instruction, policy, expectedRan)).kind !== 'none')
      controller.abort() // the policy is satisfied (or every source answered): stop the rest
      options.signal?.throwIfAborted()
      verdict = await this.judge(instruction, policy, expectedRan)
    }
    if (verdict.kind === 'dispute') this.stats.disputes++
    if (verdict.kind !== 'accept') return undefined
    const receipt = verdict.receipt
    // Encoded once: the CID and the bytes the store keeps.
    const { cid, bytes } = await encodeBlock(receiptToIpld(receipt))
    const issuers = verdict.issuers
    // With the task's arguments, so a reverse lookup here finds what peers computed from them too, and
    // with the issuers it was accepted from, so a later run under a stricter policy does not replay it.
    await options.sink.write({
      receipt, receiptCid: cid, bytes, instruction, replayable: true, acceptedFrom: issuers,
      ...(task === undefined ? {} : { args: linksIn(task.run.input.args) }),
      ...(options.workflow === undefined ? {} : { workflow: options.workflow })
    })
    this.stats.hits++
    this.dispatchEvent(new CustomEvent('receipt:network-hit', { detail: { instruction, issuers, ms: performance.now() - started } }))
    return { receipt, receiptCid: cid, where: 'peer', peer: verdict.from, acceptedFrom: issuers }
  }

  /**
   * Puts a receipt this node already verified (one it accepted from the network earlier and stored)
   * among an instruction's candidates, as `from`'s, without checking its signature again: a stricter
   * lookup then counts it as one confirmation. Ignored when unsigned, from an issuer caught lying, or
   * when that issuer already has a candidate.
   */
  seed (instruction: CID, receipt: Receipt, from: string): void {
    const iss = issuerOf(receipt)
    if (iss === null || this.stopped || this.init.reputation.isBad(iss)) return
    const known = boundedEntry(this.candidates, instruction.toString(), () => new Map<string, Candidate>())
    if (!known.has(iss) && known.size < 16) known.set(iss, { receipt, from })
  }

  /** Called after this node ran a pure task: settle disagreements (referee), then publish. */
  ranLocally (instruction: CID, receipt: Receipt, cid: CID, bytes?: Uint8Array): void {
    const key = instruction.toString()
    // Remembered, so a peer's receipt of it that arrives later is judged at once, without a run.
    this.ownResults.delete(key)
    this.ownResults.set(key, receipt.out)
    if (this.ownResults.size > MAX_CANDIDATE_INSTRUCTIONS) this.ownResults.delete(this.ownResults.keys().next().value!)
    const known = this.candidates.get(key)
    if (known !== undefined) {
      for (const [did, candidate] of known) {
        if (ipldEquals(candidate.receipt.out, receipt.out)) this.init.reputation.reward(did)
        else this.convict(did, instruction, known)
      }
    }
    this.publish(instruction, receipt, cid, bytes)
  }

  /** A peer signed a result that differs from the one this node computed: a proven lie. */
  private convict (did: string, instruction: CID, known?: Map<string, Candidate>): void {
    this.init.reputation.penalize(did)
    known?.delete(did)
    this.stats.liars++
    this.dispatchEvent(new CustomEvent('peer:liar', { detail: { did, instruction, score: this.init.reputation.score(did) } }))
  }

  /**
   * A peer's receipt of an instruction this node holds as a checked candidate (from gossip), for
   * answering `/ipvm/receipts` when the store has none: a node that joined late, and missed the
   * announcements, can then get receipts from whoever it connects to. The asker verifies it again.
   */
  held (instruction: CID): Receipt | undefined {
    const known = this.candidates.get(instruction.toString())
    if (known === undefined) return undefined
    for (const [did, candidate] of known) if (!this.init.reputation.isBad(did)) return candidate.receipt
    return undefined
  }

  /** Reverse lookup on connected peers: receipts of instructions that took `argument` as an argument. */
  async computedFromPeers (argument: CID, options: { signal?: AbortSignal, deadlineMs?: number } = {}): Promise<Array<{ instruction: CID, receipt: Receipt, receiptCid: CID, from: string }>> {
    const timeout = AbortSignal.timeout(options.deadlineMs ?? 2000)
    const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout])
    const peers = this.connectedPeers().slice(0, 16)
    const out: Array<{ instruction: CID, receipt: Receipt, receiptCid: CID, from: string }> = []
    await Promise.all(peers.map(async (peer) => {
      let found: Array<{ instruction: CID, receipt: Receipt }>
      try {
        this.stats.messages++
        found = await this.init.network.fetchComputedFrom(peer, argument, { signal })
      } catch {
        return
      }
      for (const entry of found) {
        const iss = issuerOf(entry.receipt)
        if (iss === null || this.init.reputation.isBad(iss)) continue
        try {
          await this.init.auth.verifyReceipt(entry.receipt, { anyIssuer: true })
        } catch {
          this.reject(entry.instruction, entry.receipt, 'bad signature (reverse lookup)')
          continue
        }
        out.push({ ...entry, receiptCid: await receiptCid(entry.receipt), from: peer })
      }
    }))
    return out
  }

  // ------------------------------------------------------------------------------------ internals

  private connectedPeers (): string[] {
    return [...new Set(this.init.network.libp2p.getConnections().map((c) => c.remotePeer.toString()))]
  }

  private reject (instruction: CID, receipt: Receipt, reason: string): void {
    this.stats.rejected++
    this.dispatchEvent(new CustomEvent('receipt:rejected', { detail: { instruction, issuer: issuerOf(receipt), reason } }))
  }

  /**
   * Keeps a peer's receipt as a candidate answer when its signature verifies: `'reject'` for an
   * unsigned or forged receipt (counted, `receipt:rejected`), `'ignore'` for an issuer this node
   * caught lying.
   */
  private async consider (instruction: CID, receipt: Receipt, from: string, keepUpTo = 16): Promise<'accept' | 'reject' | 'ignore'> {
    const iss = issuerOf(receipt)
    if (iss === null) {
      this.reject(instruction, receipt, 'unsigned')
      return 'reject'
    }
    if (this.init.reputation.isBad(iss)) return 'ignore'
    try {
      await this.init.auth.verifyReceipt(receipt, { anyIssuer: true })
    } catch (err) {
      this.reject(instruction, receipt, (err as Error).message)
      return 'reject'
    }
    const key = instruction.toString()
    // The signature verified, so the issuer did sign this: if this node ran the instruction itself,
    // the receipt is judged now (a lie costs the liar its reputation without a referee run).
    const mine = this.ownResults.get(key)
    if (mine !== undefined && iss !== this.init.auth.did) {
      if (ipldEquals(mine, receipt.out)) {
        this.init.reputation.reward(iss)
      } else {
        this.convict(iss, instruction, this.candidates.get(key))
        return 'ignore'
      }
    }
    const known = boundedEntry(this.candidates, key, () => new Map<string, Candidate>())
    if (!known.has(iss) && (known.size < keepUpTo || this.trustedByNode(iss))) known.set(iss, { receipt, from })
    return 'accept'
  }

  /** Gossipsub's check of a receipt announced inline: verified (and kept) before it is delivered or relayed. */
  private readonly checkAnnounced = async (announced: AnnouncedReceipt): Promise<'accept' | 'reject' | 'ignore'> => {
    if (this.stopped) return 'ignore'
    // Every announced receipt is checked (nothing forged is relayed), but only as many are kept as the
    // policy can use: more would not make an answer more certain, only disputes more frequent.
    return await this.consider(announced.instruction, announced.receipt, announced.peerId, this.enough())
  }

  /** A finished query's time moves the estimate; one cut off at the deadline says it takes at least that long. */
  private learnDhtTime (ms: number, cutOff: boolean): void {
    const previous = this.dhtQueryMs
    if (cutOff) this.dhtQueryMs = Math.max(previous ?? 0, ms)
    else this.dhtQueryMs = previous === undefined ? ms : previous * 0.7 + ms * 0.3
  }

  /** Whether the node's own policy names this issuer (its receipts are always kept as candidates). */
  private trustedByNode (did: string): boolean {
    return did === this.init.auth.did || (typeof this.policy === 'object' && 'trusted' in this.policy && trusts(this.policy, did, this.init.auth.did))
  }

  private async judge (instruction: CID, policy: Exclude<VerificationPolicy, 'own'>, expectedRan: (() => Promise<CID>) | undefined): Promise<{ kind: 'accept', receipt: Receipt, issuers: string[], from: string } | { kind: 'none' } | { kind: 'dispute' }> {
    const known = this.candidates.get(instruction.toString())
    if (known === undefined) return { kind: 'none' }
    const usable: Array<[string, Candidate]> = []
    const ran = expectedRan === undefined ? undefined : (await expectedRan()).toString()
    for (const [did, candidate] of known) {
      if (this.init.reputation.isBad(did)) continue
      if (ran !== undefined && String(candidate.receipt.ran) !== ran) {
        known.delete(did)
        this.reject(instruction, candidate.receipt, 'the receipt is for another invocation')
        continue
      }
      usable.push([did, candidate])
    }
    if ('trusted' in policy) {
      const hit = usable.find(([did]) => trusts(policy, did, this.init.auth.did))
      return hit === undefined ? { kind: 'none' } : { kind: 'accept', receipt: hit[1].receipt, issuers: [hit[0]], from: hit[1].from }
    }
    // Confirmations: group by `out`.
    const groups: Array<{ out: unknown, members: Array<[string, Candidate]> }> = []
    for (const entry of usable) {
      const group = groups.find((g) => ipldEquals(g.out, entry[1].receipt.out))
      if (group === undefined) groups.push({ out: entry[1].receipt.out, members: [entry] })
      else group.members.push(entry)
    }
    const needed = Math.max(1, policy.confirmations)
    const confirmed = groups.filter((g) => g.members.length >= needed)
    if (groups.length > 1 && policy.referee !== false) {
      return { kind: 'dispute' } // run here as the referee; ranLocally() judges the candidates
    }
    if (confirmed.length !== 1) return { kind: 'none' }
    const members = confirmed[0]!.members
    return { kind: 'accept', receipt: members[0]![1].receipt, issuers: members.map(([did]) => did), from: members[0]![1].from }
  }

  /**
   * Asks peers that announced the instruction, a random few connected peers and the DHT, all at
   * once; resolves when `settled()` says the answer is decided, when every source answered, or at
   * the deadline (`signal`).
   */
  private async ask (instruction: CID, policy: Exclude<VerificationPolicy, 'own'>, signal: AbortSignal, deadlineMs: number, settled: () => Promise<boolean>): Promise<void> {
    const network = this.init.network
    const connected = this.connectedPeers()
    // A random few connected peers (each lookup spreads its questions).
    for (let i = connected.length - 1; i > 0; i--) {
      const j = Math.floor(Math.random() * (i + 1))
      ;[connected[i], connected[j]] = [connected[j]!, connected[i]!]
    }
    const wanted = 'confirmations' in policy ? Math.max(1, policy.confirmations) : 1
    const known = this.candidates.get(instruction.toString())
    const announced = (this.announcers.get(instruction.toString()) ?? []).filter((p) => ![...(known?.values() ?? [])].some((c) => c.from === p))
    const asked = [...new Set([...announced.slice(0, wanted + 1), ...connected])].slice(0, Math.max(this.init.askPeers ?? 3, wanted + 1))
    const jobs: Array<Promise<void>> = asked.map(async (peer) => {
      this.stats.messages++
      try {
        const found = await network.fetchReceipts(peer, [instruction], { signal })
        for (const entry of found) await this.consider(instruction, entry.receipt, peer)
      } catch {
        // unreachable, slow or refusing: another source may answer
      }
    })
    // The DHT is the last step (its queries cost most): only when the peers asked did not settle it,
    // and only when a query can finish before the deadline — a cheap task runs sooner than a DHT
    // walk answers, and a query cut off at the deadline only costs messages. One lookup in ten still
    // queries in the background, without the deadline, to keep learning how long queries take (what
    // it finds stays a candidate for later lookups).
    const fits = this.dhtQueryMs === undefined || deadlineMs >= this.dhtQueryMs
    const probe = !fits && ++this.dhtSkips % 10 === 0
    if (network.dhtEnabled && (fits || probe)) {
      const querySignal = fits ? signal : AbortSignal.timeout(DHT_PROBE_TIMEOUT_MS)
      const peersDone = Promise.all(jobs)
      const query = (async () => {
        await peersDone
        if (querySignal.aborted || await settled()) return
        const started = performance.now()
        try {
          // Every RPC of the query counts: a DHT lookup is many messages, not one.
          const found = await network.getReceiptRecords(instruction, { signal: querySignal, onProgress: (event) => { if (event.type === DHT_RPC) this.stats.messages++ } })
          for (const entry of found) await this.consider(instruction, entry.receipt, entry.from)
        } catch {
          // no record, or the deadline
        }
        this.learnDhtTime(performance.now() - started, querySignal.aborted)
      })()
      if (fits) jobs.push(query)
    } else if (network.dhtEnabled) {
      this.stats.dhtSkipped++
    }
    if (jobs.length === 0) return // nobody to ask: no reason to wait for the deadline
    await new Promise<void>((resolve) => {
      let pending = jobs.length
      const onAbort = (): void => { resolve() }
      signal.addEventListener('abort', onAbort, { once: true })
      for (const job of jobs) {
        void job.then(async () => {
          pending--
          if (pending === 0 || await settled()) {
            signal.removeEventListener('abort', onAbort)
            resolve()
          }
        })
      }
    })
  }

  private readonly onAnnounced = (event: CustomEvent<{ peerId: string, instruction: CID, receiptCid: CID, receipt?: Receipt }>): void => {
    if (this.stopped || this.policy === 'own') return
    const key = event.detail.instruction.toString()
    const announcers = boundedEntry(this.announcers, key, (): string[] => [])
    if (announcers.length < 16 && !announcers.includes(event.detail.peerId)) announcers.push(event.detail.peerId)
    if (event.detail.receipt !== undefined) return // it came inline and checkAnnounced already kept it
    // Fetch (and check) only as many receipts as the policy needs: the rest stay hints for lookups.
    const known = this.candidates.get(key)
    const queued = this.fetchQueue.filter((q) => q.instruction.equals(event.detail.instruction)).length
    if ((known?.size ?? 0) + queued >= this.enough()) return
    if (this.fetchQueue.length >= 1024) {
      this.stats.dropped++
      return
    }
    this.fetchQueue.push(event.detail)
    this.pump()
  }

  /** Fetches announced receipts from their announcers, a few at a time, and checks them. */
  private pump (): void {
    while (this.fetching < FETCH_CONCURRENCY && this.fetchQueue.length > 0 && !this.stopped) {
      const next = this.fetchQueue.shift()!
      this.fetching++
      void (async () => {
        try {
          this.stats.backgroundMessages++
          const found = await this.init.network.fetchReceipts(next.peerId, [next.instruction], { signal: AbortSignal.timeout(5000) })
          const entry = found[0]
          if (entry === undefined || !(await receiptCid(entry.receipt)).equals(next.receiptCid) || await this.consider(next.instruction, entry.receipt, next.peerId, this.enough()) !== 'accept') {
            this.stats.dropped++
          }
        } catch {
          this.stats.dropped++
        } finally {
          this.fetching--
          this.pump()
        }
      })()
    }
  }

  /** How many receipts of one instruction the node policy can use (confirmations + 1 to see a disagreement). */
  private enough (): number {
    const policy = this.policy
    if (policy === 'own') return 0
    return 'confirmations' in policy ? Math.max(1, policy.confirmations) + 1 : 2
  }

  private publish (instruction: CID, receipt: Receipt, cid: CID, bytes?: Uint8Array): void {
    if (this.stopped || this.init.network.status !== 'started') return
    if (this.publishQueue.length >= 1024) this.publishQueue.shift()
    this.publishQueue.push({ instruction, receipt, cid, ...(bytes === undefined ? {} : { bytes }) })
    if (this.publishTimer !== undefined) return
    const perTick = Math.max(1, Math.round((this.init.publishPerSecond ?? 20) / 10))
    const tick = (): void => {
      for (let i = 0; i < perTick; i++) {
        const next = this.publishQueue.shift()
        if (next === undefined) {
          clearInterval(this.publishTimer)
          this.publishTimer = undefined
          return
        }
        this.stats.published++
        this.stats.backgroundMessages++
        this.init.network.announceReceipt(next.instruction, next.cid, { receipt: next.receipt, ...(next.bytes === undefined ? {} : { bytes: next.bytes }) }).catch(() => {})
        // One DHT record per instruction is enough to find it: skip the put when a peer already announced one.
        if (this.init.network.dhtEnabled && (this.announcers.get(next.instruction.toString())?.length ?? 0) === 0) {
          this.init.network.putReceiptRecord(next.instruction, next.receipt, {
            signal: AbortSignal.timeout(10_000),
            onProgress: (event) => { if (event.type === DHT_RPC) this.stats.backgroundMessages++ }
          }).catch(() => {})
        }
      }
    }
    tick()
    this.publishTimer = setInterval(tick, 100)
    ;(this.publishTimer as { unref?: () => void }).unref?.()
  }
}
