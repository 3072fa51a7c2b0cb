/**
 * `createIpvm()`: the runtime. Parses and plans workflows, replays what has a receipt, runs the rest
 * as dataflow on the executor, and keeps every receipt durable.
 */
import { AbortError, type CID, type IpldValue, type ParsedWorkflow, parseWorkflow, planWorkflow, type Result, serializeError, type WorkflowInput } from '@ipvm/core'
import type { ReceiptStore } from '@ipvm/store'
import { MutationPolicyError, NotStartedError } from './errors.js'
import type { RunEvent, WorkflowResult } from './events.js'
import type { EffectHandler, WasmExecutor } from './executor.js'
import { type PlacementMode, RunTimeEstimates } from './placement.js'
import { type RemoteInit, RemoteExecution } from './remote.js'
import { EventChannel, schedule } from './scheduler.js'
import { BatchingReceiptWriter, type ContentStore, Memo, type MemoCache, NetworkMemo, type ReceiptSigner, type StoredAnswer } from './services.js'
import type { ReceiptSharing, VerificationPolicy } from './sharing.js'
import type { Receipt } from '@ipvm/core'

/** A receipt computed from a CID (reverse lookup), and where it was found. */
export interface ComputedFrom {
  instruction: CID
  receipt: Receipt
  receiptCid: CID
  /** `local` (this node's store) or the peer id that answered. */
  from: string
}

export interface IpvmInit {
  /** Where receipts live. */
  store: ReceiptStore
  /** Where modules, inputs and large outputs live. */
  content: ContentStore
  /** Runs `wasm/run` tasks (the worker pool). */
  executor: WasmExecutor
  /** Signs receipts; unsigned receipts (`iss` null) without one. */
  signer?: ReceiptSigner
  /** Handlers for ops other than `wasm/run`, by op. */
  handlers?: Record<string, EffectHandler>
  /** Bytes outputs larger than this go to content and the receipt links them (default 64 KiB). */
  outputThreshold?: number
  /** Replayable receipts kept in memory for instant replay (default 4096). */
  memoCapacity?: number
  /** Start on creation (default true). */
  start?: boolean
  /** Delegation to peers over the network (placement, signed invocations, verified receipts). */
  remote?: RemoteInit
  /** Affinities this node has, e.g. `{ gpu: true }` (default none; `remote.affinities` overrides). */
  affinities?: Record<string, IpldValue>
  /** The network step of the memo: receipts shared with peers and the DHT, per a verification policy. */
  sharing?: ReceiptSharing
}

export interface RunOptions {
  signal?: AbortSignal
  /** Called with every event, as they happen. */
  onProgress?: (event: RunEvent) => void
  /** Allow more than one mutation in one workflow. */
  force?: boolean
  /** Where tasks run: `auto` (default: local first), `local` only, or `remote` when a peer can. */
  placement?: PlacementMode
  /** Caps on every task's fuel and memory (bytes), e.g. a delegation's caveats. */
  caps?: { fuel?: number | bigint, memory?: number | bigint }
  /**
   * Results of instructions the workflow awaits but that have no receipt here: what an invoker sends
   * along with a delegated task. Receipts in the store take precedence.
   */
  awaited?: ReadonlyArray<{ instruction: CID, out: Result, receiptCid?: CID }>
  /** Which peers' receipts this run accepts (default: the node's policy; see `VerificationPolicy`). */
  verification?: VerificationPolicy
}

/** A running workflow: iterate it for events; `result` resolves when every task has a receipt. */
export interface WorkflowRun extends AsyncIterable<RunEvent> {
  readonly result: Promise<WorkflowResult>
}

export interface Ipvm {
  start: () => Promise<void>
  stop: () => Promise<void>
  readonly status: 'started' | 'stopped'
  /** Runs a workflow: Homestar JSON text, DAG-CBOR bytes, a parsed object, or a `ParsedWorkflow`. */
  run: (workflow: WorkflowInput | ParsedWorkflow, options?: RunOptions) => WorkflowRun
  readonly store: ReceiptStore
  readonly content: ContentStore
  /** Stores bytes (a module, an image) as `ipfs add --cid-version 1` would; returns the CID. */
  add: (bytes: Uint8Array, options?: { signal?: AbortSignal }) => Promise<CID>
  /** The memoized receipt for an instruction, if there is one. */
  receipt: (instruction: CID, options?: { signal?: AbortSignal }) => Promise<StoredAnswer | undefined>
  /** Forgets every receipt: the store and the in-memory memo (content stays). */
  clearReceipts: (options?: { signal?: AbortSignal }) => Promise<void>
  /** Adds UCANs (JWT) to present to a provider (`'*'` for any); needs a network. */
  addProofs: (provider: string, jwts: string[]) => void
  /** This node's DID, when it signs receipts. */
  readonly did?: string
  /**
   * Reverse lookup: receipts of instructions that took `cid` as an argument, from the store and
   * (with a network, unless `network: false`) from connected peers (signature-checked).
   */
  computedFrom: (cid: CID, options?: { signal?: AbortSignal, network?: boolean }) => Promise<ComputedFrom[]>
  /** Receipt sharing with peers (events `receipt:network-hit`, `receipt:rejected`, `peer:liar`; stats), with a network. */
  readonly sharing?: ReceiptSharing
}

function isParsed (value: unknown): value is ParsedWorkflow {
  return typeof value === 'object' && value !== null && 'byInstruction' in value && 'tasks' in value && 'cid' in value
}

class IpvmNode implements Ipvm {
  status: 'started' | 'stopped' = 'stopped'
  private closed = false
  readonly store: ReceiptStore
  readonly content: ContentStore
  readonly did?: string
  private readonly executor: WasmExecutor
  private readonly memo: Memo
  private readonly memoCache: MemoCache
  readonly sharing?: ReceiptSharing
  private readonly writer: BatchingReceiptWriter
  private readonly handlers: Map<string, EffectHandler>
  private readonly remote?: RemoteExecution
  private readonly estimates = new RunTimeEstimates()
  private readonly active = new Set<AbortController>()
  private readonly warnings = new Set<(operation: string, error: unknown) => void>()

  constructor (private readonly init: IpvmInit) {
    this.store = init.store
    this.content = init.content
    this.executor = init.executor
    if (init.signer !== undefined) this.did = init.signer.did
    const warn = (operation: string, error: unknown): void => { for (const w of this.warnings) w(operation, error) }
    this.memo = new Memo(init.store, init.memoCapacity ?? 4096, warn)
    // A resilient store turns its failures into misses and says so with events: surface them in runs.
    const events = init.store as Partial<Pick<EventTarget, 'addEventListener'>>
    if (typeof events.addEventListener === 'function') {
      events.addEventListener('store:warning', (event: Event) => {
        const detail = (event as CustomEvent<{ operation?: string, error?: unknown }>).detail
        warn(detail?.operation ?? 'store', detail?.error ?? new Error('store warning'))
      })
    }
    this.writer = new BatchingReceiptWriter(init.store, this.memo, warn)
    if (init.sharing !== undefined) this.sharing = init.sharing
    this.memoCache = init.sharing === undefined ? this.memo : new NetworkMemo(this.memo, init.sharing, this.writer, this.estimates, init.signer?.did)
    this.handlers = new Map(Object.entries(init.handlers ?? {}))
    if (init.remote !== undefined) this.remote = new RemoteExecution(init.remote)
  }

  async start (): Promise<void> {
    if (this.closed) throw new NotStartedError('this ipvm node was stopped; create a new one')
    if (this.status === 'started') return
    await this.executor.start?.()
    this.status = 'started'
  }

  async stop (): Promise<void> {
    // Release the store and workers even when never started (e.g. `ipvm add` opens without starting).
    if (this.closed) return
    this.closed = true
    this.status = 'stopped'
    for (const controller of this.active) controller.abort(new AbortError('ipvm stopped'))
    this.sharing?.stop()
    await this.writer.idle()
    await this.executor.stop?.()
    await this.store.close()
  }

  run (input: WorkflowInput | ParsedWorkflow, options: RunOptions = {}): WorkflowRun {
    const channel = new EventChannel(options.onProgress)
    const controller = new AbortController()
    const signal = options.signal === undefined ? controller.signal : AbortSignal.any([options.signal, controller.signal])
    const result = (async (): Promise<WorkflowResult> => {
      if (this.status !== 'started') throw new NotStartedError('ipvm is not started: call start() first')
      this.active.add(controller)
      const onWarning = (operation: string, error: unknown): void => {
        channel.push({ type: 'store:warning', operation, message: serializeError(error).message })
      }
      this.warnings.add(onWarning)
      try {
        signal.throwIfAborted()
        const opened = (this.store as { opened?: () => Promise<boolean> }).opened
        if (typeof opened === 'function' && !(await opened.call(this.store))) {
          channel.push({ type: 'store:warning', operation: 'open', message: 'the receipt store could not be opened: receipts of this run are not kept and nothing is replayed from it' })
        }
        const parsed = isParsed(input) ? input : await parseWorkflow(input, { signal })
        const plan = planWorkflow(parsed)
        const mutations = parsed.tasks.filter((t) => this.handlers.get(t.task.run.op)?.kind === 'mutation')
        if (mutations.length > 1 && options.force !== true) {
          throw new MutationPolicyError(`workflow has ${mutations.length} mutations (tasks ${mutations.map((t) => t.index).join(', ')}); pass force to run more than one`, { tasks: mutations.map((t) => t.index) })
        }
        return await schedule(parsed, plan, {
          executor: this.executor,
          content: this.content,
          memo: this.memoCache,
          sink: this.writer,
          ...(this.sharing === undefined ? {} : { onLocalRun: this.sharing.ranLocally.bind(this.sharing) }),
          ...(this.init.signer === undefined ? {} : { signer: this.init.signer }),
          handlers: this.handlers,
          outputThreshold: this.init.outputThreshold ?? 64 * 1024,
          ...(this.remote === undefined ? {} : { remote: this.remote }),
          ...(this.init.affinities === undefined ? {} : { affinities: this.init.affinities }),
          estimates: this.estimates
        }, {
          signal,
          force: options.force === true,
          channel,
          ...(options.awaited === undefined ? {} : { awaited: options.awaited }),
          ...(options.placement === undefined ? {} : { placement: options.placement }),
          ...(options.caps === undefined ? {} : { caps: options.caps }),
          ...(options.verification === undefined ? {} : { verification: options.verification })
        })
      } catch (err) {
        if (signal.aborted && !(err instanceof AbortError)) throw new AbortError(undefined, { cause: String(signal.reason) })
        throw err
      } finally {
        this.warnings.delete(onWarning)
        this.active.delete(controller)
      }
    })()
    result.then(() => { channel.end() }, (err: unknown) => { channel.end(err) })
    // The iterator rethrows the failure; an unobserved `result` must not become an unhandled rejection.
    result.catch(() => {})
    return {
      result,
      [Symbol.asyncIterator]: () => channel[Symbol.asyncIterator]()
    }
  }

  async clearReceipts (options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.writer.idle()
    this.memo.forget()
    await this.store.clear(options)
  }

  addProofs (provider: string, jwts: string[]): void {
    if (this.remote === undefined) throw new TypeError('this node has no network: create it with createIpvm({ network })')
    this.remote.addProofs(provider, jwts)
  }

  async add (bytes: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<CID> {
    return await this.content.put(bytes, options)
  }

  async computedFrom (cid: CID, options: { signal?: AbortSignal, network?: boolean } = {}): Promise<ComputedFrom[]> {
    const abort = options.signal === undefined ? {} : { signal: options.signal }
    const local: ComputedFrom[] = (await this.store.listByArgument(cid, abort)).map((e) => ({ instruction: e.instruction, receipt: e.receipt, receiptCid: e.receiptCid, from: 'local' }))
    if (options.network === false || this.sharing === undefined) return local
    const seen = new Set(local.map((e) => e.receiptCid.toString()))
    const remote = (await this.sharing.computedFromPeers(cid, abort)).filter((e) => {
      const key = e.receiptCid.toString()
      if (seen.has(key)) return false
      seen.add(key)
      return true
    })
    return [...local, ...remote]
  }

  async receipt (instruction: CID, options: { signal?: AbortSignal } = {}): Promise<StoredAnswer | undefined> {
    return await this.memo.get(instruction, options)
  }
}

/**
 * Creates an ipvm node from its parts. Platform defaults (IndexedDB or LevelDB, the worker pool, a
 * persisted identity) are assembled by `createIpvm` in `index.ts`.
 */
export async function createIpvmFromParts (init: IpvmInit): Promise<Ipvm> {
  const node = new IpvmNode(init)
  if (init.start !== false) await node.start()
  return node
}
