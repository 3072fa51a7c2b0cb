// The component runtime with the fuel/memory rewriter in its compile hook, as the executor uses it.
import { beforeAll, describe, expect, test } from 'vitest'
import { instantiateComponent } from '../src/component/index.js'
import { WasmTrapError } from '../src/errors.js'
import { FUEL_EXPORT, fuelLeft, instrument, setFuel } from '../src/meter.js'
import { loadFixture } from './fixtures/load.js'

const kinds = ['component', 'embedded'] as const
const fixtures: Record<string, Uint8Array> = {}
beforeAll(async () => {
  for (const kind of kinds) fixtures[kind] = await loadFixture(`guest.${kind}.wasm`)
})

const metered = (b: Uint8Array): Promise<WebAssembly.Module> => WebAssembly.compile(instrument(b, { fuel: true }) as Uint8Array<ArrayBuffer>)

/** The core instance holding the guest's code: the one exporting both memory and the fuel global. */
function mainInstance (instances: readonly WebAssembly.Instance[]): WebAssembly.Instance {
  const found = instances.find((i) => FUEL_EXPORT in i.exports && 'memory' in i.exports)
  if (found === undefined) throw new Error('no metered instance with memory')
  return found
}

describe.each(kinds)('metered %s', (kind) => {
  test('fuel use is deterministic and out-of-fuel traps and poisons', async () => {
    const used: bigint[] = []
    for (let run = 0; run < 2; run++) {
      const inst = await instantiateComponent(fixtures[kind]!, {}, { compile: metered })
      const main = mainInstance(inst.coreInstances)
      expect(inst.coreExport(FUEL_EXPORT)).toBeInstanceOf(WebAssembly.Global)
      setFuel(main, 1_000_000n)
      expect(inst.call('range', 1000)).toHaveLength(1000)
      used.push(1_000_000n - fuelLeft(main))
    }
    expect(used[0]).toBeGreaterThan(1000n)
    expect(used[1]).toBe(used[0])

    const inst = await instantiateComponent(fixtures[kind]!, {}, { compile: metered })
    const main = mainInstance(inst.coreInstances)
    setFuel(main, 100n)
    expect(() => inst.call('range', 1000)).toThrow(WasmTrapError)
    expect(fuelLeft(main)).toBeLessThan(0n)
    expect(inst.poisoned).toBe(true)
  })
})
