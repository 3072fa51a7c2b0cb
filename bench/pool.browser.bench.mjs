#!/usr/bin/env node
// Worker pool measurements in Chromium, from a production Vite build of bench/pool-browser/
// (no Vite configuration besides the root: the pool's workers must bundle as they are).
//   node bench/pool.browser.bench.mjs [--json]
// Pages are served cross-origin isolated (COOP/COEP) so performance.now() is not clamped to 100 µs.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright'
import { build } from 'vite'

const root = fileURLToPath(new URL('./pool-browser/', import.meta.url))
const outDir = mkdtempSync(join(tmpdir(), 'ipvm-pool-bench-'))
try {
  await build({ root, logLevel: 'warn', build: { outDir, emptyOutDir: true } })
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' }
  const server = createServer((req, res) => {
    const path = normalize(join(outDir, req.url === '/' ? 'index.html' : decodeURIComponent(req.url.split('?')[0])))
    if (!path.startsWith(outDir)) { res.writeHead(403).end(); return }
    try {
      const body = readFileSync(path)
      res.writeHead(200, {
        'content-type': types[extname(path)] ?? 'application/octet-stream',
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp'
      }).end(body)
    } catch { res.writeHead(404).end() }
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] })
  try {
    const page = await browser.newPage()
    await page.goto(`http://127.0.0.1:${server.address().port}/`)
    await page.waitForFunction(() => window.__results !== undefined, null, { timeout: 120_000 })
    const results = await page.evaluate(() => window.__results)
    if (results.error) throw new Error(results.error)
    results.ratioPoolVsBare = results.poolTinyJobUs.median / results.bareComlinkUs.median
    if (process.argv.includes('--json')) console.log(JSON.stringify(results, null, 2))
    else {
      const f = (x) => x.toFixed(1)
      console.log(`Chromium (hardwareConcurrency ${results.hardwareConcurrency}, crossOriginIsolated ${results.crossOriginIsolated})`)
      console.log(`bare comlink round trip           median ${f(results.bareComlinkUs.median)} µs  p90 ${f(results.bareComlinkUs.p90)} µs`)
      console.log(`tiny job through the pool         median ${f(results.poolTinyJobUs.median)} µs  p90 ${f(results.poolTinyJobUs.p90)} µs  (×${results.ratioPoolVsBare.toFixed(2)} bare)`)
      console.log(`cold start, 1 worker              median ${f(results.coldStartMs.median)} ms  p90 ${f(results.coldStartMs.p90)} ms`)
      console.log(`recovery after timeout, spare     median ${f(results.recoveryWithSpareMs.median)} ms  p90 ${f(results.recoveryWithSpareMs.p90)} ms`)
      console.log(`recovery after timeout, no spare  median ${f(results.recoveryWithoutSpareMs.median)} ms  p90 ${f(results.recoveryWithoutSpareMs.p90)} ms`)
    }
  } finally {
    await browser.close()
    server.close()
  }
} finally {
  rmSync(outDir, { recursive: true, force: true })
}
