/// <reference lib="webworker" />
import * as Comlink from 'comlink'
import type { HandlerModule } from '../../src/pool/protocol.js'
import { createWorkerApi } from '../../src/pool/worker.js'
import * as handler from './bundled-handler.js'

declare const self: DedicatedWorkerGlobalScope
Comlink.expose(createWorkerApi(handler as HandlerModule), self)
