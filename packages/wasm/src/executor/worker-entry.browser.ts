/**
 * Browsers: the executor's Web Worker, written as a literal `new Worker(new URL(…))` so that Vite
 * (and other bundlers) bundle it with the task handler, with no configuration by the user.
 */
import type { WorkerPoolOptions } from '../pool/index.js'

export function spawnOptions (): Pick<WorkerPoolOptions, 'workerUrl' | 'createWorker'> {
  return { createWorker: () => new Worker(new URL('./worker.browser.js', import.meta.url), { type: 'module' }) }
}
