/**
 * ipvm — IPVM, content-addressed compute, in browsers and Node: `createIpvm()` runs workflows of
 * pure Wasm tasks on a worker pool, memoizes every result as a signed receipt keyed by instruction
 * CID, and keeps receipts durable. Re-exports the data model of @ipvm/core.
 */
export * from '@ipvm/core'
export { createIpvm, type CreateIpvmOptions, receiptSigner } from './create.js'
export { blockstoreContent } from './content.js'
export * from './errors.js'
export * from './events.js'
export type { EffectContext, EffectHandler, EffectKind, WasmExecutor, WasmRunRequest, WasmRunResult } from './executor.js'
export { createIpvmFromParts, type Ipvm, type IpvmInit, type RunOptions, type WorkflowRun } from './runtime.js'
export type { ContentStore, ReceiptSigner } from './services.js'
export { decidePlacement, type PlacementDecision, type PlacementMode, RunTimeEstimates } from './placement.js'
export { invokeHandler, type ProviderEvent, type ProviderOptions } from './provider.js'
export { RemoteExecution, type RemoteInit } from './remote.js'
export { ReceiptSharing, type SharingEvents, type SharingInit, type SharingStats, type VerificationPolicy } from './sharing.js'
export { Reputation, type ReputationInit } from './reputation.js'
export type { ComputedFrom } from './runtime.js'
