// The worker's component task and the fuel contract: a call that returns with a negative counter
// (fuel is compared only at function entries, loop headers and host calls) is out of fuel.
import { beforeAll, expect, test } from 'vitest'
import { OutOfFuelError } from '../src/errors.js'
import { runComponentTask } from '../src/executor/component-task.js'
import type { ComponentTaskJob } from '../src/executor/protocol.js'
import { loadFixture } from './fixtures/load.js'

let bytes: Uint8Array
beforeAll(async () => { bytes = await loadFixture('guest.component.wasm') })

const job = (fuel: bigint): ComponentTaskJob => ({ kind: 'component', key: `guest/fuel/${fuel}`, bytes, func: 'range', args: [50], fuel })

test('a budget too small is OutOfFuelError, also when the call returned past it; verdicts are deterministic', async () => {
  const done = await runComponentTask(job(1_000_000n))
  const used = done.fuelUsed!
  expect(used).toBeGreaterThan(50n)
  expect(await runComponentTask(job(used))).toEqual(done)
  // Each core instance gets the whole budget and fuel used is their sum, so a budget a little
  // below the sum can still be enough; well below it, every budget is out of fuel.
  let failed = 0
  let finishedNegative = 0
  for (let fuel = used; fuel >= used - 200n && fuel > 0n; fuel--) {
    const verdict = async (): Promise<unknown> => await runComponentTask(job(fuel)).then((r) => r, (e: unknown) => e)
    const first = await verdict()
    if (first instanceof OutOfFuelError) {
      failed++
      const details = first.details as { limit: bigint, used: bigint }
      expect(details.limit).toBe(fuel)
      expect(details.used).toBeGreaterThan(fuel)
      // Where the call completed past its budget, it is charged exactly what it ran.
      if (details.used === used) finishedNegative++
      expect(((await verdict()) as OutOfFuelError).details).toEqual(details)
    } else {
      expect(first).toEqual(done)
      expect(failed).toBe(0) // no success below a failure
    }
  }
  expect(failed).toBeGreaterThan(0)
  expect(finishedNegative).toBeGreaterThan(0)
})
