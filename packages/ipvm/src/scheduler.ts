/**
 * The dataflow scheduler: a task starts as soon as everything it awaits has a receipt; before running
 * it, its instruction CID is looked up (memory, then the store); every outcome — success or failure —
 * becomes a receipt that is durable before any dependent starts.
 */
import {
  AbortError, type AwaitRef, type CID, type IpldMap, type IpldValue, invocationCid, IpvmError, isIpldMap, isOk,
  type ParsedWorkflow, type Plan, type Receipt, type Result, resourceCid, toDagJson, encodeBlock, receiptToIpld, type SerializedError, serializeError, WASM_RUN
} from '@ipvm/core'
import { ContentNotFoundError } from '@ipvm/store'
import { limitsFromMeta } from '@ipvm/wasm'
import { CID as CIDClass } from 'multiformats/cid'
import {
  BranchMismatchError, DependencyFailedError, DETERMINISTIC_ERROR_CODES, MutationSkippedError, NoProviderError,
  UnresolvedAwaitError, UnsupportedOpError
} from './errors.js'
import type { RunEvent, TaskOutcome, WorkflowResult, WorkflowStatus } from './events.js'
import type { EffectHandler, WasmExecutor } from './executor.js'
import { type PlacementMode, type RunTimeEstimates, satisfiesAffinity } from './placement.js'
import type { RemoteExecution } from './remote.js'
import type { ContentStore, MemoCache, ReceiptSink, ReceiptSigner, StoredAnswer } from './services.js'

export interface SchedulerServices {
  executor: WasmExecutor
  content: ContentStore
  memo: MemoCache
  sink: ReceiptSink
  signer?: ReceiptSigner
  handlers: ReadonlyMap<string, EffectHandler>
  /** Outputs (bytes) larger than this are stored as content and the receipt holds their link. */
  outputThreshold: number
  /** Delegation to peers, when this node has a network. */
  remote?: RemoteExecution
  /** Affinities this node has (a task needing one it lacks goes to a peer, or fails without a network). */
  affinities?: Record<string, IpldValue>
  /** Learned run times per function (placement uses them). */
  estimates?: RunTimeEstimates
  /** Called after a pure task ran here (its receipt durable): the network step publishes it. */
  onLocalRun?: (instruction: CID, receipt: Receipt, receiptCid: CID, bytes: Uint8Array) => void
}

interface Answer {
  out: Result
  receiptCid: CID
  /** Deterministic answer of the instruction (memoized), as opposed to a limit or infrastructure failure. */
  replayable: boolean
}

/** An error as the IPLD value of a receipt's `error` branch. */
export function errorValue (err: unknown, extra: IpldMap = {}): IpldMap {
  const data: SerializedError = serializeError(err)
  // Details sit beside name/code/message, so a branch mismatch reads as the UCAN Promise spec writes it:
  // {reason: "branch mismatch", expected, got, from}.
  const details = data.details === undefined ? {} : toIpld(data.details) as IpldMap
  return { ...details, ...extra, name: data.name, code: data.code, message: data.message }
}

function toIpld (value: unknown): IpldValue {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value)
  if (typeof value === 'bigint') return value
  if (Array.isArray(value)) return value.map(toIpld)
  if (typeof value === 'object') {
    const out: IpldMap = {}
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) if (v !== undefined) out[k] = toIpld(v)
    return out
  }
  return String(value)
}

function codeOf (err: unknown): string {
  return err instanceof IpvmError ? err.code : (typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : 'ERR_UNKNOWN')
}

/** The module CID of an `ipfs://<cid>` resource (also `/ipfs/<cid>` paths and gateway URLs). */
export function moduleCidOf (rsc: string): CID {
  const cid = resourceCid(rsc)
  if (cid === undefined) throw new ContentNotFoundError(`cannot fetch resource ${rsc}: only ipfs:// URIs and IPFS paths naming a valid CID are supported`, { rsc })
  return cid
}

/** Replaces awaits in `input` with the awaited results (per await kind); throws a typed error for mismatches. */
function substitute (value: IpldValue, awaited: Map<string, { ref: AwaitRef, answer: Answer }>, path: string): IpldValue {
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, awaited, `${path}[${i}]`))
  if (isIpldMap(value)) {
    const hit = awaited.get(path)
    if (hit !== undefined) {
      const { ref, answer } = hit
      if (ref.kind === 'await/*') return isOk(answer.out) ? { ok: answer.out.ok } : { error: answer.out.error }
      const want = ref.kind === 'await/ok' ? 'ok' : 'error'
      const got = isOk(answer.out) ? 'ok' : 'error'
      if (want !== got) {
        if (got === 'error' && !answer.replayable) {
          // Name the root cause once, however deep the chain of failed dependencies is.
          const error = (answer.out as { error: IpldValue }).error
          const root = isIpldMap(error) && error.code === 'ERR_DEPENDENCY_FAILED' && typeof error.root === 'string' ? error.root : ref.instruction.toString()
          const reason = isIpldMap(error) && error.code === 'ERR_DEPENDENCY_FAILED' && typeof error.reason === 'string' ? error.reason : describeError(answer.out)
          throw new DependencyFailedError(`not run: ${root === ref.instruction.toString() ? 'awaited task' : `task ${root}, upstream of awaited task ${ref.instruction.toString()},`} failed (${reason})`,
            { from: answer.receiptCid.toString(), instruction: ref.instruction.toString(), root, reason })
        }
        throw new BranchMismatchError(`branch mismatch: ${path} awaits the ${want} of ${ref.instruction.toString()}, which is ${got === 'ok' ? 'a success' : `an error (${describeError(answer.out)})`}`,
          { reason: 'branch mismatch', expected: want, got, from: answer.receiptCid.toString() })
      }
      return isOk(answer.out) ? answer.out.ok : (answer.out as { error: IpldValue }).error
    }
    const out: IpldMap = {}
    for (const [k, v] of Object.entries(value)) out[k] = substitute(v, awaited, path === '' ? k : `${path}.${k}`)
    return out
  }
  return value
}

function describeError (out: Result): string {
  if (isOk(out)) return 'ok'
  const e = out.error
  if (isIpldMap(e) && typeof e.message === 'string') return typeof e.name === 'string' ? `${e.name}: ${e.message}` : e.message
  return 'error'
}

/** Replaces every link in the arguments with the bytes it names, as Homestar does; records them. */
async function resolveLinks (value: IpldValue, content: ContentStore, links: CID[], signal: AbortSignal): Promise<IpldValue> {
  const cid = CIDClass.asCID(value)
  if (cid !== null) {
    links.push(cid)
    return await content.get(cid, { signal })
  }
  if (Array.isArray(value)) return await Promise.all(value.map(async (v) => await resolveLinks(v, content, links, signal)))
  if (isIpldMap(value)) {
    const out: IpldMap = {}
    for (const [k, v] of Object.entries(value)) out[k] = await resolveLinks(v, content, links, signal)
    return out
  }
  return value
}

/** Moves byte strings above the threshold into content, leaving links in the value. */
async function externalize (value: IpldValue, services: SchedulerServices, signal: AbortSignal): Promise<IpldValue> {
  if (value instanceof Uint8Array) {
    return value.byteLength > services.outputThreshold ? await services.content.put(value, { signal }) : value
  }
  if (Array.isArray(value)) return await Promise.all(value.map(async (v) => await externalize(v, services, signal)))
  if (isIpldMap(value)) {
    const out: IpldMap = {}
    for (const [k, v] of Object.entries(value)) out[k] = await externalize(v, services, signal)
    return out
  }
  return value
}

/** A queue of events that is also an async iterator. */
export class EventChannel implements AsyncIterable<RunEvent> {
  private readonly buffer: RunEvent[] = []
  private waiting?: () => void
  private ended = false
  private failure?: unknown

  constructor (private readonly onProgress?: (event: RunEvent) => void) {}

  push (event: RunEvent): void {
    this.buffer.push(event)
    try {
      this.onProgress?.(event)
    } catch {
      // a listener's exception must not break the run
    }
    this.waiting?.()
  }

  end (failure?: unknown): void {
    this.ended = true
    this.failure = failure
    this.waiting?.()
  }

  async * [Symbol.asyncIterator] (): AsyncGenerator<RunEvent> {
    let read = 0
    for (;;) {
      while (read < this.buffer.length) yield this.buffer[read++]!
      if (this.ended) {
        if (this.failure !== undefined) throw this.failure
        return
      }
      await new Promise<void>((resolve) => { this.waiting = resolve })
      this.waiting = undefined
    }
  }
}

export interface ScheduleOptions {
  signal: AbortSignal
  force: boolean
  channel: EventChannel
  /** Where tasks run: `auto` (default), `local` only, or `remote` when a peer can. */
  placement?: PlacementMode
  /** Caps on every task's limits (a provider applies its delegation's caveats this way). */
  caps?: { fuel?: number | bigint, memory?: number | bigint }
  /** Results of awaited instructions supplied by the caller (an invoker sends them with a delegated task). */
  awaited?: ReadonlyArray<{ instruction: CID, out: Result, receiptCid?: CID }>
  /** Which peers' receipts this run accepts (default: the node's policy). */
  verification?: import('./sharing.js').VerificationPolicy
}

/** Runs a parsed, planned workflow to completion. */
export async function schedule (workflow: ParsedWorkflow, plan: Plan, services: SchedulerServices, options: ScheduleOptions): Promise<WorkflowResult> {
  const { signal, channel } = options
  const started = performance.now()
  const n = workflow.tasks.length
  const answers = new Map<number, Answer>()
  const outcomes: TaskOutcome[] = new Array(n)
  const labels = workflow.tasks.map((t) => t.label ?? (typeof t.task.run.input.func === 'string' ? t.task.run.input.func : t.task.run.op))
  const kindOf = (i: number): 'pure' | 'query' | 'mutation' | 'unknown' => {
    const op = workflow.tasks[i]!.task.run.op
    if (op === WASM_RUN) return 'pure'
    return services.handlers.get(op)?.kind ?? 'unknown'
  }
  channel.push({ type: 'workflow:started', workflow: workflow.cid, ...(workflow.name === undefined ? {} : { name: workflow.name }), tasks: n })

  // Memo lookups for every pure task start at once, in parallel: a fully memoized workflow costs one
  // round of store reads, not one per dependency level.
  const memoLookups = new Map<number, Promise<StoredAnswer | undefined>>()
  for (const t of workflow.tasks) {
    if (kindOf(t.index) !== 'pure') continue
    const lookup = services.memo.get(t.instruction, {
      signal, task: t.task, workflow: workflow.cid,
      ...(options.verification === undefined ? {} : { policy: options.verification })
    })
    lookup.catch(() => {}) // awaited by runTask; an abort must not surface as unhandled here
    memoLookups.set(t.index, lookup)
  }
  // Module bytes are read (and verified against their CID) once per workflow, not once per task.
  const modules = new Map<string, Promise<Uint8Array>>()
  const moduleBytes = (cid: CID): Promise<Uint8Array> => {
    let bytes = modules.get(cid.toString())
    if (bytes === undefined) {
      bytes = services.content.get(cid, { signal })
      bytes.catch(() => {})
      modules.set(cid.toString(), bytes)
    }
    return bytes
  }

  // External awaits: receipts of earlier workflows from the store, else results the caller supplied.
  const supplied = new Map((options.awaited ?? []).map((a) => [a.instruction.toString(), a]))
  const externals = new Map<string, Answer | undefined>()
  await Promise.all([...new Set(workflow.tasks.flatMap((t) => t.external.map(String)))].map(async (key) => {
    const found = await services.memo.get(CIDClass.parse(key), { signal })
    const given = supplied.get(key)
    externals.set(key, found !== undefined
      ? { out: found.receipt.out, receiptCid: found.receiptCid, replayable: true }
      : given === undefined ? undefined : { out: given.out, receiptCid: given.receiptCid ?? given.instruction, replayable: !('error' in given.out) })
  }))

  const finish = (index: number, outcome: TaskOutcome, answer: Answer): void => {
    outcomes[index] = outcome
    answers.set(index, answer)
    const base = { ...outcome }
    delete (base as { status?: unknown }).status
    if (outcome.status === 'failed') channel.push({ ...base, type: 'task:failed', error: outcome.error! })
    else channel.push({ ...base, type: outcome.status === 'replayed' ? 'task:replayed' : 'task:ran' })
  }

  const fail = async (index: number, err: unknown, replayable: boolean): Promise<void> => {
    const out: Result = { error: errorValue(err) }
    await record(index, out, replayable, {}, [], performance.now())
  }

  // Stores a receipt durably — encoded once: the CID and the bytes the store keeps (it only re-hashes
  // them to check) — and describes the task's outcome; `peer` when a provider ran it.
  const persist = async (index: number, receipt: Receipt, args: CID[], replayable: boolean, startedAt: number, peer?: string, fuelUsed?: bigint): Promise<{ cid: CID, bytes: Uint8Array, outcome: TaskOutcome }> => {
    const task = workflow.tasks[index]!
    const out = receipt.out
    const { cid, bytes } = await encodeBlock(receiptToIpld(receipt))
    await services.sink.write({ receipt, receiptCid: cid, bytes, instruction: task.instruction, workflow: workflow.cid, args, replayable })
    const outcome: TaskOutcome = {
      index, instruction: task.instruction, label: labels[index]!, receipt, receiptCid: cid, out, replayed: false,
      durationMs: performance.now() - startedAt, where: peer === undefined ? 'local' : 'peer', status: isOk(out) ? 'ran' : 'failed'
    }
    if (peer !== undefined) outcome.peer = peer
    if (fuelUsed !== undefined) outcome.fuelUsed = fuelUsed
    if (!isOk(out)) outcome.error = errorFromOut(out)
    return { cid, bytes, outcome }
  }

  // Signs, stores (durably) and announces a receipt.
  const record = async (index: number, out: Result, replayable: boolean, meta: IpldMap, args: CID[], startedAt: number, fuelUsed?: bigint): Promise<void> => {
    const task = workflow.tasks[index]!
    let receipt: Receipt = { ran: await invocationCid({ task: task.task }), out, fx: { fork: [] }, meta, iss: null, prf: [] }
    if (services.signer !== undefined) receipt = await services.signer.sign(receipt)
    const { cid, bytes, outcome } = await persist(index, receipt, [...args, ...task.awaits.map((a) => a.instruction)], replayable, startedAt, undefined, fuelUsed)
    if (replayable && kindOf(index) === 'pure') services.onLocalRun?.(task.instruction, receipt, cid, bytes)
    finish(index, outcome, { out, receiptCid: cid, replayable })
  }

  const replay = (index: number, hit: StoredAnswer): void => {
    const task = workflow.tasks[index]!
    const out = hit.receipt.out
    const outcome: TaskOutcome = {
      index, instruction: task.instruction, label: labels[index]!, receipt: hit.receipt, receiptCid: hit.receiptCid, out,
      replayed: true, durationMs: 0, where: hit.where, status: isOk(out) ? 'replayed' : 'failed'
    }
    if (hit.peer !== undefined) outcome.peer = hit.peer
    if (!isOk(out)) outcome.error = errorFromOut(out)
    finish(index, outcome, { out, receiptCid: hit.receiptCid, replayable: true })
  }

  // A provider's receipt, verified by RemoteExecution: stored as it came (signed by the provider).
  const recordRemote = async (index: number, receipt: Receipt, peer: string, startedAt: number): Promise<void> => {
    const task = workflow.tasks[index]!
    const out = receipt.out
    const errorCode = isOk(out) ? undefined : errorFromOut(out).code
    const replayable = errorCode === undefined || DETERMINISTIC_ERROR_CODES.has(errorCode)
    const fuel = receipt.meta.fuel
    const { cid, outcome } = await persist(index, receipt, task.awaits.map((a) => a.instruction), replayable, startedAt, peer, typeof fuel === 'bigint' ? fuel : undefined)
    finish(index, outcome, { out, receiptCid: cid, replayable })
  }

  const runTask = async (index: number): Promise<void> => {
    const entry = workflow.tasks[index]!
    const { task } = entry
    channel.push({ type: 'task:ready', index, instruction: entry.instruction, label: labels[index]! })
    const kind = kindOf(index)
    // Memo lookup first: pure tasks only; queries and mutations observe or change the world.
    if (kind === 'pure') {
      const hit = await memoLookups.get(index)
      if (hit !== undefined) {
        replay(index, hit)
        return
      }
    }
    const startedAt = performance.now()
    let input: IpldValue
    let awaitedResults: Array<{ instruction: CID, out: Result, receiptCid: CID }> = []
    const links: CID[] = []
    try {
      const awaited = new Map<string, { ref: AwaitRef, answer: Answer }>()
      for (const ref of entry.awaits) {
        const target = workflow.byInstruction.get(ref.instruction.toString())
        const answer = target === undefined ? externals.get(ref.instruction.toString()) : answers.get(target)
        if (answer === undefined) {
          throw new UnresolvedAwaitError(`${ref.path} awaits ${ref.instruction.toString()}, which is not in this workflow and has no receipt in the store`, { instruction: ref.instruction.toString() })
        }
        awaited.set(ref.path, { ref, answer })
      }
      input = substitute(task.run.input, awaited, 'run.input')
      awaitedResults = [...awaited.values()].map(({ ref, answer }) => ({ instruction: ref.instruction, out: answer.out, receiptCid: answer.receiptCid }))
    } catch (err) {
      await fail(index, err, codeOf(err) === 'ERR_BRANCH_MISMATCH')
      return
    }
    if (kind === 'unknown') {
      await fail(index, new UnsupportedOpError(`no handler for op "${task.run.op}" on this node`, { op: task.run.op }), false)
      return
    }
    if (kind !== 'pure') {
      const handler = services.handlers.get(task.run.op)!
      channel.push({ type: 'task:started', index, instruction: entry.instruction, label: labels[index]!, where: 'local' })
      try {
        const value = await handler.run(input as IpldMap, { signal, instruction: entry.instruction, meta: task.meta })
        const out: Result = isIpldMap(value) && (Object.keys(value).length === 1) && ('ok' in value || 'error' in value) ? value as Result : { ok: value as IpldValue }
        // effects are never memoized: a query's answer can change, a mutation must not be skipped
        await record(index, out, false, { op: task.run.op }, [], startedAt)
      } catch (err) {
        if (signal.aborted) throw new AbortError()
        await fail(index, err, false)
      }
      return
    }
    const func = task.run.input.func as string
    const affinity = task.meta.affinity
    if (services.remote === undefined && isIpldMap(affinity) && Object.keys(affinity).length > 0 && !satisfiesAffinity(services.affinities ?? {}, affinity)) {
      await fail(index, new NoProviderError(`task needs ${toDagJson(affinity)}: this node lacks it and has no network to find a peer that has it`), false)
      return
    }
    if (services.remote !== undefined) {
      const stats = (services.executor as { stats?: { queued?: number } }).stats
      const estimate = services.estimates?.get(func)
      const decision = services.remote.decide(task, {
        ...(options.placement === undefined ? {} : { mode: options.placement }),
        localSaturated: (stats?.queued ?? 0) > 0,
        ...(estimate === undefined ? {} : { estimateMs: estimate })
      })
      if (decision.where === 'none') {
        await fail(index, new NoProviderError(`task needs ${decision.reason}`), false)
        return
      }
      if (decision.where === 'remote') {
        try {
          const { receipt, peer } = await services.remote.invoke(task, awaitedResults, decision.candidates, {
            signal,
            onAttempt: (p) => { channel.push({ type: 'task:started', index, instruction: entry.instruction, label: labels[index]!, where: 'peer', peer: p.peerId }) }
          })
          await recordRemote(index, receipt, peer.peerId, startedAt)
          return
        } catch (err) {
          if (signal.aborted) throw new AbortError()
          // A task that needs the remote affinity fails; anything else falls back to running here.
          if (decision.required) {
            await fail(index, err, false)
            return
          }
        }
      }
    }
    let args: IpldValue[]
    let bytes: Uint8Array
    let module: CID
    try {
      args = await resolveLinks((input as IpldMap).args as IpldValue[], services.content, links, signal) as IpldValue[]
      module = moduleCidOf(task.run.rsc)
      bytes = await moduleBytes(module)
    } catch (err) {
      if (signal.aborted) throw new AbortError()
      await fail(index, err, false)
      return
    }
    channel.push({ type: 'task:started', index, instruction: entry.instruction, label: labels[index]!, where: 'local' })
    try {
      const limits = limitsFromMeta(task.meta)
      // Caps never raise a task's own limits, and apply when the task states none.
      const caps = options.caps
      if (caps?.fuel !== undefined) limits.fuel = limits.fuel === undefined || limits.fuel > BigInt(caps.fuel) ? BigInt(caps.fuel) : limits.fuel
      if (caps?.memory !== undefined) limits.memoryBytes = Math.min(limits.memoryBytes ?? Number.MAX_SAFE_INTEGER, Number(caps.memory))
      const result = await services.executor.run({ module, bytes, func, args, limits }, { signal })
      for (const message of result.logs ?? []) channel.push({ type: 'task:log', index, instruction: entry.instruction, label: labels[index]!, message })
      const value = await externalize(result.value, services, signal)
      const meta: IpldMap = { op: func }
      if (result.fuelUsed !== undefined) meta.fuel = result.fuelUsed
      // What running it costs: the worker's own time when it reports it (a busy pool's queue, or a
      // loaded event loop, would otherwise inflate the estimate and with it every lookup deadline).
      services.estimates?.record(func, result.runMs ?? performance.now() - startedAt)
      await record(index, { ok: value }, true, meta, links, startedAt, result.fuelUsed)
    } catch (err) {
      if (signal.aborted) throw new AbortError()
      const meta: IpldMap = { op: func }
      await record(index, { error: errorValue(err) }, DETERMINISTIC_ERROR_CODES.has(codeOf(err)), meta, links, startedAt)
    }
  }

  // Dataflow loop: start every ready task; when one finishes (its receipt durable), release dependents.
  const ready = plan.readySet()
  const running = new Map<number, Promise<number>>()
  const deferredMutations: number[] = []
  const startReady = (): void => {
    for (const index of ready.take()) {
      if (kindOf(index) === 'mutation') deferredMutations.push(index)
      else {
        const done = runTask(index).then(() => index)
        done.catch(() => {}) // observed through the race below; after an abort nobody else awaits it
        running.set(index, done)
      }
    }
  }
  const drain = async (): Promise<void> => {
    while (running.size > 0) {
      const index = await raceAbort(Promise.race(running.values()), signal)
      running.delete(index)
      ready.complete(index)
      startReady()
    }
  }
  startReady()
  await drain()
  // Mutations run last, one at a time, and only when every pure task and query so far succeeded.
  while (deferredMutations.length > 0) {
    signal.throwIfAborted()
    const index = deferredMutations.shift()!
    if ([...answers.values()].every((a) => isOk(a.out))) await runTask(index)
    else await fail(index, new MutationSkippedError('not run: a pure task or query of this workflow did not succeed'), false)
    ready.complete(index)
    startReady()
    await drain()
  }

  const tasks = outcomes
  const failed = tasks.filter((t) => t.status === 'failed').length
  const status: WorkflowStatus = failed === 0 ? 'completed' : failed === n ? 'failed' : 'partial'
  const durationMs = performance.now() - started
  channel.push({
    type: 'workflow:finished', workflow: workflow.cid, status, durationMs,
    ran: tasks.filter((t) => t.status === 'ran').length,
    replayed: tasks.filter((t) => t.replayed).length,
    failed
  })
  const result: WorkflowResult = { workflow: workflow.cid, status, tasks, durationMs }
  if (workflow.name !== undefined) result.name = workflow.name
  return result
}

function errorFromOut (out: Result): SerializedError {
  const e = (out as { error: IpldValue }).error
  if (isIpldMap(e) && typeof e.name === 'string' && typeof e.code === 'string' && typeof e.message === 'string') {
    return { name: e.name, code: e.code, message: e.message }
  }
  return { name: 'Error', code: 'ERR_TASK_FAILED', message: typeof e === 'string' ? e : 'the task failed' }
}

async function raceAbort<T> (promise: Promise<T>, signal: AbortSignal): Promise<T> {
  promise.catch(() => {}) // settles after an abort too, when nobody listens any more
  if (signal.aborted) throw new AbortError()
  return await new Promise<T>((resolve, reject) => {
    const onAbort = (): void => { reject(new AbortError()) }
    signal.addEventListener('abort', onAbort, { once: true })
    promise.then(resolve, reject).finally(() => { signal.removeEventListener('abort', onAbort) })
  })
}
