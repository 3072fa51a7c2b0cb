/**
 * Building workflows in code: each helper returns the task with its instruction CID, so a later task
 * can await it. The same job as the `{{needs.x.output}}` templates of Homestar's JS client, typed.
 *
 * ```ts
 * const crop = await wasmTask({ rsc: module, func: 'crop', args: [image, 0, 0, 64, 64] })
 * const gray = await wasmTask({ rsc: module, func: 'grayscale', args: [awaitOk(crop)] })
 * const workflow = { tasks: [crop.task, gray.task] }
 * ```
 */
import { type CID, type IpldMap, type IpldValue, parseCID } from './ipld.js'
import { type AwaitKind, type Instruction, instructionCid, type Nonce, type Task, WASM_RUN } from './model.js'

/** A task together with its instruction CID. */
export interface BuiltTask {
  task: Task
  instruction: CID
}

export interface WasmTaskOptions {
  /** The module: `ipfs://<cid>`, or its CID. */
  rsc: string | CID
  func: string
  args: IpldValue[]
  /** Limits and hints: `fuel`, `memory` (bytes), `time` (ms), …; not part of the instruction CID. */
  meta?: IpldMap
  nnc?: Nonce
  /** A label for display; not part of any CID. */
  name?: string
}

/** A `wasm/run` task. */
export async function wasmTask (options: WasmTaskOptions): Promise<BuiltTask> {
  const rsc = typeof options.rsc === 'string' ? options.rsc : `ipfs://${parseCID(options.rsc).toV1().toString()}`
  return await task({ rsc, op: WASM_RUN, input: { func: options.func, args: options.args }, nnc: options.nnc ?? '' }, options.meta)
}

/** A task of any op. */
export async function task (run: Instruction, meta: IpldMap = {}): Promise<BuiltTask> {
  return { task: { run, cause: null, meta, prf: [] }, instruction: await instructionCid(run) }
}

function awaitOf (kind: AwaitKind, target: BuiltTask | CID | string): IpldMap {
  const cid = typeof target === 'string' ? parseCID(target) : 'instruction' in target ? target.instruction : target
  return { [kind]: cid }
}

/** `{"await/ok": cid}`: the ok value of another task. */
export function awaitOk (target: BuiltTask | CID | string): IpldMap {
  return awaitOf('await/ok', target)
}

/** `{"await/error": cid}`: the error value of another task. */
export function awaitError (target: BuiltTask | CID | string): IpldMap {
  return awaitOf('await/error', target)
}

/** `{"await/*": cid}`: the whole Result of another task. */
export function awaitResult (target: BuiltTask | CID | string): IpldMap {
  return awaitOf('await/*', target)
}
