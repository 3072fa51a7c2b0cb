import { describe, expect, it } from 'vitest'
import { bundleForBrowser, NODE_DYNAMIC_IMPORT, NODE_IMPORT } from '../../../test/support/browser-bundle.js'

// The browser build must not drag in LevelDB or Node built-ins: bundle src/index.ts for the
// browser with Vite (the `browser` field of package.json swaps platform.ts for platform.browser.ts)
// and look at what went in.
describe('browser bundle', () => {
  it('contains IndexedDB stores and no classic-level or node:* modules', async () => {
    const { modules, code } = await bundleForBrowser(new URL('..', import.meta.url))
    expect(modules.some((id) => id.endsWith('platform.browser.ts'))).toBe(true)
    expect(modules.some((id) => id.endsWith('/src/platform.ts'))).toBe(false)
    expect(modules.some((id) => id.includes('classic-level'))).toBe(false)
    // Import statements only: some dependencies mention `node:fs` in doc comments.
    expect(code).not.toMatch(NODE_IMPORT)
    expect(code).not.toMatch(NODE_DYNAMIC_IMPORT)
    expect(code).not.toContain('classic-level')
    expect(code).toContain('IDBBlockstore')
  })
})
