/// <reference lib="webworker" />
// Baseline: a worker exposing a Wasm add through comlink, no pool.
import * as Comlink from 'comlink'

let add: ((a: number, b: number) => number) | undefined
Comlink.expose({
  async init (module: WebAssembly.Module) { add = (await WebAssembly.instantiate(module)).exports['add'] as (a: number, b: number) => number },
  add (a: number, b: number) { return add!(a, b) }
}, self)
