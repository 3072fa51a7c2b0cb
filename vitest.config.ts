import { fileURLToPath } from 'node:url'
import { playwright } from '@vitest/browser-playwright'
import { defineConfig } from 'vitest/config'

// Debian's chromium only: Playwright must never download a browser here.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--allow-loopback-in-peer-connection'
]

// Test files shared by both projects: the same file runs in Node and in Chromium.
const include = ['packages/*/test/**/*.test.ts', 'test/unit/**/*.test.ts']
// Files that only make sense in Node (child processes, the file system, worker_threads CLIs).
const nodeOnly = ['packages/*/test/**/*.node.test.ts', 'test/unit/**/*.node.test.ts']
const browserOnly = ['packages/*/test/**/*.browser.test.ts', 'test/unit/**/*.browser.test.ts']

// Known-answer vectors live beside the checkout (../shared/vectors), in CI as on a developer's machine.
const vectors = fileURLToPath(new URL('../shared/vectors', import.meta.url))

// Source aliases: tests and examples run against src/, no build step needed.
const alias = {
  '@ipvm/core': fileURLToPath(new URL('./packages/core/src/index.ts', import.meta.url)),
  '@ipvm/wasm': fileURLToPath(new URL('./packages/wasm/src/index.ts', import.meta.url)),
  '@ipvm/auth': fileURLToPath(new URL('./packages/auth/src/index.ts', import.meta.url)),
  '@ipvm/store': fileURLToPath(new URL('./packages/store/src/index.ts', import.meta.url)),
  '@ipvm/net': fileURLToPath(new URL('./packages/net/src/index.ts', import.meta.url)),
  'ipvm': fileURLToPath(new URL('./packages/ipvm/src/index.ts', import.meta.url)),
  '@vectors': vectors
}

// Packages with a Node entry of their own (conditional exports "node" vs "browser").
const nodeAlias = {
  ...alias,
  '@ipvm/auth': fileURLToPath(new URL('./packages/auth/src/index.node.ts', import.meta.url))
}

export default defineConfig({
  resolve: { alias },
  server: { fs: { allow: [fileURLToPath(new URL('.', import.meta.url)), vectors] } },
  test: {
    projects: [
      {
        resolve: { alias: nodeAlias },
        define: { __TEST_PLATFORM__: JSON.stringify('node') },
        test: {
          name: 'node',
          environment: 'node',
          include: [...include, ...nodeOnly],
          exclude: browserOnly,
          setupFiles: ['packages/ipvm/src/node20.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000
        }
      },
      {
        resolve: { alias },
        // Pre-bundled up front: discovering them mid-run makes Vite reload a test file on a cold cache.
        optimizeDeps: {
          include: ['blockstore-core', 'blockstore-idb', 'idb', 'ipfs-unixfs-importer', 'ipfs-unixfs-importer/chunker',
            'ipfs-unixfs-importer/layout', 'ipfs-unixfs-exporter', 'multiformats/hashes/identity', 'multiformats/codecs/raw',
            '@ipld/dag-pb', 'ipfs-unixfs', 'comlink', 'wabt', 'fast-check', '@ucans/ucans', '@noble/curves/ed25519.js', '@noble/hashes/sha2.js']
        },
        define: { __TEST_PLATFORM__: JSON.stringify('browser') },
        test: {
          name: 'browser',
          include: [...include, ...browserOnly],
          exclude: nodeOnly,
          testTimeout: 60_000,
          hookTimeout: 60_000,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            api: { port: Number(process.env.VITEST_BROWSER_PORT ?? 63315), strictPort: false },
            provider: playwright({ launchOptions: { executablePath: CHROMIUM, args: CHROMIUM_ARGS } }),
            instances: [{ browser: 'chromium' }]
          }
        }
      }
    ]
  }
})
