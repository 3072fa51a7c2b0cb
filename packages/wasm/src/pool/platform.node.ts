/// <reference types="node" />
/**
 * worker_threads. Never imported statically (see loadPlatform), so browser bundles don't see it.
 *
 * Worker entry: from `dist/` the entry is the compiled `worker.node.js` next to this file and needs
 * nothing else. From source (vitest runs `src/` directly) the entry is `worker.node.ts`, and Node 20
 * cannot run TypeScript in a worker: `--import`-registered loader hooks (tsx and the like) are not
 * applied inside worker_threads before Node 22. So any `.ts` worker entry or handler module is
 * bundled with esbuild (a devDependency, loaded only in that case) into a temporary `.mjs`, using the
 * repository's tsconfig so `@ipvm/*` resolves to `src/` — the worker runs the same source as the
 * test, and the built package never needs a loader.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, extname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import * as Comlink from 'comlink'
import nodeEndpoint from 'comlink/dist/esm/node-adapter.mjs'
import { deathReport, type SpawnOptions, type WorkerHandle } from './platform.js'
import type { HandlerSpec, WorkerApi } from './protocol.js'

const here = import.meta.url
const fromSource = /\.[cm]?ts$/.test(here)
const TS = /\.[cm]?ts$/

interface Esbuild {
  build (options: Record<string, unknown>): Promise<unknown>
}

let outdir: string | undefined
let bundleCount = 0
const bundles = new Map<string, Promise<string>>()

/** Bundles a TypeScript module (and everything it imports) into one temporary ES module for a worker. */
async function devBundle (url: string): Promise<string> {
  let cached = bundles.get(url)
  if (cached === undefined) {
    cached = (async () => {
      const spec = 'esbuild'
      let esbuild: Esbuild
      try {
        esbuild = await import(/* @vite-ignore */ spec) as Esbuild
      } catch (err) {
        throw new Error(`${url} is TypeScript, which Node 20 workers cannot load: install esbuild (a devDependency of @ipvm/wasm) or build the package first`, { cause: err })
      }
      if (outdir === undefined) {
        const dir = mkdtempSync(join(tmpdir(), 'ipvm-pool-'))
        outdir = dir
        process.once('exit', () => { rmSync(dir, { recursive: true, force: true }) })
      }
      const path = fileURLToPath(url)
      const outfile = join(outdir, `${basename(path, extname(path))}-${++bundleCount}.mjs`)
      const tsconfig = fromSource ? fileURLToPath(new URL('../../../../tsconfig.json', here)) : undefined
      await esbuild.build({
        entryPoints: [path],
        outfile,
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        mainFields: ['module', 'main'],
        sourcemap: 'inline',
        logLevel: 'silent',
        ...(tsconfig !== undefined && existsSync(tsconfig) ? { tsconfig } : {}),
        // CommonJS dependencies inside an ES module bundle still need `require` for builtins.
        banner: { js: "import { createRequire as __ipvmCreateRequire } from 'node:module'; const require = __ipvmCreateRequire(import.meta.url);" }
      })
      return pathToFileURL(outfile).href
    })()
    bundles.set(url, cached)
    cached.catch(() => { bundles.delete(url) })
  }
  return await cached
}

/**
 * Resolves the worker entry (the default one unless `workerUrl` is given) and, when running from
 * TypeScript, bundles the entry and the handler module so that a worker thread can load them.
 */
export async function prepare (options: SpawnOptions, spec: HandlerSpec): Promise<{ options: SpawnOptions, spec: HandlerSpec }> {
  let workerUrl = options.workerUrl !== undefined
    ? new URL(options.workerUrl).href
    : new URL(fromSource ? './worker.node.ts' : './worker.node.js', here).href
  if (TS.test(new URL(workerUrl).pathname)) workerUrl = await devBundle(workerUrl)
  let handlerUrl = spec.url
  if (handlerUrl !== undefined && TS.test(new URL(handlerUrl).pathname)) handlerUrl = await devBundle(handlerUrl)
  return {
    options: { ...options, workerUrl },
    spec: { ...spec, ...(handlerUrl !== undefined ? { url: handlerUrl } : {}) }
  }
}

export function spawn (options: SpawnOptions): WorkerHandle {
  const entry = options.workerUrl ?? new URL('./worker.node.js', here)
  const worker = new Worker(new URL(entry), {
    ...(options.resourceLimits !== undefined ? { resourceLimits: options.resourceLimits } : {})
  })
  const { die, silence, onDeath } = deathReport()

  worker.on('error', (err: Error & { code?: string }) => {
    die(err.code === 'ERR_WORKER_OUT_OF_MEMORY'
      ? { reason: 'out-of-memory', message: err.message }
      : { reason: 'error', message: `${err.name}: ${err.message}` })
  })
  worker.on('exit', (exitCode: number) => { die({ reason: 'exit', exitCode, message: `the worker exited with code ${exitCode}` }) })
  worker.on('messageerror', (err: Error) => { die({ reason: 'error', message: `messageerror: ${err.message}` }) })

  return {
    remote: Comlink.wrap<WorkerApi>(nodeEndpoint(worker)),
    async terminate () {
      silence()
      await worker.terminate()
    },
    setActive (active) {
      if (active) worker.ref()
      else worker.unref()
    },
    onDeath
  }
}
