/** The executor's worker_threads entry: the pool's worker API with the task handler bundled in. */
import { parentPort } from 'node:worker_threads'
import * as Comlink from 'comlink'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'
import type { HandlerModule } from '../pool/protocol.js'
import { createWorkerApi } from '../pool/worker.js'
import * as handler from './handler.js'

if (parentPort === null) throw new Error('the executor worker must be started as a worker thread')
Comlink.expose(createWorkerApi(handler as unknown as HandlerModule), nodeEndpoint(parentPort))
