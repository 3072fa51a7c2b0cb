// The baseline for the tiny-task benchmarks: one worker_threads worker exposing a Wasm export
// through comlink, with no pool, no executor, no IPLD conversion. `call` uses an instance made once;
// `callFresh` instantiates the posted Module for every call (what our executor does for purity).
import { parentPort } from 'node:worker_threads'
import * as Comlink from 'comlink'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'

let module
let cached
Comlink.expose({
  async init (m, func) {
    module = m
    cached = (await WebAssembly.instantiate(m)).exports[func]
  },
  call (x) { return cached(x) },
  async callFresh (func, x) { return (await WebAssembly.instantiate(module)).exports[func](x) }
}, nodeEndpoint(parentPort))
