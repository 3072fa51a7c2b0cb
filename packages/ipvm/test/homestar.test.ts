/**
 * Homestar semantics on the shared vectors, through `createIpvm` with its real parts (worker pool,
 * our guest component, signed receipts): the vectors' workflows are retargeted to our module and
 * sample image (their own module is Homestar's build, which we do not ship), keeping their shape.
 */
import addOnePartOne from '@vectors/homestar/test-workflow-add-one-part-one.json?raw'
import addOnePartTwo from '@vectors/homestar/test-workflow-add-one-part-two.json?raw'
import addOne from '@vectors/homestar/test-workflow-add-one.json?raw'
import noAwaits1 from '@vectors/homestar/test-workflow-no-awaits1.json?raw'
import noAwaits2 from '@vectors/homestar/test-workflow-no-awaits2.json?raw'
import { verifyReceipt } from '@ipvm/auth'
import { awaitOk, CID, type IpldMap, type IpldValue, instructionCid, invocationCid, isIpldMap, parseDagJson, taskToIpld, toDagJson, wasmTask } from '@ipvm/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { componentBytes } from '../../../examples/functions/dist/index.js'
import { createIpvm, type Ipvm } from '../src/index.js'
import { storedPng } from './png.js'

const PNG = storedPng(320, 300)

/** Rewrites a vector for our module: rsc, content links, and awaits (old instruction CID → new). */
async function retarget (text: string, rsc: string, image: CID, renamed: Map<string, CID>, unmatched?: CID): Promise<string> {
  const doc = parseDagJson(text) as IpldMap
  const tasks = doc.tasks as IpldMap[]
  const out: IpldValue[] = []
  for (const task of tasks) {
    const run = task.run as IpldMap
    const old = await instructionCid(run as never)
    const swap = (value: IpldValue): IpldValue => {
      const cid = CID.asCID(value)
      if (cid !== null) return image
      if (Array.isArray(value)) return value.map(swap)
      if (isIpldMap(value)) {
        const keys = Object.keys(value)
        if (keys.length === 1 && keys[0]!.startsWith('await/')) {
          const target = CID.asCID(value[keys[0]!])!
          return { [keys[0]!]: renamed.get(target.toString()) ?? unmatched ?? target }
        }
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, swap(v)]))
      }
      return value
    }
    const next = { ...run, rsc, input: swap(run.input as IpldValue) as IpldMap }
    renamed.set(old.toString(), await instructionCid(next as never))
    out.push(taskToIpld({ run: next as never, cause: null, meta: task.meta as IpldMap, prf: [] }))
  }
  return toDagJson({ tasks: out })
}

describe('Homestar semantics on the shared vectors', () => {
  let ipvm: Ipvm
  let rsc: string
  let image: CID
  const renamed = new Map<string, CID>()

  beforeAll(async () => {
    ipvm = await createIpvm({ memory: true, poolSize: 2 })
    rsc = `ipfs://${(await ipvm.add(componentBytes())).toString()}`
    image = await ipvm.add(PNG)
  })
  afterAll(async () => { await ipvm.stop() })

  it('add-one: the chain gives 2 then 3, with receipts signed by this node', async () => {
    const result = await ipvm.run(await retarget(addOne, rsc, image, renamed)).result
    expect(result.status).toBe('completed')
    expect(result.tasks.map((t) => t.out)).toEqual([{ ok: 2 }, { ok: 3 }])
    for (const outcome of result.tasks) {
      expect(outcome.receipt.iss).toBe(ipvm.did)
      await verifyReceipt(outcome.receipt, { expectedIssuer: ipvm.did! })
    }
    // `ran` is the CID of the invocation {task}, as in Homestar
    const parsed = parseDagJson(await retarget(addOne, rsc, image, new Map())) as IpldMap
    const first = (parsed.tasks as IpldMap[])[0]!
    expect(result.tasks[0]!.receipt.ran.toString()).toBe((await invocationCid({ task: { run: first.run as never, cause: null, meta: first.meta as IpldMap, prf: [] } })).toString())
  })

  it('guest log lines are task:log events; clearReceipts forgets store and memory alike', async () => {
    const text = await retarget(addOne, rsc, image, renamed)
    const logs: string[] = []
    const replayed = await ipvm.run(text, { onProgress: (e) => { if (e.type === 'task:log') logs.push(e.message) } }).result
    expect(replayed.tasks.every((t) => t.replayed)).toBe(true)
    expect(logs).toEqual([])
    await ipvm.clearReceipts()
    const again = await ipvm.run(text, { onProgress: (e) => { if (e.type === 'task:log') logs.push(e.message) } }).result
    expect(again.tasks.map((t) => t.status)).toEqual(['ran', 'ran'])
    expect(logs).toEqual(['info run-fn: add-one', 'info run-fn: add-one'])
  })

  it('byte outputs above the threshold go to content: the receipt holds the link, dependents get the bytes', async () => {
    const small = await createIpvm({ memory: true, poolSize: 1, outputThreshold: 64 })
    try {
      const module = `ipfs://${(await small.add(componentBytes())).toString()}`
      const png = await small.add(PNG)
      const crop = await wasmTask({ rsc: module, func: 'crop', args: [png, 0, 0, 200, 100] })
      const rotate = await wasmTask({ rsc: module, func: 'rotate90', args: [awaitOk(crop)] })
      const result = await small.run(toDagJson({ tasks: [taskToIpld(crop.task), taskToIpld(rotate.task)] })).result
      expect(result.status).toBe('completed')
      const link = CID.asCID((result.tasks[0]!.out as { ok: IpldValue }).ok)
      expect(link).not.toBeNull()
      const bytes = await small.content.get(link!)
      expect([...bytes.subarray(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG')
      expect(bytes.byteLength).toBeGreaterThan(64)
      expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(16)).toBe(200) // IHDR width of the crop
      expect(CID.asCID((result.tasks[1]!.out as { ok: IpldValue }).ok)).not.toBeNull() // rotate90 got the bytes and ran
    } finally {
      await small.stop()
    }
  })

  it('a receipt whose out was changed after signing, or whose iss was swapped, is rejected', async () => {
    const { tasks } = await ipvm.run(await retarget(addOne, rsc, image, renamed)).result
    const receipt = tasks[1]!.receipt
    await expect(verifyReceipt({ ...receipt, out: { ok: 4 } }, { expectedIssuer: ipvm.did! })).rejects.toMatchObject({ name: 'BadSignatureError' })
    const other = await createIpvm({ memory: true, poolSize: 1, start: false })
    await expect(verifyReceipt({ ...receipt, iss: other.did! }, { anyIssuer: true })).rejects.toMatchObject({ name: 'BadSignatureError' })
    await expect(verifyReceipt(receipt, { expectedIssuer: other.did! })).rejects.toMatchObject({ reason: expect.any(String) })
    await other.stop()
  })

  it('no-awaits2 replays the instruction it shares with no-awaits1', async () => {
    const one = await ipvm.run(await retarget(noAwaits1, rsc, image, renamed)).result
    expect(one.status).toBe('completed')
    const two = await ipvm.run(await retarget(noAwaits2, rsc, image, renamed)).result
    expect(two.status).toBe('completed')
    expect(two.tasks.map((t) => t.replayed)).toEqual([false, true])
    expect(two.tasks[1]!.receiptCid.toString()).toBe(one.tasks[0]!.receiptCid.toString())
  })

  it('part two resolves its external await from part one\'s receipt, and fails clearly without it', async () => {
    // The vector's external link names part one's task in Homestar's own build; ours is retargeted.
    const fresh = await createIpvm({ memory: true, poolSize: 1 })
    try {
      const local = new Map<string, CID>()
      const partOneText = await retarget(addOnePartOne, rsc, image, local)
      const partOneCid = [...local.values()][0]!
      const partTwoText = await retarget(addOnePartTwo, rsc, image, local, partOneCid)
      await fresh.add(componentBytes())
      const missing = await fresh.run(partTwoText).result
      expect(missing.status).toBe('failed')
      expect(missing.tasks[0]!.error).toMatchObject({ name: 'UnresolvedAwaitError' })
      expect(missing.tasks[0]!.error!.message).toContain(partOneCid.toString())
      expect((await fresh.run(partOneText).result).tasks[0]!.out).toEqual({ ok: 2 })
      const resolved = await fresh.run(partTwoText).result
      expect(resolved.tasks[0]!.out).toEqual({ ok: 3 })
      expect(resolved.tasks[0]!.replayed).toBe(false)
    } finally {
      await fresh.stop()
    }
  })
})
