/**
 * Reloading the page at random points of a run loses no receipt: after each reload the same
 * workflow replays everything that had finished (IndexedDB) and completes the rest.
 */
import { expect, test } from '@playwright/test'

test('reload mid-run, many times: nothing finished is lost or run again', async ({ page }) => {
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(String(e)))
  const session = Date.now().toString(36)
  let interrupted = 0
  for (let round = 0; round < 4; round++) {
    // a fresh set of instructions per round (the page derives a nonce from the query)
    await page.goto(`/test/e2e/pages/crash/?round=${session}-${round}`)
    const killAfter = 1 + Math.floor(Math.random() * 6)
    // wait for some tasks to finish, then reload while the rest are running
    await page.waitForFunction((n) => window.ipvmRun.ran.length + window.ipvmRun.replayed.length >= n || window.ipvmRun.status !== undefined, killAfter, { timeout: 60_000 })
    const before = await page.evaluate(() => ({ ...window.ipvmRun }))
    if (before.status !== undefined) continue // finished before we could interrupt: nothing to check this round
    interrupted++
    await page.reload()
    await page.waitForFunction(() => window.ipvmRun.status !== undefined || window.ipvmRun.error !== undefined, undefined, { timeout: 60_000 })
    const after = await page.evaluate(() => ({ ...window.ipvmRun }))
    expect(after.error).toBeUndefined()
    expect(after.status).toBe('completed')
    expect(after.failed).toEqual([])
    for (const instruction of [...before.ran, ...before.replayed]) expect(after.replayed, `round ${round}`).toContain(instruction)
    expect(after.ran.length + after.replayed.length).toBe(10)
  }
  expect(interrupted).toBeGreaterThan(0)
  // finally everything is replayed
  await page.reload()
  await page.waitForFunction(() => window.ipvmRun.status !== undefined, undefined, { timeout: 60_000 })
  expect(await page.evaluate(() => window.ipvmRun.replayed.length)).toBe(10)
  expect(errors).toEqual([])
})
