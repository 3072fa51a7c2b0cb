/**
 * @ipvm/wasm — running IPVM tasks: module preparation, deterministic fuel and memory limits,
 * plain core modules with numeric signatures, the worker pool.
 */
export * from './binary.js'
export * from './core-module.js'
export * from './errors.js'
export * from './limits.js'
export * from './meter.js'
export * from './pool/index.js'
export * from './executor/executor.js'
