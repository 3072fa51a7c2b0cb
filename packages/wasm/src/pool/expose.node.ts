/**
 * For worker_threads entries: exposes the pool's worker API on `parentPort`. A custom entry that
 * bundles its handler is just `exposeWorker(handler)`. Never import it from browser code.
 */
import { parentPort } from 'node:worker_threads'
import * as Comlink from 'comlink'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'
import type { HandlerModule } from './protocol.js'
import { createWorkerApi } from './worker.js'

export function exposeWorker (handler?: HandlerModule): void {
  if (parentPort === null) throw new Error('a pool worker entry must be started as a worker thread')
  Comlink.expose(createWorkerApi(handler), nodeEndpoint(parentPort))
}
