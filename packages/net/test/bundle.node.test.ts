import { describe, expect, it } from 'vitest'
import { bundleForBrowser, NODE_DYNAMIC_IMPORT, NODE_IMPORT } from '../../../test/support/browser-bundle.js'

// The browser build must bundle without Node built-ins or Node-only transports: bundle src/index.ts
// for the browser with Vite (which honours package.json's `browser` field) and look at what went in.
describe('browser bundle', () => {
  it('has the browser transports (WebRTC, WebSockets, WebTransport, circuit relay) and no node:* or @libp2p/tcp', async () => {
    const { modules, code } = await bundleForBrowser(new URL('..', import.meta.url), ['core', 'auth'])
    expect(modules.some((id) => id.endsWith('/src/transports.browser.ts'))).toBe(true)
    expect(modules.some((id) => /\/net\/src\/transports\.ts$/.test(id))).toBe(false)
    expect(modules.some((id) => id.includes('/@libp2p/tcp/'))).toBe(false)
    for (const pkg of ['@libp2p/webrtc', '@libp2p/websockets', '@libp2p/webtransport', '@libp2p/circuit-relay-v2', '@libp2p/gossipsub', '@helia/bitswap']) {
      expect(modules.some((id) => id.includes(`/${pkg}/`)), pkg).toBe(true)
    }
    expect(code).not.toMatch(NODE_IMPORT)
    expect(code).not.toMatch(NODE_DYNAMIC_IMPORT)
    expect(code).not.toMatch(/^\s*import[^\n]*from\s*['"](net|tls|dgram|fs|os|path|child_process)['"]/m)
  })
})
