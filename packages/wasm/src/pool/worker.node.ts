/**
 * worker_threads entry of the pool. Runs from `dist/` as plain JS; from source (tests) the pool
 * starts it with a TypeScript loader (see platform.node.ts).
 */
import { parentPort } from 'node:worker_threads'
import * as Comlink from 'comlink'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'
import { createWorkerApi } from './worker.js'

if (parentPort === null) throw new Error('worker.node.js must be started as a worker thread')
Comlink.expose(createWorkerApi(), nodeEndpoint(parentPort))
