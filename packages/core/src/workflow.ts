/**
 * Workflows: parsing Homestar's workflow JSON (and DAG-JSON / DAG-CBOR), validating it with errors
 * that name the task, the field and what was expected, and computing every CID Homestar computes.
 */
import { DuplicateTaskError, WorkflowParseError, WorkflowValidationError } from './errors.js'
import { type CID, decode, encodeBlock, fromPlainJson, type IpldMap, type IpldValue, isIpldMap, kindOf, parseDagJson } from './ipld.js'
import { type AwaitRef, findAwaits, instructionCid, IssueCollector, readTask, type Task, taskToIpld } from './model.js'

/** `{tasks: [...]}`, Homestar's workflow. */
export interface Workflow {
  tasks: Task[]
}

/** What {@link parseWorkflow} accepts: JSON / DAG-JSON text, DAG-CBOR or JSON bytes, or a parsed object. */
export type WorkflowInput = string | Uint8Array | object

/** One task of a parsed workflow, with its CIDs and dependencies. */
export interface WorkflowTask {
  /** Position in `tasks`. */
  index: number
  task: Task
  /** The instruction CID: the name of this task's result. */
  instruction: CID
  /** A display label: the JS client's `run.name` when present. */
  label?: string
  /** Every await in the instruction's input. */
  awaits: AwaitRef[]
  /** Indexes of the tasks of this workflow it awaits (sorted, unique). */
  dependencies: number[]
  /** Awaited instruction CIDs that are not in this workflow: receipts of earlier workflows. */
  external: CID[]
}

/** A validated workflow and everything derived from it. */
export interface ParsedWorkflow {
  /** The name from a `{name, workflow}` envelope, when there was one. */
  name?: string
  workflow: Workflow
  /** CID of `{tasks}` (DAG-CBOR, sha3-256), as Homestar computes it. */
  cid: CID
  /** DAG-CBOR bytes of `{tasks}`. */
  bytes: Uint8Array
  tasks: WorkflowTask[]
  /** Instruction CID string → task index. */
  byInstruction: Map<string, number>
}

export interface ParseWorkflowOptions {
  /** Refuse inputs larger than this many bytes (default 64 MiB). */
  maxBytes?: number
  /** Refuse workflows with more tasks than this (default 100 000). */
  maxTasks?: number
  signal?: AbortSignal
}

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024
const DEFAULT_MAX_TASKS = 100_000

function firstNonSpace (bytes: Uint8Array): number | undefined {
  for (const byte of bytes) {
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) return byte
  }
  return undefined
}

/** Decodes any accepted input form into an IPLD value. */
export function decodeWorkflowDocument (input: WorkflowInput, options: ParseWorkflowOptions = {}): IpldValue {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES
  if (typeof input === 'string') {
    if (input.length > maxBytes) throw new WorkflowParseError(`workflow text is ${input.length} characters, more than the ${maxBytes} allowed`, { size: input.length, limit: maxBytes })
    return parseDagJson(input)
  }
  if (input instanceof Uint8Array) {
    if (input.byteLength > maxBytes) throw new WorkflowParseError(`workflow is ${input.byteLength} bytes, more than the ${maxBytes} allowed`, { size: input.byteLength, limit: maxBytes })
    if (input.byteLength === 0) throw new WorkflowParseError('workflow is empty')
    // JSON text starts with "{" (or whitespace); a DAG-CBOR map starts with a major type 5 byte (0xa0–0xbf).
    if (firstNonSpace(input) === 0x7b) return parseDagJson(input)
    try {
      return decode(input)
    } catch (err) {
      throw new WorkflowParseError(`not valid DAG-CBOR: ${(err as Error).message}`, {}, { cause: err })
    }
  }
  if (input === null || typeof input !== 'object') {
    throw new WorkflowParseError(`a workflow must be text, bytes or an object, got ${kindOf(input)}`)
  }
  try {
    return fromPlainJson(input)
  } catch (err) {
    throw new WorkflowParseError((err as Error).message, {}, { cause: err })
  }
}

/**
 * Parses and validates a workflow: Homestar's JSON (`{tasks}` or the `{name, workflow}` envelope),
 * DAG-JSON, DAG-CBOR or an already-parsed object. Throws {@link WorkflowParseError},
 * {@link WorkflowValidationError} (every issue, each naming task index, field and expectation) or
 * {@link DuplicateTaskError}. Awaits on instructions outside the workflow are not errors: they are
 * reported as `external` dependencies, resolved later from stored receipts.
 */
export async function parseWorkflow (input: WorkflowInput, options: ParseWorkflowOptions = {}): Promise<ParsedWorkflow> {
  options.signal?.throwIfAborted()
  const document = decodeWorkflowDocument(input, options)
  const maxTasks = options.maxTasks ?? DEFAULT_MAX_TASKS
  const top = new IssueCollector()
  if (!isIpldMap(document)) {
    top.add('', 'a workflow map {"tasks": [...]}', kindOf(document))
    throw new WorkflowValidationError(top.issues)
  }
  let name: string | undefined
  let body: IpldMap = document
  if (document.workflow !== undefined && document.tasks === undefined) {
    // Homestar's run-workflow envelope: {name?, workflow: {tasks}}.
    if (document.name !== undefined && document.name !== null && typeof document.name !== 'string') top.add('name', 'a string', kindOf(document.name))
    else if (typeof document.name === 'string') name = document.name
    if (!isIpldMap(document.workflow)) {
      top.add('workflow', 'a workflow map {"tasks": [...]}', kindOf(document.workflow))
      throw new WorkflowValidationError(top.issues)
    }
    body = document.workflow
  }
  const rawTasks = body.tasks
  if (!Array.isArray(rawTasks)) {
    top.add('tasks', 'a list of tasks', kindOf(rawTasks))
    throw new WorkflowValidationError(top.issues)
  }
  if (rawTasks.length === 0) top.add('tasks', 'at least one task', 'an empty list')
  if (rawTasks.length > maxTasks) top.add('tasks', `at most ${maxTasks} tasks`, `${rawTasks.length} tasks`)
  if (!top.ok) throw new WorkflowValidationError(top.issues)

  const issues: IssueCollector[] = []
  const tasks: Task[] = []
  const awaitsOf: AwaitRef[][] = []
  const labels: (string | undefined)[] = []
  rawTasks.forEach((raw, index) => {
    const collector = new IssueCollector(index)
    const task = readTask(raw, '', collector)
    const awaits = task === undefined ? [] : findAwaits(task.run.input, 'run.input', collector)
    issues.push(collector)
    if (task !== undefined && collector.ok) {
      tasks.push(task)
      awaitsOf.push(awaits)
      const run = isIpldMap(raw) && isIpldMap(raw.run) ? raw.run : undefined
      labels.push(typeof run?.name === 'string' ? run.name : undefined)
    }
  })
  const all = issues.flatMap((c) => c.issues)
  if (all.length > 0) throw new WorkflowValidationError(all)
  options.signal?.throwIfAborted()

  const instructions = await Promise.all(tasks.map(async (task) => await instructionCid(task.run)))
  const byInstruction = new Map<string, number>()
  instructions.forEach((cid, index) => {
    const key = cid.toString()
    const seen = byInstruction.get(key)
    if (seen !== undefined) throw new DuplicateTaskError([seen, index], key)
    byInstruction.set(key, index)
  })

  const parsedTasks: WorkflowTask[] = tasks.map((task, index) => {
    const awaits = awaitsOf[index]!
    const dependencies = new Set<number>()
    const external = new Map<string, CID>()
    for (const ref of awaits) {
      const target = byInstruction.get(ref.instruction.toString())
      if (target !== undefined) dependencies.add(target)
      else external.set(ref.instruction.toString(), ref.instruction)
    }
    const entry: WorkflowTask = {
      index,
      task,
      instruction: instructions[index]!,
      awaits,
      dependencies: [...dependencies].sort((a, b) => a - b),
      external: [...external.values()]
    }
    const label = labels[index]
    if (label !== undefined) entry.label = label
    return entry
  })

  const workflow: Workflow = { tasks }
  const block = await encodeBlock({ tasks: tasks.map(taskToIpld) })
  const parsed: ParsedWorkflow = { workflow, cid: block.cid, bytes: block.bytes, tasks: parsedTasks, byInstruction }
  if (name !== undefined) parsed.name = name
  return parsed
}

/** The CID of a workflow `{tasks}` as Homestar computes it. */
export async function workflowCid (workflow: Workflow): Promise<CID> {
  return (await encodeBlock({ tasks: workflow.tasks.map(taskToIpld) })).cid
}
