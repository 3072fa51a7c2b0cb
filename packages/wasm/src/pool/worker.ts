/**
 * The platform-neutral side of a pool worker: loads the handler and runs jobs. The platform entries
 * (`worker.browser.ts`, `worker.node.ts`) only connect it to their message port; a custom worker entry
 * that bundles its handler statically does the same with `createWorkerApi(handler)`.
 */
import { serializeError } from '@ipvm/core'
import * as Comlink from 'comlink'
import type { HandlerModule, HandlerSpec, JobHandler, WorkerApi, WorkerReply } from './protocol.js'

function pickHandler (mod: HandlerModule): JobHandler | undefined {
  if (typeof mod.run === 'function') return mod.run
  const def = mod.default
  if (typeof def === 'function') return def
  if (def !== undefined && typeof def === 'object' && typeof def.run === 'function') return def.run.bind(def)
  return undefined
}

/**
 * Builds the object a worker exposes. With `handler` given (a bundled worker entry), `init` only
 * passes the options to `handler.init`; otherwise `init` imports the module at `spec.url`.
 */
export function createWorkerApi (handler?: HandlerModule): WorkerApi {
  let run: JobHandler | undefined

  return {
    async init (spec: HandlerSpec): Promise<void> {
      let mod = handler
      if (mod === undefined) {
        if (spec.url === undefined) throw new TypeError('no handler: pass a handler module URL or bundle one into the worker entry')
        // The URL is only known at run time; bundlers must leave this import alone.
        mod = await import(/* @vite-ignore */ spec.url) as HandlerModule
      }
      const fn = pickHandler(mod)
      if (fn === undefined) throw new TypeError(`the handler module ${spec.url ?? ''} exports neither run() nor a default function`)
      if (typeof mod.init === 'function') await mod.init(spec.options)
      run = fn
    },

    async run (job: unknown): Promise<WorkerReply> {
      if (run === undefined) return { ok: false, error: serializeError(new TypeError('the worker was not initialised')) }
      const transfers: Transferable[] = []
      try {
        const value = await run(job, { transfer: (...list) => { transfers.push(...list) } })
        const reply: WorkerReply = { ok: true, value }
        return transfers.length > 0 ? Comlink.transfer(reply, transfers) : reply
      } catch (err) {
        return { ok: false, error: serializeError(err) }
      }
    }
  }
}
