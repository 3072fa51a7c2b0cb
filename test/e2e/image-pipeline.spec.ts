/**
 * The image-pipeline PWA in Chromium: memoized replays across presets, reloads and browser restarts,
 * a visible error receipt for a bad crop box, and offline use of the production build (served by a
 * `vite preview` this file starts, then stops, so "offline" really has no server behind it).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium, expect, type Page, test } from '@playwright/test'
import { build, type PreviewServer, preview } from 'vite'

const PAGE = '/examples/image-pipeline/'
const CONFIG = fileURLToPath(new URL('../../examples/image-pipeline/vite.config.ts', import.meta.url))
const SHOTS = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url))
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync']

/** Console errors and uncaught exceptions of a page (a favicon 404 aside). */
function watchErrors (page: Page): string[] {
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(String(e)))
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().includes('favicon')) errors.push(m.text()) })
  return errors
}

async function ready (page: Page): Promise<void> {
  await expect(page.locator('#status')).toHaveAttribute('data-ready', 'true', { timeout: 30_000 })
  await expect(page.locator('#run')).toBeEnabled()
}

/** Picks a preset, runs it, and returns the summary line. */
async function runPreset (page: Page, name: 'grayscale' | 'blur'): Promise<string> {
  await page.locator(`#preset-${name}`).click()
  await page.locator('#run').click()
  await expect(page.locator('#summary')).toHaveText(/ ms$/, { timeout: 30_000 })
  return await page.locator('#summary').textContent() ?? ''
}

async function states (page: Page): Promise<string[]> {
  return await page.locator('#dag g.node[data-index]').evaluateAll((nodes) => nodes.map((n) => n.getAttribute('data-state') ?? ''))
}

/** Decodes the image in the viewer (the last step's output) in the page. */
async function viewerPixels (page: Page): Promise<{ width: number, height: number, colored: number, pixels: number }> {
  return await page.locator('#viewer-img').evaluate(async (img: HTMLImageElement) => {
    const bitmap = await createImageBitmap(await (await fetch(img.src)).blob())
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height)
    const context = canvas.getContext('2d')!
    context.drawImage(bitmap, 0, 0)
    const data = context.getImageData(0, 0, bitmap.width, bitmap.height).data
    let colored = 0
    for (let i = 0; i < data.length; i += 4) if (data[i] !== data[i + 1] || data[i + 1] !== data[i + 2]) colored++
    return { width: bitmap.width, height: bitmap.height, colored, pixels: data.length / 4 }
  })
}

async function shot (page: Page, name: string): Promise<void> {
  await mkdir(SHOTS, { recursive: true })
  await page.screenshot({ path: join(SHOTS, name), fullPage: true })
}

test('preset 2 after preset 1 replays crop and rotate90; a reload replays everything', async ({ page }) => {
  const errors = watchErrors(page)
  await page.goto(PAGE)
  await ready(page)
  await expect(page.locator('#input-info')).toContainText('1024×768')

  expect(await runPreset(page, 'grayscale')).toMatch(/^0 of 3 steps replayed, 3 ran, \d+ ms$/)
  expect(await states(page)).toEqual(['ran', 'ran', 'ran'])
  const gray = await viewerPixels(page)
  expect(gray).toMatchObject({ width: 384, height: 512, colored: 0 }) // crop 512×384, rotated, R=G=B everywhere

  expect(await runPreset(page, 'blur')).toMatch(/^2 of 3 steps replayed, 1 ran, \d+ ms$/)
  expect(await states(page)).toEqual(['replayed', 'replayed', 'ran'])
  const blur = await viewerPixels(page)
  expect(blur).toMatchObject({ width: 384, height: 512 })
  expect(blur.colored).toBeGreaterThan(blur.pixels / 2) // still a colour picture
  await shot(page, 'image-pipeline.png')

  // each step's output opens: the crop is 512×384
  await page.locator('#dag g.node[data-index="0"]').click()
  await expect(page.locator('#viewer-caption')).toContainText('step 1 · crop 256,192 512×384 · 512×384')
  await expect(page.locator('#receipts tbody tr')).toHaveCount(6)
  await expect(page.locator('#receipts tbody tr[data-replayed="true"]')).toHaveCount(2)
  await expect(page.locator('#storage')).toContainText('4 receipts stored')

  await page.reload()
  await ready(page)
  expect(await runPreset(page, 'grayscale')).toMatch(/^3 of 3 steps replayed, 0 ran, \d+ ms$/)
  expect(await runPreset(page, 'blur')).toMatch(/^3 of 3 steps replayed, 0 ran, \d+ ms$/)
  expect((await viewerPixels(page)).colored).toBeGreaterThan(0)
  expect(errors).toEqual([])
})

test('a crop box outside the image is a red error receipt, and its dependents say why they did not run', async ({ page }) => {
  await page.goto(PAGE)
  await ready(page)
  await page.locator('#preset-grayscale').click()
  await page.locator('#steps li').first().locator('input[name="x"]').fill('5000')
  await page.locator('#steps li').first().locator('input[name="x"]').dispatchEvent('change')
  await page.locator('#run').click()
  await expect(page.locator('#summary')).toHaveText(/^0 of 3 steps replayed, 0 ran, 3 failed, \d+ ms$/, { timeout: 30_000 })
  expect(await states(page)).toEqual(['failed', 'failed', 'failed'])
  const crop = page.locator('#dag g.node[data-index="0"]')
  await expect(crop).toContainText('WasmTrapError')
  expect(await crop.locator('rect').evaluate((r) => getComputedStyle(r).stroke)).toBe('rgb(176, 0, 32)')
  await expect(page.locator('#dag g.node[data-index="1"]')).toContainText('not run: step 1 (crop)')
  await expect(page.locator('#dag g.node[data-index="2"]')).toContainText('not run: step 1 (crop)')
  await expect(page.locator('#errors li').first()).toContainText('step 1 (crop): WasmTrapError')
  await expect(page.locator('#errors li').first()).toContainText('outside the 1024×768 input')
  await expect(page.locator('#errors li').nth(1)).toContainText('not run: step 1 (crop) failed')
  await expect(page.locator('#receipts tbody tr[data-outcome="error"]')).toHaveCount(3)
  await expect(page.locator('#viewer')).toBeHidden()
  await shot(page, 'image-pipeline-error.png')
})

test('receipts survive a browser restart (persistent profile): everything replays', async ({ baseURL }) => {
  const profile = await mkdtemp(join(tmpdir(), 'ipvm-pipeline-profile-'))
  const launch = async (): ReturnType<typeof chromium.launchPersistentContext> =>
    await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, baseURL: baseURL! })
  try {
    let context = await launch()
    let page = context.pages()[0] ?? await context.newPage()
    await page.goto(PAGE)
    await ready(page)
    expect(await runPreset(page, 'grayscale')).toMatch(/^0 of 3 steps replayed, 3 ran/)
    await context.close()

    context = await launch()
    page = context.pages()[0] ?? await context.newPage()
    await page.goto(PAGE)
    await ready(page)
    await expect(page.locator('#storage')).toContainText('3 receipts stored')
    expect(await runPreset(page, 'grayscale')).toMatch(/^3 of 3 steps replayed, 0 ran/)
    expect(await states(page)).toEqual(['replayed', 'replayed', 'replayed'])
    await expect(page.locator('#dag g.node[data-index="0"]')).toContainText('receipt from store')
    await context.close()
  } finally {
    await rm(profile, { recursive: true, force: true })
  }
})

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => { resolve(typeof address === 'object' && address !== null ? address.port : 0) })
    })
  })
}

test.describe('production build', () => {
  let server: PreviewServer | undefined
  let outDir = ''
  let url = ''

  test.beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'ipvm-pipeline-dist-'))
    await build({ configFile: CONFIG, logLevel: 'warn', build: { outDir, emptyOutDir: true } })
    const port = await freePort()
    server = await preview({ configFile: CONFIG, logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port, strictPort: true } })
    url = `http://127.0.0.1:${port}/`
  })

  test.afterAll(async () => {
    await server?.close()
    await rm(outDir, { recursive: true, force: true })
  })

  test('works offline after the first visit: the service worker serves the app, IndexedDB the receipts', async ({ page, context }) => {
    const errors = watchErrors(page)
    await page.goto(url)
    await ready(page)
    // the service worker has installed (precached the build) and controls the page
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready
      if (navigator.serviceWorker.controller === null) {
        await new Promise((resolve) => { navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }) })
      }
    })
    const manifest = await page.evaluate(async () => await (await fetch(document.querySelector<HTMLLinkElement>('link[rel=manifest]')!.href)).json() as { icons: unknown[] })
    expect(manifest.icons.length).toBeGreaterThanOrEqual(3)
    expect(await runPreset(page, 'grayscale')).toMatch(/^0 of 3 steps replayed, 3 ran/)

    // no server any more, and no network
    await server?.close()
    server = undefined
    await context.setOffline(true)
    const response = await page.reload()
    expect(response?.fromServiceWorker()).toBe(true)
    await ready(page)
    await expect(page.locator('#status')).toHaveClass(/offline/)
    expect(await runPreset(page, 'blur')).toMatch(/^2 of 3 steps replayed, 1 ran, \d+ ms$/)
    const blur = await viewerPixels(page)
    expect(blur.colored).toBeGreaterThan(blur.pixels / 2)
    await shot(page, 'image-pipeline-offline.png')
    expect(errors).toEqual([])
  })
})
