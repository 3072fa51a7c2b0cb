import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// The browser entry must bundle without Node built-ins: bundle src/index.ts for the browser with Vite
// and look at what went in (the key-file keystore must not; the IndexedDB one must).
describe('browser bundle', () => {
  it('contains the IndexedDB keystore and no node:* modules', async () => {
    const { build } = await import('vite')
    const entry = fileURLToPath(new URL('../src/index.ts', import.meta.url))
    const core = fileURLToPath(new URL('../../core/src/index.ts', import.meta.url))
    const result = await build({
      configFile: false,
      logLevel: 'silent',
      root: fileURLToPath(new URL('..', import.meta.url)),
      resolve: { alias: { '@ipvm/core': core } },
      build: { write: false, minify: false, lib: { entry, formats: ['es'], fileName: 'auth' } }
    })
    const outputs = (Array.isArray(result) ? result : [result]) as Array<{ output: Array<{ type: string, code?: string, moduleIds?: string[] }> }>
    const chunks = outputs.flatMap((r) => r.output).filter((o) => o.type === 'chunk')
    const modules = chunks.flatMap((c) => c.moduleIds ?? [])
    const code = chunks.map((c) => c.code ?? '').join('\n')
    expect(modules.some((id) => id.endsWith('/src/keystore.browser.ts'))).toBe(true)
    expect(modules.some((id) => id.endsWith('/src/keystore.node.ts'))).toBe(false)
    expect(code).not.toMatch(/^\s*import[^\n]*from\s*['"](node:)?(fs|os|path)(\/promises)?['"]/m)
    expect(code).not.toMatch(/\bimport\(\s*['"]node:/)
    expect(code).toContain('indexedDB')
  })
})
