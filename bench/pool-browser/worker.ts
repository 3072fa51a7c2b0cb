/// <reference lib="webworker" />
import * as Comlink from 'comlink'
import { createWorkerApi } from '../../packages/wasm/src/pool/worker.js'
import type { HandlerModule } from '../../packages/wasm/src/pool/protocol.js'
import * as handler from './handler.js'

Comlink.expose(createWorkerApi(handler as unknown as HandlerModule), self)
