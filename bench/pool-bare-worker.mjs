// The baseline: one worker_threads worker exposing a Wasm add through comlink, no pool.
import { parentPort } from 'node:worker_threads'
import * as Comlink from 'comlink'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'

let add
Comlink.expose({
  async init (module) { add = (await WebAssembly.instantiate(module)).exports.add },
  add (a, b) { return add(a, b) }
}, nodeEndpoint(parentPort))
