/** What the scheduler needs from an executor of `wasm/run` tasks, and of other ops (effects). */
import type { CID, IpldMap, IpldValue, Result } from '@ipvm/core'

/** Resource limits of one run, from the task's `meta`. */
export interface TaskLimits {
  /** Fuel (operations) allowed; absent = unmetered. */
  fuel?: bigint
  /** Bytes of linear memory allowed. */
  memoryBytes?: number
  /** Wall-clock backstop in milliseconds. */
  timeMs?: number
}

export interface WasmRunRequest {
  /** The module's CID (from `rsc`). */
  module: CID
  /** The module's bytes, already checked against its CID. */
  bytes: Uint8Array
  func: string
  /** Arguments with awaits substituted and links resolved to bytes. */
  args: IpldValue[]
  limits: TaskLimits
}

export interface WasmRunResult {
  /** The function's return value as IPLD. */
  value: IpldValue
  /** Fuel consumed when metered. */
  fuelUsed?: bigint
  /** Log lines the guest wrote (wasi:logging), if any. */
  logs?: string[]
  /** Time spent running it, without queueing (learned per function: lookup deadlines, placement). */
  runMs?: number
}

/** Runs `wasm/run` tasks; throws typed errors (traps, limits, bad arguments) that become error receipts. */
export interface WasmExecutor {
  run: (request: WasmRunRequest, options?: { signal?: AbortSignal }) => Promise<WasmRunResult>
  /** How many tasks can run at once (the pool size). */
  readonly concurrency: number
  start?: () => Promise<void> | void
  stop?: () => Promise<void> | void
}

/** How an effect handler's op behaves under "virtual resiliency". */
export type EffectKind = 'query' | 'mutation'

export interface EffectContext {
  signal: AbortSignal
  /** The instruction CID of the task being run. */
  instruction: CID
  meta: IpldMap
}

/**
 * A handler for an op other than `wasm/run`, registered by the application. Queries run like tasks
 * (and are never memoized); mutations run last, only after every pure task and query succeeded.
 */
export interface EffectHandler {
  kind: EffectKind
  run: (input: IpldMap, context: EffectContext) => Promise<Result | IpldValue>
}
