/**
 * Production build of the image-pipeline PWA (`npx vite build --config examples/image-pipeline/vite.config.ts`,
 * then `npx vite preview --config …`). Dev needs none of this: the root config serves the page at
 * /examples/image-pipeline/. This adds:
 * - `public/` copied to `dist/public/` (the page refers to `./public/…` in dev and build alike);
 * - `sw.js`, the service worker from src/sw.ts, with the list of every built file and a version hash.
 */
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { defineConfig, mergeConfig, type Plugin } from 'vite'
import base from '../../vite.config.ts'

const here = fileURLToPath(new URL('.', import.meta.url))
const PLACEHOLDER = /(["'`])__IPVM_PRECACHE__\1/

function pwa (): Plugin {
  let swRef = ''
  return {
    name: 'ipvm-image-pipeline-pwa',
    apply: 'build',
    enforce: 'post',
    buildStart () {
      swRef = this.emitFile({ type: 'chunk', id: fileURLToPath(new URL('./src/sw.ts', import.meta.url)), fileName: 'sw.js' })
    },
    async generateBundle (_options, bundle) {
      const swName = this.getFileName(swRef)
      const files = Object.keys(bundle).filter((f) => f !== swName && !f.endsWith('.map')).sort()
      const hash = createHash('sha256')
      for (const f of files) {
        const item = bundle[f]!
        hash.update(f).update(item.type === 'chunk' ? item.code : item.source)
      }
      for (const name of (await readdir(new URL('./public/', import.meta.url))).sort()) {
        const source = await readFile(new URL(`./public/${name}`, import.meta.url))
        this.emitFile({ type: 'asset', fileName: `public/${name}`, source })
        files.push(`public/${name}`)
        hash.update(name).update(source)
      }
      if (!files.includes('index.html')) files.push('index.html')
      const precache = JSON.stringify({ version: hash.digest('hex').slice(0, 12), files: ['./', ...files] })
      const sw = bundle[swName]
      if (sw?.type !== 'chunk' || !PLACEHOLDER.test(sw.code)) throw new Error('sw.js: precache placeholder not found')
      // A string literal inside JSON.parse('…'): JSON-escape for the JS string.
      sw.code = sw.code.replace(PLACEHOLDER, () => JSON.stringify(precache))
    }
  }
}

export default mergeConfig(base, defineConfig({
  root: here,
  base: './',
  publicDir: false,
  plugins: [pwa()],
  worker: { format: 'es' },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 1024 },
  preview: {
    headers: {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp'
    }
  }
}))
