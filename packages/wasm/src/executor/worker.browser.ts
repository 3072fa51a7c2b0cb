/// <reference lib="webworker" />
/** The executor's Web Worker: the pool's worker API with the task handler bundled in. */
import * as Comlink from 'comlink'
import { CLOSING_MESSAGE } from '../pool/protocol.js'
import type { HandlerModule } from '../pool/protocol.js'
import { createWorkerApi } from '../pool/worker.js'
import * as handler from './handler.js'

declare const self: DedicatedWorkerGlobalScope

const close = self.close.bind(self)
self.close = () => {
  self.postMessage(CLOSING_MESSAGE)
  close()
}

Comlink.expose(createWorkerApi(handler as unknown as HandlerModule), self)
