import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// The browser build must not drag in LevelDB or Node built-ins: bundle src/index.ts for the
// browser with Vite (the `browser` field of package.json swaps platform.ts for platform.browser.ts)
// and look at what went in.
describe('browser bundle', () => {
  it('contains IndexedDB stores and no classic-level or node:* modules', async () => {
    const { build } = await import('vite')
    const entry = fileURLToPath(new URL('../src/index.ts', import.meta.url))
    const core = fileURLToPath(new URL('../../core/src/index.ts', import.meta.url))
    const result = await build({
      configFile: false,
      logLevel: 'silent',
      root: fileURLToPath(new URL('..', import.meta.url)),
      resolve: { alias: { '@ipvm/core': core } },
      build: { write: false, minify: false, lib: { entry, formats: ['es'], fileName: 'store' } }
    })
    const outputs = (Array.isArray(result) ? result : [result]) as Array<{ output: Array<{ type: string, code?: string, moduleIds?: string[] }> }>
    const chunks = outputs.flatMap((r) => r.output).filter((o) => o.type === 'chunk')
    const modules = chunks.flatMap((c) => c.moduleIds ?? [])
    const code = chunks.map((c) => c.code ?? '').join('\n')
    expect(modules.some((id) => id.endsWith('platform.browser.ts'))).toBe(true)
    expect(modules.some((id) => id.endsWith('/src/platform.ts'))).toBe(false)
    expect(modules.some((id) => id.includes('classic-level'))).toBe(false)
    // Import statements only: some dependencies mention `node:fs` in doc comments.
    expect(code).not.toMatch(/^\s*import[^\n]*from\s*['"]node:/m)
    expect(code).not.toMatch(/\bimport\(\s*['"]node:/)
    expect(code).not.toContain('classic-level')
    expect(code).toContain('IDBBlockstore')
  })
})
