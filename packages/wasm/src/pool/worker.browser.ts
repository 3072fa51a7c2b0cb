/**
 * Web Worker entry of the pool (loads the handler module named in `init`). Vite and other bundlers
 * that follow `new Worker(new URL('./worker.browser.js', import.meta.url))` bundle it with comlink.
 */
import { exposeWorker } from './expose.browser.js'

exposeWorker()
