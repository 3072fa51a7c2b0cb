/**
 * Typed errors. Every error has a stable `name` and `code` that survive `postMessage`, JSON and the
 * wire: use {@link serializeError} / {@link deserializeError} to move them, and compare by `name`
 * (never with `instanceof` across bundles or threads).
 */

/** The plain-data form of an error, safe for structured clone, JSON and DAG-CBOR. */
export interface SerializedError {
  name: string
  code: string
  message: string
  details?: Record<string, unknown>
}

/** Base class of every ipvm error. */
export class IpvmError extends Error {
  static override readonly name: string = 'IpvmError'
  static readonly code: string = 'ERR_IPVM'
  readonly code: string
  readonly details: Record<string, unknown>

  constructor (message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options)
    const ctor = new.target as unknown as { name: string, code: string }
    this.name = ctor.name
    this.code = ctor.code
    this.details = details
  }

  toJSON (): SerializedError {
    return serializeError(this)
  }
}

/** One problem found while validating a workflow. */
export interface ValidationIssue {
  /** Index of the task in `tasks`, absent for problems with the whole document. */
  task?: number
  /** Where in the task (or document) the problem is, e.g. `run.input.args[0]`. */
  path: string
  /** What was expected there, in words. */
  expected: string
  /** What was found there, in words. */
  got: string
}

/** The bytes or text could not be decoded as JSON / DAG-JSON / DAG-CBOR at all. */
export class WorkflowParseError extends IpvmError {
  static override readonly name = 'WorkflowParseError'
  static override readonly code = 'ERR_WORKFLOW_PARSE'
}

function describeIssue (issue: ValidationIssue): string {
  const where = issue.task === undefined ? issue.path : `task ${issue.task}: ${issue.path}`
  return `${where}: expected ${issue.expected}, got ${issue.got}`
}

/** The document decoded but is not a valid workflow; `issues` lists every problem found. */
export class WorkflowValidationError extends IpvmError {
  static override readonly name = 'WorkflowValidationError'
  static override readonly code = 'ERR_INVALID_WORKFLOW'
  readonly issues: ValidationIssue[]

  constructor (issues: ValidationIssue[], message?: string) {
    const first = issues[0]
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''
    super(message ?? (first === undefined ? 'invalid workflow' : `invalid workflow: ${describeIssue(first)}${more}`), { issues })
    this.issues = issues
  }
}

/** Two tasks share one instruction CID: their receipts could not be told apart. */
export class DuplicateTaskError extends IpvmError {
  static override readonly name = 'DuplicateTaskError'
  static override readonly code = 'ERR_DUPLICATE_TASK'
  readonly tasks: number[]
  readonly instruction: string

  constructor (tasks: number[], instruction: string) {
    super(`workflow cannot contain duplicate tasks: tasks ${tasks.join(' and ')} have the same instruction ${instruction}; use a nonce (nnc field) to ensure uniqueness`, { tasks, instruction })
    this.tasks = tasks
    this.instruction = instruction
  }
}

/** The dependency graph has a cycle; `cycle` lists the task indexes on it, in order. */
export class WorkflowCycleError extends IpvmError {
  static override readonly name = 'WorkflowCycleError'
  static override readonly code = 'ERR_WORKFLOW_CYCLE'
  readonly cycle: number[]

  constructor (cycle: number[], labels?: string[]) {
    const names = labels ?? cycle.map((i) => `task ${i}`)
    super(`workflow has a cycle: ${[...names, names[0]].join(' → ')}`, { cycle })
    this.cycle = cycle
  }
}

/** A string or value that should be a CID is not one. */
export class InvalidCIDError extends IpvmError {
  static override readonly name = 'InvalidCIDError'
  static override readonly code = 'ERR_INVALID_CID'
}

/** A value cannot be encoded as IPLD (undefined, NaN, a function, a class instance, …). */
export class InvalidIpldError extends IpvmError {
  static override readonly name = 'InvalidIpldError'
  static override readonly code = 'ERR_INVALID_IPLD'
}

/** A receipt does not have the shape of a UCAN Invocation v0.2 (or Homestar) receipt. */
export class InvalidReceiptError extends IpvmError {
  static override readonly name = 'InvalidReceiptError'
  static override readonly code = 'ERR_INVALID_RECEIPT'
}

/** The operation was aborted through its AbortSignal. */
export class AbortError extends IpvmError {
  static override readonly name = 'AbortError'
  static override readonly code = 'ABORT_ERR'

  constructor (message = 'the operation was aborted', details: Record<string, unknown> = {}) {
    super(message, details)
  }
}

type IpvmErrorClass = (new (...args: never[]) => IpvmError) & { name: string, code: string }

const registry = new Map<string, IpvmErrorClass>()

/** Makes `deserializeError` rebuild instances of `ErrorClass` (other packages register theirs). */
export function registerError (ErrorClass: IpvmErrorClass): void {
  registry.set(ErrorClass.name, ErrorClass)
}

for (const ErrorClass of [IpvmError, WorkflowParseError, WorkflowValidationError, DuplicateTaskError,
  WorkflowCycleError, InvalidCIDError, InvalidIpldError, InvalidReceiptError, AbortError]) {
  registerError(ErrorClass as IpvmErrorClass)
}

/** Any thrown value as plain data with a stable `name` and `code`. */
export function serializeError (err: unknown): SerializedError {
  if (err instanceof Error) {
    const maybeCode = (err as unknown as { code?: unknown }).code
    const code = typeof maybeCode === 'string' ? maybeCode : 'ERR_UNKNOWN'
    const details = (err as { details?: unknown }).details
    const out: SerializedError = { name: err.name, code, message: err.message }
    if (details !== undefined && details !== null && typeof details === 'object' && Object.keys(details).length > 0) {
      out.details = structuredDetails(details as Record<string, unknown>)
    }
    return out
  }
  return { name: 'Error', code: 'ERR_UNKNOWN', message: String(err) }
}

// Details must survive JSON as well as structured clone: keep only plain data.
function structuredDetails (details: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(details, (_key, value: unknown) => {
    if (typeof value === 'bigint') return value.toString()
    if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`
    if (value !== null && typeof value === 'object' && 'asCID' in value && typeof value.toString === 'function') return value.toString()
    return value
  })) as Record<string, unknown>
}

/**
 * Rebuilds an error from {@link serializeError}'s output. Known names give instances of their class
 * (with `name`, `code`, `message` and `details` as sent); unknown names give an `IpvmError` that keeps them.
 */
export function deserializeError (data: SerializedError): IpvmError {
  const ErrorClass = registry.get(data.name)
  const err: IpvmError = Object.create((ErrorClass ?? IpvmError).prototype)
  Object.defineProperties(err, {
    message: { value: data.message, writable: true, configurable: true },
    name: { value: data.name, writable: true, configurable: true },
    code: { value: data.code, writable: true, configurable: true },
    details: { value: data.details ?? {}, writable: true, configurable: true },
    stack: { value: `${data.name}: ${data.message}`, writable: true, configurable: true }
  })
  for (const [key, value] of Object.entries(data.details ?? {})) {
    if (!(key in err)) Object.defineProperty(err, key, { value, enumerable: true, configurable: true })
  }
  return err
}

/** Throws an {@link AbortError} when `signal` is aborted. */
export function throwIfAborted (signal?: AbortSignal): void {
  if (signal?.aborted === true) throw new AbortError(signal.reason instanceof Error ? signal.reason.message : undefined)
}
