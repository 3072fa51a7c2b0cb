import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

// Serves examples/ (and the e2e pages under test/e2e/pages) straight from the TypeScript sources.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  resolve: {
    alias: {
      '@ipvm/core': fileURLToPath(new URL('./packages/core/src/index.ts', import.meta.url)),
      '@ipvm/wasm': fileURLToPath(new URL('./packages/wasm/src/index.ts', import.meta.url)),
      '@ipvm/auth': fileURLToPath(new URL('./packages/auth/src/index.ts', import.meta.url)),
      '@ipvm/store': fileURLToPath(new URL('./packages/store/src/index.ts', import.meta.url)),
      '@ipvm/net': fileURLToPath(new URL('./packages/net/src/index.ts', import.meta.url)),
      'ipvm': fileURLToPath(new URL('./packages/ipvm/src/index.ts', import.meta.url))
    }
  },
  server: {
    headers: {
      // cross-origin isolation: precise timers and SharedArrayBuffer for the worker pool
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp'
    }
  },
  logLevel: 'warn'
})
