/** Property tests: codecs round-trip, CIDs ignore key order, bad input only ever yields typed errors. */
import addOne from '@vectors/homestar/test-workflow-add-one.json?raw'
import fc from 'fast-check'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, it } from 'vitest'
import { cidOf, decode, encode, fromPlainJson, IpvmError, type IpldValue, ipldEquals, parseDagJson, parseWorkflow, planWorkflow, toDagJson } from '../src/index.js'

const TYPED_CODES = new Set(['ERR_WORKFLOW_PARSE', 'ERR_INVALID_WORKFLOW', 'ERR_DUPLICATE_TASK'])

const cidArbitrary = fc.uint8Array({ minLength: 1, maxLength: 16 }).map((bytes) => {
  // a deterministic, valid CID per input (sha256 digest computed synchronously is not available: use a raw multihash)
  const digest = new Uint8Array(32)
  digest.set(bytes.subarray(0, 32))
  return CID.createV1(0x55, { code: sha256.code, size: 32, digest, bytes: Uint8Array.of(0x12, 0x20, ...digest) })
})

const { value: ipldArbitrary } = fc.letrec<{ value: IpldValue, map: Record<string, IpldValue> }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.bigInt({ min: -(1n << 63n), max: (1n << 64n) - 1n }),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
    fc.string(),
    fc.uint8Array({ maxLength: 32 }),
    cidArbitrary,
    fc.array(tie('value'), { maxLength: 4 }),
    tie('map')
  ),
  map: fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 4 })
    // {"/": …} maps are DAG-JSON's reserved form; a one-key "/" map is not a plain map there
    .filter((m) => !Object.hasOwn(m, '/'))
}))

function shuffleKeys (value: IpldValue, seed: number): IpldValue {
  if (Array.isArray(value)) return value.map((v, i) => shuffleKeys(v, seed + i))
  if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array) && CID.asCID(value) === null) {
    const entries = Object.entries(value as Record<string, IpldValue>)
    entries.sort((a, b) => ((a[0].length * 31 + seed) % 7) - ((b[0].length * 31 + seed) % 7) || (seed % 2 === 0 ? a[0].localeCompare(b[0]) : b[0].localeCompare(a[0])))
    return Object.fromEntries(entries.map(([k, v]) => [k, shuffleKeys(v, seed + 1)]))
  }
  return value
}

async function expectTypedOutcome (input: unknown): Promise<void> {
  try {
    const parsed = await parseWorkflow(input as object)
    planWorkflow(parsed)
  } catch (err) {
    if (!(err instanceof IpvmError) || !TYPED_CODES.has(err.code)) throw err
  }
}

describe('codec properties', () => {
  it('DAG-CBOR encode/decode round-trips any IPLD value', () => {
    fc.assert(fc.property(ipldArbitrary, (value) => {
      expect(ipldEquals(decode(encode(value)), value)).toBe(true)
    }))
  })

  it('DAG-JSON text round-trips any IPLD value', () => {
    fc.assert(fc.property(ipldArbitrary, (value) => {
      expect(ipldEquals(parseDagJson(toDagJson(value)), value)).toBe(true)
    }))
  })

  it('CIDs do not change when map keys are reordered', async () => {
    await fc.assert(fc.asyncProperty(ipldArbitrary, fc.nat(), async (value, seed) => {
      expect((await cidOf(shuffleKeys(value, seed))).toString()).toBe((await cidOf(value)).toString())
    }), { numRuns: 60 })
  })

  it('workflow CIDs do not change when task keys are reordered', async () => {
    const original = JSON.parse(addOne) as { tasks: Record<string, unknown>[] }
    const reordered = { tasks: original.tasks.map((t) => Object.fromEntries(Object.entries(t).reverse())) }
    expect((await parseWorkflow(reordered)).cid.toString()).toBe((await parseWorkflow(original)).cid.toString())
  })
})

describe('bad input only ever produces typed validation errors', () => {
  it('random bytes', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 256 }), expectTypedOutcome), { numRuns: 300 })
  })

  it('random JSON text and values', async () => {
    await fc.assert(fc.asyncProperty(fc.json(), expectTypedOutcome), { numRuns: 300 })
    await fc.assert(fc.asyncProperty(fc.jsonValue(), expectTypedOutcome), { numRuns: 300 })
  })

  it('mutations of a valid workflow', async () => {
    const base = JSON.parse(addOne) as unknown
    type Path = (string | number)[]
    const paths: Path[] = []
    const walk = (v: unknown, path: Path): void => {
      paths.push(path)
      if (Array.isArray(v)) v.forEach((x, i) => { walk(x, [...path, i]) })
      else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k])
    }
    walk(base, [])
    const mutation = fc.tuple(fc.constantFrom(...paths), fc.oneof(fc.constant(undefined), fc.jsonValue(), fc.constant({ 'await/ok': { '/': 'bafyrmihmxmsbt4n3g6dzmj7rho34mzfbaoqqbsfcq7etsogslqftbyj7du' } }), fc.constant({ '/': 'garbage' })))
    await fc.assert(fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 4 }), async (mutations) => {
      const doc = structuredClone(base) as Record<string, unknown>
      for (const [path, replacement] of mutations) {
        if (path.length === 0) continue
        let parent: Record<string | number, unknown> = doc
        for (const key of path.slice(0, -1)) {
          const next = parent?.[key]
          if (next === null || typeof next !== 'object') { parent = undefined as never; break }
          parent = next as Record<string | number, unknown>
        }
        if (parent === undefined) continue
        const last = path[path.length - 1]!
        if (replacement === undefined && !Array.isArray(parent)) delete parent[last]
        else parent[last] = structuredClone(replacement)
      }
      await expectTypedOutcome(doc)
      await expectTypedOutcome(JSON.stringify(doc))
    }), { numRuns: 300 })
  })

  it('a cyclic object is a typed error, not a stack overflow', async () => {
    const doc = JSON.parse(addOne) as { tasks: Record<string, unknown>[] }
    doc.tasks[0]!.meta = doc
    await expect(parseWorkflow(doc)).rejects.toThrow(/refers to itself/)
  })

  it('plain JSON conversion refuses what IPLD cannot hold, with a typed error', () => {
    for (const bad of [Number.POSITIVE_INFINITY, () => 1, new Date(), Symbol('x')]) {
      expect(() => fromPlainJson({ a: [bad] })).toThrow(IpvmError)
    }
  })
})
