/**
 * Bundles a package's entry for the browser with Vite (which honours package.json `browser` fields)
 * and returns what went in: the module ids and the code. Used by the packages' bundle tests to prove
 * that no Node-only module reaches a browser build.
 */
import { fileURLToPath } from 'node:url'

export interface BrowserBundle {
  modules: string[]
  code: string
}

/** `packageDir` is the package's folder URL (e.g. `new URL('..', import.meta.url)` from its test dir). */
export async function bundleForBrowser (packageDir: URL, aliases: string[] = ['core']): Promise<BrowserBundle> {
  const { build } = await import('vite')
  const alias = Object.fromEntries(aliases.map((pkg) => [`@ipvm/${pkg}`, fileURLToPath(new URL(`../${pkg}/src/index.ts`, packageDir))]))
  const result = await build({
    configFile: false,
    logLevel: 'silent',
    root: fileURLToPath(packageDir),
    resolve: { alias },
    build: { write: false, minify: false, lib: { entry: fileURLToPath(new URL('src/index.ts', packageDir)), formats: ['es'], fileName: 'bundle' } }
  })
  const outputs = (Array.isArray(result) ? result : [result]) as Array<{ output: Array<{ type: string, code?: string, moduleIds?: string[] }> }>
  const chunks = outputs.flatMap((r) => r.output).filter((o) => o.type === 'chunk')
  return { modules: chunks.flatMap((c) => c.moduleIds ?? []), code: chunks.map((c) => c.code ?? '').join('\n') }
}

/** Static and dynamic imports of `node:*` modules in bundled code (doc comments may mention them). */
export const NODE_IMPORT = /^\s*import[^\n]*from\s*['"]node:/m
export const NODE_DYNAMIC_IMPORT = /\bimport\(\s*['"]node:/
