import { describe, expect, it } from 'vitest'
import { bundleForBrowser, NODE_DYNAMIC_IMPORT } from '../../../test/support/browser-bundle.js'

// The browser entry must bundle without Node built-ins: bundle src/index.ts for the browser with Vite
// and look at what went in (the key-file keystore must not; the IndexedDB one must).
describe('browser bundle', () => {
  it('contains the IndexedDB keystore and no node:* modules', async () => {
    const { modules, code } = await bundleForBrowser(new URL('..', import.meta.url))
    expect(modules.some((id) => id.endsWith('/src/keystore.browser.ts'))).toBe(true)
    expect(modules.some((id) => id.endsWith('/src/keystore.node.ts'))).toBe(false)
    expect(code).not.toMatch(/^\s*import[^\n]*from\s*['"](node:)?(fs|os|path)(\/promises)?['"]/m)
    expect(code).not.toMatch(NODE_DYNAMIC_IMPORT)
    expect(code).toContain('indexedDB')
  })
})
