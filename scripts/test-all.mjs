#!/usr/bin/env node
// `npm test`: vitest (the same unit tests in Node and in Chromium) then Playwright end-to-end tests.
// Ends with one line "N passed, N failed" (", N skipped" when any) that sums both runners.
// Arguments after `--` go to vitest only and skip Playwright (e.g. `npm test -- --project node`).
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const out = join(root, '.test-results')
rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
const extra = process.argv.slice(2)
const totals = { passed: 0, failed: 0, skipped: 0 }

function run (label, args, env = {}) {
  const started = Date.now()
  console.log(`\n=== ${label}`)
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } })
  console.log(`=== ${label}: exit ${result.status ?? result.signal} in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  return result.status ?? 1
}

function readJson (file) {
  try { return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined } catch { return undefined }
}

const vitestJson = join(out, 'vitest.json')
const vitestCode = run('vitest (node + chromium)', [
  join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=default', '--reporter=json',
  `--outputFile.json=${vitestJson}`, ...extra
])
const vitest = readJson(vitestJson)
if (vitest !== undefined) {
  totals.passed += vitest.numPassedTests
  totals.failed += vitest.numFailedTests
  totals.skipped += (vitest.numPendingTests ?? 0) + (vitest.numTodoTests ?? 0)
  // a file that failed to load has no assertions: count it as one failure
  totals.failed += (vitest.testResults ?? []).filter((f) => f.status === 'failed' && (f.assertionResults ?? []).length === 0).length
}
if (vitest === undefined || (vitestCode !== 0 && totals.failed === 0)) totals.failed += 1

let playwrightCode = 0
const hasE2e = existsSync(join(root, 'test/e2e')) && readdirSync(join(root, 'test/e2e'), { recursive: true }).some((f) => String(f).endsWith('.spec.ts'))
if (extra.length === 0 && hasE2e) {
  const playwrightJson = join(out, 'playwright.json')
  playwrightCode = run('playwright (end to end)', [join(root, 'node_modules/@playwright/test/cli.js'), 'test', '--reporter=list,json'], {
    PLAYWRIGHT_JSON_OUTPUT_FILE: playwrightJson
  })
  const report = readJson(playwrightJson)
  if (report?.stats !== undefined) {
    totals.passed += report.stats.expected + report.stats.flaky
    totals.failed += report.stats.unexpected + (report.errors ?? []).length
    totals.skipped += report.stats.skipped
  }
  if (report?.stats === undefined || (playwrightCode !== 0 && report.stats.unexpected === 0 && (report.errors ?? []).length === 0)) totals.failed += 1
}

const ok = totals.failed === 0 && vitestCode === 0 && playwrightCode === 0
console.log(`\n${totals.passed} passed, ${totals.failed} failed${totals.skipped > 0 ? `, ${totals.skipped} skipped` : ''}`)
process.exit(ok ? 0 : 1)
