import { defineConfig } from '@playwright/test'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'
]
const PORT = Number(process.env.E2E_PORT ?? 5199)

// End-to-end tests: the examples served by Vite, driven in Debian's Chromium.
export default defineConfig({
  testDir: 'test/e2e',
  testMatch: '**/*.spec.ts',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 120_000,
  reporter: 'list',
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    headless: true,
    launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS }
  },
  projects: [
    { name: 'chromium', testIgnore: '**/delegation*.spec.ts', use: { browserName: 'chromium' } },
    // Delegation between pages (WebRTC through a Node relay) and to `ipvm serve`. Chromium gathers no ICE
    // candidates without media permission and --allow-loopback-in-peer-connection; run it in a loopback-only
    // network namespace (`unshare -n`, as CI does) so WebRTC can only use 127.0.0.1.
    {
      name: 'webrtc',
      testMatch: '**/delegation*.spec.ts',
      use: {
        browserName: 'chromium',
        permissions: ['microphone', 'camera'],
        launchOptions: { executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, '--allow-loopback-in-peer-connection'] }
      }
    }
  ],
  webServer: {
    command: `node node_modules/vite/bin/vite.js --config vite.config.ts --host 127.0.0.1 --port ${PORT} --strictPort`,
    url: `http://127.0.0.1:${PORT}/`,
    reuseExistingServer: false,
    timeout: 120_000
  }
})
