/// <reference lib="webworker" />
/**
 * For Web Worker entries: exposes the pool's worker API on `self`. A custom entry that bundles its
 * handler is just `exposeWorker(handler)`. Import it by path from worker code only (not re-exported
 * from the package index, which runs on the main thread).
 */
import * as Comlink from 'comlink'
import { CLOSING_MESSAGE, type HandlerModule } from './protocol.js'
import { createWorkerApi } from './worker.js'

declare const self: DedicatedWorkerGlobalScope

export function exposeWorker (handler?: HandlerModule): void {
  // A worker that closes itself fires no event in its parent: say so first, so the pool can reject
  // the job it was running and replace the worker instead of waiting forever.
  const close = self.close.bind(self)
  self.close = () => {
    self.postMessage(CLOSING_MESSAGE)
    close()
  }
  Comlink.expose(createWorkerApi(handler), self)
}
