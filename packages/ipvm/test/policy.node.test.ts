/**
 * A receipt accepted from the network under one verification policy is replayed from the store only
 * by runs whose policy would accept it too (real nodes on loopback, TCP): the store keeps the issuers
 * it was accepted from; a stricter run counts the stored receipt as one candidate of its lookup.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateIdentity, type Signer } from '@ipvm/auth'
import { awaitOk, taskToIpld, toDagJson, wasmTask } from '@ipvm/core'
import { afterEach, describe, expect, it } from 'vitest'
import { componentBytes } from '../../../examples/functions/dist/index.js'
import { connect, type TestNode, TestNodes } from './network-nodes.js'

const nodes = new TestNodes()
const dirs: string[] = []
afterEach(async () => {
  await nodes.stopAll()
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

async function node (init: Parameters<TestNodes['create']>[0] = {}, signer?: Signer): Promise<TestNode> {
  return await nodes.create(signer === undefined ? init : { ...init, signer })
}

/** A one-task workflow (`add-one(args)`), its module added to every node given. */
async function workflow (owner: TestNode, others: TestNode[], args: number[]): Promise<string> {
  const rsc = `ipfs://${(await owner.ipvm.add(componentBytes())).toString()}`
  for (const other of others) await other.ipvm.add(componentBytes())
  const first = await wasmTask({ rsc, func: 'add-one', args })
  const second = await wasmTask({ rsc, func: 'add-one', args: [awaitOk(first)] })
  return toDagJson({ tasks: [first, second].map((t) => taskToIpld(t.task)) })
}

describe('stored network receipts under a stricter policy (Node ↔ Node, TCP)', () => {
  it('a receipt accepted with { confirmations: 1 } replays for { confirmations: 1 } but not for { confirmations: 2 } when only its issuer has it', async () => {
    const b = await node()
    const a = await node({ verification: { confirmations: 1 } })
    await connect(a, b)
    const text = await workflow(b, [a], [10])
    expect((await b.ipvm.run(text).result).tasks.map((t) => t.out)).toEqual([{ ok: 11 }, { ok: 12 }])
    const loose = await a.ipvm.run(text, { verification: { confirmations: 1 } }).result
    expect(loose.tasks.map((t) => [t.out, t.where, t.receipt.iss])).toEqual([[{ ok: 11 }, 'peer', b.signer.did], [{ ok: 12 }, 'peer', b.signer.did]])
    expect(a.runs()).toBe(0)
    // the same policy again: replayed as stored, B's receipts
    const again = await a.ipvm.run(text).result
    expect(again.tasks.map((t) => [t.where, t.receipt.iss])).toEqual([['memory', b.signer.did], ['memory', b.signer.did]])
    expect((await a.ipvm.receipt(loose.tasks[0]!.instruction))!.acceptedFrom).toEqual([b.signer.did])
    // two confirmations wanted, only B has the result: not replayed, run here
    const strict = await a.ipvm.run(text, { verification: { confirmations: 2, referee: false } }).result
    expect(strict.tasks.map((t) => [t.out, t.where, t.receipt.iss])).toEqual([[{ ok: 11 }, 'local', a.signer.did], [{ ok: 12 }, 'local', a.signer.did]])
    expect(a.runs()).toBe(2)
  })

  it('with two honest peers, { confirmations: 2 } after a { confirmations: 1 } acceptance counts the stored receipt and asks for one more (also after a restart)', async () => {
    const b = await node()
    const c = await node()
    const dir = await mkdtemp(join(tmpdir(), 'ipvm-policy-'))
    dirs.push(dir)
    const aSigner = await generateIdentity()
    const first = await node({ memory: false, location: dir, verification: { confirmations: 1 } }, aSigner)
    await connect(first, b)
    const text = await workflow(b, [c, first], [20])
    expect((await b.ipvm.run(text).result).tasks.map((t) => t.out)).toEqual([{ ok: 21 }, { ok: 22 }])
    expect((await c.ipvm.run(text).result).tasks.map((t) => t.out)).toEqual([{ ok: 21 }, { ok: 22 }])
    const loose = await first.ipvm.run(text).result
    expect(loose.tasks.map((t) => [t.where, t.receipt.iss])).toEqual([['peer', b.signer.did], ['peer', b.signer.did]])
    expect(first.runs()).toBe(0)
    await nodes.stop(first)
    // Reopened (candidates gone, the receipts with their issuers in LevelDB), and connected to C only:
    // B's stored receipt is one confirmation, C's the second.
    const a = await node({ memory: false, location: dir, verification: { confirmations: 1 } }, aSigner)
    await connect(a, c)
    const hits: string[][] = []
    a.ipvm.sharing!.addEventListener('receipt:network-hit', (e) => hits.push((e as CustomEvent<{ issuers: string[] }>).detail.issuers))
    const strict = await a.ipvm.run(text, { verification: { confirmations: 2 } }).result
    expect(strict.tasks.map((t) => [t.out, t.where])).toEqual([[{ ok: 21 }, 'peer'], [{ ok: 22 }, 'peer']])
    expect(a.runs()).toBe(0)
    expect(hits.map((h) => [...h].sort())).toEqual([[b.signer.did, c.signer.did].sort(), [b.signer.did, c.signer.did].sort()])
    // now stored as confirmed by both: a { confirmations: 2 } run replays it
    const stored = await a.ipvm.receipt(strict.tasks[0]!.instruction)
    expect([...stored!.acceptedFrom!].sort()).toEqual([b.signer.did, c.signer.did].sort())
    const again = await a.ipvm.run(text, { verification: { confirmations: 2 } }).result
    expect(again.tasks.map((t) => t.where)).toEqual(['memory', 'memory'])
    expect(a.runs()).toBe(0)
  })

  it('{ trusted: [C] } does not replay a stored receipt accepted from B; { trusted: [B] } does', async () => {
    const b = await node()
    const c = await node()
    const a = await node({ verification: { confirmations: 1 } })
    await connect(a, b)
    const text = await workflow(b, [a], [30])
    await b.ipvm.run(text).result
    const loose = await a.ipvm.run(text).result
    expect(loose.tasks.map((t) => [t.where, t.receipt.iss])).toEqual([['peer', b.signer.did], ['peer', b.signer.did]])
    const trustsB = await a.ipvm.run(text, { verification: { trusted: [b.signer.did] } }).result
    expect(trustsB.tasks.map((t) => t.where)).toEqual(['memory', 'memory'])
    expect(a.runs()).toBe(0)
    const trustsC = await a.ipvm.run(text, { verification: { trusted: [c.signer.did] } }).result
    expect(trustsC.tasks.map((t) => [t.out, t.where, t.receipt.iss])).toEqual([[{ ok: 31 }, 'local', a.signer.did], [{ ok: 32 }, 'local', a.signer.did]])
    expect(a.runs()).toBe(2)
  })
})
