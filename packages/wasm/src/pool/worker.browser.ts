/// <reference lib="webworker" />
/**
 * Web Worker entry of the pool. Vite (and other bundlers that follow
 * `new Worker(new URL('./worker.browser.js', import.meta.url))`) bundle it with its imports.
 */
import * as Comlink from 'comlink'
import { CLOSING_MESSAGE } from './protocol.js'
import { createWorkerApi } from './worker.js'

declare const self: DedicatedWorkerGlobalScope

// A worker that closes itself fires no event in its parent: say so first, so the pool can reject the
// job it was running and replace the worker instead of waiting forever.
const close = self.close.bind(self)
self.close = () => {
  self.postMessage(CLOSING_MESSAGE)
  close()
}

Comlink.expose(createWorkerApi(), self)
