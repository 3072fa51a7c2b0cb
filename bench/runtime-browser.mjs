#!/usr/bin/env node
// The image pipeline warm vs cold in Chromium, receipts and blocks in IndexedDB (issue 4).
//   node bench/runtime-browser.mjs [--quick]
// Bundles bench/runtime-browser.page.mjs with esbuild (browser conditions), serves it on 127.0.0.1
// and drives Debian's Chromium (/usr/bin/chromium) headless with Playwright. Tasks run in the page's
// thread through the worker's task code (no worker in this benchmark); see the page file.
import { createServer } from 'node:http'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'
import { chromium } from 'playwright'
import { machine, makePng, summary, table } from './lib.mjs'

const QUICK = process.argv.includes('--quick')
const started = performance.now()
const dir = await mkdtemp(join(tmpdir(), 'ipvm-bench-browser-'))
const server = createServer()
let browser
try {
  await esbuild.build({
    entryPoints: [fileURLToPath(new URL('./runtime-browser.page.mjs', import.meta.url))],
    bundle: true, format: 'esm', platform: 'browser', target: 'es2022', outfile: join(dir, 'page.js'), logLevel: 'error'
  })
  await writeFile(join(dir, 'sample.png'), makePng(1024, 1024))
  await writeFile(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><script type="module" src="/page.js"></script>')
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.png': 'image/png' }
  server.on('request', async (req, res) => {
    const path = req.url === '/' ? '/index.html' : req.url.split('?')[0]
    try {
      const body = await readFile(join(dir, path.replace(/\.\.+/g, '')))
      res.writeHead(200, { 'content-type': types[path.slice(path.lastIndexOf('.'))] ?? 'application/octet-stream', 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' })
      res.end(body)
    } catch { res.writeHead(404); res.end() }
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${server.address().port}/`
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] })
  const page = await browser.newPage()
  page.on('pageerror', (err) => console.error('page error:', err))
  await page.goto(url)
  await page.waitForFunction(() => window.benchReady === true)
  const r = await page.evaluate((o) => window.runBench(o), { rounds: QUICK ? 2 : 4, warm: QUICK ? 20 : 50, reopen: QUICK ? 3 : 5 })
  const version = browser.version()
  console.log(`# bench/runtime-browser.mjs — ${machine()}, Chromium ${version}${QUICK ? ' (quick)' : ''}`)
  const c = summary(r.cold); const m = summary(r.warmMemory); const f = summary(r.warmIdbFirst); const s = summary(r.warmIdb); const l = summary(r.lookup)
  table(`6 (Chromium). Image pipeline crop → rotate90 → grayscale on a 1024×1024 PNG, IndexedDB, ${r.cold.length} fresh databases, ms per workflow run`,
    ['run', 'samples', 'median', 'p10', 'p90', 'per task', 'cold ÷ this'], [
      ['cold: fresh IndexedDB, 3 tasks run in the page thread (fuel-metered)', c.n, c.median, c.p10, c.p90, c.median / 3, 1],
      ['warm, same node: 3 replays from the in-memory memo', m.n, m.median, m.p10, m.p90, m.median / 3, c.median / m.median],
      ['warm, reopened node: 3 replays from IndexedDB (first run after open)', f.n, f.median, f.p10, f.p90, f.median / 3, c.median / f.median],
      ['warm, reopened node: 3 replays from IndexedDB (later opens)', s.n, s.median, s.p10, s.p90, s.median / 3, c.median / s.median],
      ['one store.getByInstruction on IndexedDB (for scale)', l.n, l.median, l.p10, l.p90, '', '']
    ])
  if (process.argv.includes('--json')) console.log(JSON.stringify({ version, ...r }, null, 2))
} finally {
  await browser?.close()
  server.close()
  await rm(dir, { recursive: true, force: true })
}
console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(1)} s`)
