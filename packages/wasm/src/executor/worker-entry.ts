/**
 * Node: the executor's worker_threads entry. Selected by the package's `browser` field mapping
 * (worker-entry.browser.ts in browsers). From source the entry is TypeScript, started by the pool
 * with its dev loader; from dist it is plain JS.
 */
import type { WorkerPoolOptions } from '../pool/index.js'

export function spawnOptions (): Pick<WorkerPoolOptions, 'workerUrl' | 'createWorker'> {
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js'
  return { workerUrl: new URL(`./worker.node.${ext}`, import.meta.url) }
}
