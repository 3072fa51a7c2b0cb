/**
 * worker_threads entry of the pool (loads the handler module named in `init`). Runs from `dist/` as
 * plain JS; from source the pool bundles it first (see platform.node.ts).
 */
import { exposeWorker } from './expose.node.js'

exposeWorker()
