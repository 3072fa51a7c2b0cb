/**
 * @ipvm/wasm — running IPVM tasks: module preparation, deterministic fuel and memory limits, plain
 * core modules with numeric signatures, the component runtime and its IPLD ABI, the worker pool and
 * the executor that ties them together.
 */
export * from './binary.js'
export * from './component/index.js'
export * from './core-module.js'
export * from './errors.js'
export * from './executor/executor.js'
export * from './limits.js'
export * from './meter.js'
export * from './pool/index.js'
