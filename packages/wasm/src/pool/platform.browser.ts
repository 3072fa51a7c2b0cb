/**
 * Web Workers. The default entry is referenced as a literal `new Worker(new URL(…), { type: 'module' })`
 * so that Vite bundles it (with comlink) as a separate chunk without any configuration by the user.
 */
import * as Comlink from 'comlink'
import { deathReport, type SpawnOptions, type WorkerHandle } from './platform.js'
import { CLOSING_MESSAGE, type WorkerApi } from './protocol.js'

function createWorker (options: SpawnOptions): Worker {
  if (options.createWorker !== undefined) return options.createWorker()
  if (options.workerUrl !== undefined) return new Worker(options.workerUrl, { type: 'module' })
  // Vite needs this exact shape (literal URL, static options) to find and bundle the worker.
  return new Worker(new URL('./worker.browser.js', import.meta.url), { type: 'module' })
}

export function spawn (options: SpawnOptions): WorkerHandle {
  const worker = createWorker(options)
  const { die, silence, onDeath } = deathReport()

  worker.addEventListener('error', (event: ErrorEvent) => {
    // An uncaught exception inside the worker (or a script that failed to load). The worker may
    // still be alive, but its job's state is unknown: the pool treats it as dead and replaces it.
    // preventDefault keeps it from being reported again as an error of the page.
    event.preventDefault()
    die({ reason: 'error', message: event.message !== '' ? event.message : 'worker error' })
  })
  worker.addEventListener('messageerror', () => { die({ reason: 'error', message: 'a message from the worker could not be deserialized' }) })
  worker.addEventListener('message', (event: MessageEvent) => {
    if (event.data === CLOSING_MESSAGE) die({ reason: 'exit', message: 'the worker closed itself' })
  })

  return {
    remote: Comlink.wrap<WorkerApi>(worker),
    async terminate () {
      silence()
      worker.terminate()
    },
    onDeath
  }
}
