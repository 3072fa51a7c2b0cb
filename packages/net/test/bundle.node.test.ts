import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

// The browser build must bundle without Node built-ins or Node-only transports: bundle src/index.ts
// for the browser with Vite (which honours package.json's `browser` field) and look at what went in.
describe('browser bundle', () => {
  it('has the browser transports (WebRTC, WebSockets, WebTransport, circuit relay) and no node:* or @libp2p/tcp', async () => {
    const { build } = await import('vite')
    const entry = fileURLToPath(new URL('../src/index.ts', import.meta.url))
    const src = (pkg: string, file = 'index.ts'): string => fileURLToPath(new URL(`../../${pkg}/src/${file}`, import.meta.url))
    const result = await build({
      configFile: false,
      logLevel: 'silent',
      root: fileURLToPath(new URL('..', import.meta.url)),
      resolve: { alias: { '@ipvm/core': src('core'), '@ipvm/auth': src('auth') } },
      build: { write: false, minify: false, lib: { entry, formats: ['es'], fileName: 'net' } }
    })
    const outputs = (Array.isArray(result) ? result : [result]) as Array<{ output: Array<{ type: string, code?: string, moduleIds?: string[] }> }>
    const chunks = outputs.flatMap((r) => r.output).filter((o) => o.type === 'chunk')
    const modules = chunks.flatMap((c) => c.moduleIds ?? [])
    const code = chunks.map((c) => c.code ?? '').join('\n')
    expect(modules.some((id) => id.endsWith('/src/transports.browser.ts'))).toBe(true)
    expect(modules.some((id) => /\/net\/src\/transports\.ts$/.test(id))).toBe(false)
    expect(modules.some((id) => id.includes('/@libp2p/tcp/'))).toBe(false)
    for (const pkg of ['@libp2p/webrtc', '@libp2p/websockets', '@libp2p/webtransport', '@libp2p/circuit-relay-v2', '@libp2p/gossipsub', '@helia/bitswap']) {
      expect(modules.some((id) => id.includes(`/${pkg}/`)), pkg).toBe(true)
    }
    expect(code).not.toMatch(/^\s*import[^\n]*from\s*['"]node:/m)
    expect(code).not.toMatch(/\bimport\(\s*['"]node:/)
    expect(code).not.toMatch(/^\s*import[^\n]*from\s*['"](net|tls|dgram|fs|os|path|child_process)['"]/m)
  })
})
