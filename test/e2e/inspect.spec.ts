/** The inspect page computes Homestar's CIDs in Chromium and shows typed errors for bad input. */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { expect, test } from '@playwright/test'

const addOne = fileURLToPath(new URL('../../../shared/vectors/homestar/test-workflow-add-one.json', import.meta.url))

test('inspects the add-one workflow with Homestar-identical CIDs, without console errors', async ({ page }) => {
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(String(e)))
  page.on('console', (m) => { if (m.type() === 'error' && !m.text().includes('favicon')) errors.push(m.text()) })
  await page.goto('/examples/inspect/')
  await page.locator('#workflow').fill(await readFile(addOne, 'utf8'))
  await page.locator('#inspect').click()
  await expect(page.locator('#workflow-cid')).toHaveText('bafyrmialnbzgwscjrq7sa3kdnw2roqdrdzp7xh2tvmo37qmgvarwrhcgre')
  await expect(page.locator('tr[data-index="0"]')).toContainText('bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du')
  await expect(page.locator('tr[data-index="1"]')).toContainText('#0')
  expect(errors).toEqual([])
})

test('shows a typed validation error naming the task and field', async ({ page }) => {
  await page.goto('/examples/inspect/')
  await page.locator('#workflow').fill('{"tasks": [{"run": {"rsc": "ipfs://bafy", "op": 7, "input": {}}}]}')
  await page.locator('#inspect').click()
  await expect(page.locator('.error')).toHaveText(/^WorkflowValidationError: invalid workflow: task 0: run.op: expected an ability string/)
})
