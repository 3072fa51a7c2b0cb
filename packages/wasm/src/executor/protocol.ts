/** What the main thread sends a pool worker for one task, and what comes back. */
import type { IpldValue } from '@ipvm/core'
import type { CoreModuleInfo } from '../core-module.js'

export interface CoreTaskJob {
  kind: 'core'
  /** Compiled once on the main thread (metered for these limits) and posted; structured-cloneable. */
  module: WebAssembly.Module
  info: CoreModuleInfo
  func: string
  args: IpldValue[]
  fuel?: bigint
  memoryBytes?: number
}

export interface ComponentTaskJob {
  kind: 'component'
  /** Cache key in the worker: module CID plus the metering applied. */
  key: string
  /** The component (or core module with a component-type section) bytes; parsed once per worker. */
  bytes: Uint8Array
  func: string
  args: IpldValue[]
  fuel?: bigint
  memoryBytes?: number
}

export type TaskJob = CoreTaskJob | ComponentTaskJob

export interface TaskJobResult {
  value: IpldValue
  fuelUsed?: bigint
  logs: string[]
  /** Time inside the worker (instantiate + call), without queueing or messaging. */
  runMs?: number
}
