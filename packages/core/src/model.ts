/**
 * The IPVM data model as UCAN Invocation v0.2 defines it and Homestar reads it: instructions, tasks,
 * invocations, receipts, results and awaits; readers that accept every form Homestar and the spec
 * write, and writers of the spec's form.
 */
import { base32hex } from 'multiformats/bases/base32'
import { CID as CIDClass } from 'multiformats/cid'
import { InvalidReceiptError, type ValidationIssue } from './errors.js'
import { type CID, cidOf, encode, encodeBlock, type EncodedBlock, type IpldMap, type IpldValue, isIpldMap, kindOf } from './ipld.js'

/** A nonce keeps the form it arrived in: a string is hashed as a string, bytes as bytes. */
export type Nonce = string | Uint8Array

/** What to run: the part of a task that names its result. Its CID is the memo key. */
export interface Instruction {
  /** The resource, e.g. `ipfs://<Wasm module CID>`. */
  rsc: string
  /** The ability, e.g. `wasm/run`; kept verbatim, it is part of the CID. */
  op: string
  /** For `wasm/run`: `{func, args}`. */
  input: IpldMap
  /** Makes otherwise equal instructions distinct; `""` when absent. */
  nnc: Nonce
}

/** An instruction plus everything that does not change its result. */
export interface Task {
  run: Instruction
  /** The receipt whose effects caused this task, if any. */
  cause: CID | null
  /** Limits and hints (`fuel`, `memory` bytes, `time` ms, …); not part of the instruction CID. */
  meta: IpldMap
  /** UCAN proofs. */
  prf: CID[]
}

/** A task as sent to an executor; `auth` links the invoker's signed authorization. */
export interface Invocation {
  task: Task
  auth?: CID
}

/** The outcome of an instruction. */
export type Result<T = IpldValue, E = IpldValue> = { ok: T } | { error: E }

/** Further work a receipt asks for (UCAN Invocation v0.2 §7). */
export interface Effects {
  fork: CID[]
  join?: CID
}

/** A signed statement of what an instruction produced. */
export interface Receipt {
  /** CID of the invocation this receipt is for. */
  ran: CID
  out: Result
  fx: Effects
  meta: IpldMap
  /** DID of the executor; `null` for Homestar's unsigned receipts. */
  iss: string | null
  prf: CID[]
  /** Signature over the DAG-CBOR of the receipt without `sig`. */
  sig?: Uint8Array
}

/** The three ways a task can depend on another's result. */
export type AwaitKind = 'await/ok' | 'await/error' | 'await/*'
export const AWAIT_KINDS: readonly AwaitKind[] = ['await/ok', 'await/error', 'await/*']

/** An await found in an instruction's input. */
export interface AwaitRef {
  kind: AwaitKind
  /** The awaited instruction's CID. */
  instruction: CID
  /** Where in `input` the await sits, e.g. `args[0]`. */
  path: string
}

/** The op of pure Wasm tasks. */
export const WASM_RUN = 'wasm/run'

/**
 * The CID a resource names: `ipfs://<cid>`, an `/ipfs/<cid>` path (also behind a gateway host), or a
 * `<cid>.ipfs.<domain>` subdomain gateway URL, as Homestar resolves them. Undefined for anything else.
 */
export function resourceCid (rsc: string): CID | undefined {
  const match = /^ipfs:\/\/([^/?#]+)/.exec(rsc) ?? /\/ipfs\/([^/?#]+)/.exec(rsc) ?? /^https?:\/\/([a-z0-9]+)\.ipfs\./.exec(rsc)
  if (match === null) return undefined
  try {
    return CIDClass.parse(match[1]!)
  } catch {
    return undefined
  }
}

/** The Homestar/JS-client default nonce generator's form: base32hex (lower, unpadded) of 12 random bytes. */
export function generateNonce (): string {
  const bytes = new Uint8Array(12)
  globalThis.crypto.getRandomValues(bytes)
  return base32hex.baseEncode(bytes)
}

/** Collects validation issues while reading untrusted data. */
export class IssueCollector {
  readonly issues: ValidationIssue[] = []
  constructor (readonly task?: number) {}

  add (path: string, expected: string, got: string): void {
    const issue: ValidationIssue = { path, expected, got }
    if (this.task !== undefined) issue.task = this.task
    this.issues.push(issue)
  }

  get ok (): boolean {
    return this.issues.length === 0
  }
}

function isCid (value: unknown): value is CID {
  return value !== null && typeof value === 'object' && (value as { asCID?: unknown }).asCID === value
}

function describe (value: unknown): string {
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 60 ? value.slice(0, 57) + '...' : value)}`
  return kindOf(value)
}

function readCidList (value: unknown, path: string, issues: IssueCollector): CID[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) {
    issues.add(path, 'a list of links', describe(value))
    return []
  }
  const out: CID[] = []
  value.forEach((item, i) => {
    if (isCid(item)) out.push(item)
    else issues.add(`${path}[${i}]`, 'a link', describe(item))
  })
  return out
}

function isUrl (text: string): boolean {
  try {
    return new URL(text).protocol.length > 1
  } catch {
    return false
  }
}

/**
 * Reads an instruction. Unknown keys are ignored, as Homestar ignores them (the JS client's `name`
 * label among them); they are not part of the CID.
 */
export function readInstruction (value: unknown, path: string, issues: IssueCollector): Instruction | undefined {
  if (isCid(value)) {
    issues.add(path, 'an expanded instruction map (a link to an instruction cannot be run)', 'a link')
    return undefined
  }
  if (!isIpldMap(value)) {
    issues.add(path, 'an instruction map {rsc, op, input, nnc}', describe(value))
    return undefined
  }
  const before = issues.issues.length
  let rsc: string | undefined
  if (typeof value.rsc === 'string') {
    if (isUrl(value.rsc)) rsc = value.rsc
    else issues.add(`${path}.rsc`, 'a URI such as "ipfs://<cid>"', describe(value.rsc))
  } else if (isCid(value.rsc)) {
    // Homestar accepts a link and turns it into ipfs://<base32 CIDv1>.
    rsc = `ipfs://${value.rsc.toV1().toString()}`
  } else {
    issues.add(`${path}.rsc`, 'a URI string such as "ipfs://<cid>"', describe(value.rsc))
  }
  if (typeof value.op !== 'string' || value.op.length === 0) {
    issues.add(`${path}.op`, 'an ability string such as "wasm/run"', describe(value.op))
  }
  let input: IpldMap = {}
  if (value.input === undefined) {
    input = {}
  } else if (isIpldMap(value.input)) {
    input = value.input
  } else {
    issues.add(`${path}.input`, 'a map', describe(value.input))
  }
  if (value.op === WASM_RUN && isIpldMap(value.input)) {
    if (typeof value.input.func !== 'string' || value.input.func.length === 0) {
      issues.add(`${path}.input.func`, 'the name of an exported function', describe(value.input.func))
    }
    if (!Array.isArray(value.input.args)) {
      issues.add(`${path}.input.args`, 'a list of arguments', describe(value.input.args))
    }
  }
  let nnc: Nonce = ''
  if (value.nnc === undefined || value.nnc === null) nnc = ''
  else if (typeof value.nnc === 'string' || value.nnc instanceof Uint8Array) nnc = value.nnc
  else issues.add(`${path}.nnc`, 'a nonce string or bytes', describe(value.nnc))
  if (issues.issues.length > before || rsc === undefined) return undefined
  return { rsc, op: value.op as string, input, nnc }
}

/** Reads a task `{run, cause, meta, prf}`; absent `cause`, `meta`, `prf` mean null, `{}`, `[]`. */
export function readTask (value: unknown, path: string, issues: IssueCollector): Task | undefined {
  if (!isIpldMap(value)) {
    issues.add(path, 'a task map {run, cause, meta, prf}', describe(value))
    return undefined
  }
  const before = issues.issues.length
  const prefix = path === '' ? '' : `${path}.`
  if (value.run === undefined) issues.add(`${prefix}run`, 'an instruction map {rsc, op, input, nnc}', 'nothing')
  const run = value.run === undefined ? undefined : readInstruction(value.run, `${prefix}run`, issues)
  let cause: CID | null = null
  if (value.cause !== undefined && value.cause !== null) {
    if (isCid(value.cause)) cause = value.cause
    else issues.add(`${prefix}cause`, 'null or a link to a receipt', describe(value.cause))
  }
  let meta: IpldMap = {}
  if (value.meta !== undefined) {
    if (isIpldMap(value.meta)) meta = value.meta
    else issues.add(`${prefix}meta`, 'a map', describe(value.meta))
  }
  for (const limit of ['fuel', 'memory', 'time'] as const) {
    const v = meta[limit]
    if (v !== undefined && v !== null && !((typeof v === 'number' && v >= 0) || (typeof v === 'bigint' && v >= 0n))) {
      issues.add(`${prefix}meta.${limit}`, 'a non-negative number or null', describe(v))
    }
  }
  const prf = readCidList(value.prf, `${prefix}prf`, issues)
  if (run === undefined || issues.issues.length > before) return undefined
  return { run, cause, meta, prf }
}

/** Finds every await in an instruction's input (at any depth), reporting malformed ones. */
export function findAwaits (input: IpldValue, path: string, issues: IssueCollector, found: AwaitRef[] = []): AwaitRef[] {
  if (Array.isArray(input)) {
    input.forEach((item, i) => { findAwaits(item, `${path}[${i}]`, issues, found) })
  } else if (isIpldMap(input)) {
    const keys = Object.keys(input)
    const key = keys[0]
    if (keys.length === 1 && key !== undefined && key.startsWith('await/')) {
      const target = input[key]
      if (!(AWAIT_KINDS as readonly string[]).includes(key)) {
        issues.add(`${path}.${key}`, 'an await key: "await/ok", "await/error" or "await/*"', JSON.stringify(key))
      } else if (!isCid(target)) {
        issues.add(`${path}.${key}`, 'a link to an instruction ({"/": "<cid>"})', describe(target))
      } else {
        found.push({ kind: key as AwaitKind, instruction: target, path })
      }
      return found
    }
    for (const k of keys) findAwaits(input[k] as IpldValue, path === '' ? k : `${path}.${k}`, issues, found)
  }
  return found
}

/** The IPLD form of an instruction (the map its CID is computed from). */
export function instructionToIpld (instruction: Instruction): IpldMap {
  return { rsc: instruction.rsc, op: instruction.op, input: instruction.input, nnc: instruction.nnc }
}

/** The IPLD form of a task, as Homestar writes it (all four keys, `cause` null when absent). */
export function taskToIpld (task: Task): IpldMap {
  return { run: instructionToIpld(task.run), cause: task.cause, meta: task.meta, prf: task.prf }
}

/** The IPLD form of an invocation `{task, auth?}`. */
export function invocationToIpld (invocation: Invocation): IpldMap {
  const out: IpldMap = { task: taskToIpld(invocation.task) }
  if (invocation.auth !== undefined) out.auth = invocation.auth
  return out
}

/** The instruction CID: the name of the instruction's result. */
export async function instructionCid (instruction: Instruction): Promise<CID> {
  return await cidOf(instructionToIpld(instruction))
}

export async function encodeInstruction (instruction: Instruction): Promise<EncodedBlock<IpldMap>> {
  return await encodeBlock(instructionToIpld(instruction))
}

/** The CID of a task `{run, cause, meta, prf}`. */
export async function taskCid (task: Task): Promise<CID> {
  return await cidOf(taskToIpld(task))
}

/** The CID of an invocation; for `{task}` alone it is the `ran` of Homestar's receipts. */
export async function invocationCid (invocation: Invocation): Promise<CID> {
  return await cidOf(invocationToIpld(invocation))
}

// ---------------------------------------------------------------------------------------- results

export function isOk<T, E> (result: Result<T, E>): result is { ok: T } {
  return Object.hasOwn(result, 'ok')
}

export function isError<T, E> (result: Result<T, E>): result is { error: E } {
  return Object.hasOwn(result, 'error')
}

/**
 * Reads a Result in any form in use: the spec's keyed `{ok: v}` / `{error: e}`, or Homestar's lists
 * `["ok", v]`, `["error", e]` and `["just", v]` (read as ok). Returns undefined for anything else.
 */
export function readResult (value: unknown): Result | undefined {
  if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string') {
    const [tag, v] = value as [string, IpldValue]
    if (tag === 'ok' || tag === 'just') return { ok: v }
    if (tag === 'error') return { error: v }
    return undefined
  }
  if (isIpldMap(value)) {
    const keys = Object.keys(value)
    if (keys.length === 1 && keys[0] === 'ok') return { ok: value.ok as IpldValue }
    if (keys.length === 1 && keys[0] === 'error') return { error: value.error as IpldValue }
  }
  return undefined
}

// --------------------------------------------------------------------------------------- receipts

/** The IPLD form of a receipt as the v0.2 spec writes it; `sig` only when `withSignature`. */
export function receiptToIpld (receipt: Receipt, withSignature = true): IpldMap {
  const fx: IpldMap = { fork: receipt.fx.fork }
  if (receipt.fx.join !== undefined) fx.join = receipt.fx.join
  const out: IpldMap = {
    ran: receipt.ran,
    out: isOk(receipt.out) ? { ok: receipt.out.ok } : { error: receipt.out.error },
    fx,
    meta: receipt.meta,
    prf: receipt.prf
  }
  if (receipt.iss !== null) out.iss = receipt.iss
  if (withSignature && receipt.sig !== undefined) out.sig = receipt.sig
  return out
}

/** The bytes a receipt's signature covers: DAG-CBOR of the receipt without `sig`. */
export function receiptSigningBytes (receipt: Receipt): Uint8Array {
  return encode(receiptToIpld(receipt, false))
}


/** The receipt CID: CID of its IPLD form (with the signature). */
export async function receiptCid (receipt: Receipt): Promise<CID> {
  return await cidOf(receiptToIpld(receipt))
}

/**
 * Reads a receipt written by the spec (`{ran, out: {ok}|{error}, fx, meta, iss, prf, sig}`, or its
 * older `s` signature field), by Homestar (`out: ["ok", v]`, no `fx`, `iss` null) or by Homestar's
 * runtime (with `cid`, `instruction` and `version` keys). Throws {@link InvalidReceiptError}.
 */
export function readReceipt (value: unknown): Receipt {
  const issues = new IssueCollector()
  if (!isIpldMap(value)) throw new InvalidReceiptError(`a receipt must be a map, got ${describe(value)}`)
  const body = isIpldMap(value['ucan/receipt@0.2.0']) ? value['ucan/receipt@0.2.0'] as IpldMap : value
  if (!isCid(body.ran)) issues.add('ran', 'a link to the invocation', describe(body.ran))
  const out = readResult(body.out)
  if (out === undefined) issues.add('out', 'a result {"ok": v} | {"error": e} (or ["ok", v])', describe(body.out))
  let fx: Effects = { fork: [] }
  if (body.fx !== undefined && body.fx !== null) {
    if (isIpldMap(body.fx)) {
      fx = { fork: readCidList(body.fx.fork, 'fx.fork', issues) }
      if (body.fx.join !== undefined && body.fx.join !== null) {
        if (isCid(body.fx.join)) fx.join = body.fx.join
        else issues.add('fx.join', 'a link', describe(body.fx.join))
      }
    } else {
      issues.add('fx', 'a map {fork, join?}', describe(body.fx))
    }
  }
  let meta: IpldMap = {}
  if (isIpldMap(body.meta)) meta = body.meta
  else if (body.meta !== undefined && body.meta !== null) issues.add('meta', 'a map', describe(body.meta))
  let iss: string | null = null
  if (typeof body.iss === 'string') iss = body.iss
  else if (body.iss !== undefined && body.iss !== null) issues.add('iss', 'a DID string or null', describe(body.iss))
  const prf = readCidList(body.prf, 'prf', issues)
  const sigValue = body.sig ?? body.s
  let sig: Uint8Array | undefined
  if (sigValue instanceof Uint8Array) sig = sigValue
  else if (sigValue !== undefined && sigValue !== null) issues.add('sig', 'signature bytes', describe(sigValue))
  if (!issues.ok || out === undefined) {
    const first = issues.issues[0]!
    throw new InvalidReceiptError(`invalid receipt: ${first.path}: expected ${first.expected}, got ${first.got}`, { issues: issues.issues })
  }
  const receipt: Receipt = { ran: body.ran as CID, out, fx, meta, iss, prf }
  if (sig !== undefined) receipt.sig = sig
  return receipt
}
