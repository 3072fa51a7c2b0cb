import { parentPort } from 'node:worker_threads'
import * as Comlink from 'comlink'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'
import type { HandlerModule } from '../../src/pool/protocol.js'
import { createWorkerApi } from '../../src/pool/worker.js'
import * as handler from './bundled-handler.js'

Comlink.expose(createWorkerApi(handler as HandlerModule), nodeEndpoint(parentPort!))
