/**
 * @ipvm/core — the IPVM data model: instructions, tasks, invocations, receipts and workflows, their
 * Homestar-identical CIDs (CIDv1, DAG-CBOR, sha3-256), workflow parsing, validation and planning.
 * Pure: no I/O, no workers, no network.
 */
export * from './errors.js'
export * from './ipld.js'
export * from './model.js'
export * from './workflow.js'
export * from './plan.js'
export * from './builder.js'
