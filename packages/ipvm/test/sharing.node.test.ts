/**
 * Receipt sharing between real nodes on loopback (TCP): a network hit avoids an execution under
 * `{ trusted }`; `'own'` ignores peers' receipts; with `{ confirmations: 2, referee: true }` a single
 * liar is caught (the node runs the task as referee, keeps the honest receipt, and the liar's
 * reputation drops and persists across a reopen); reverse lookup finds a peer's receipts.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { signReceipt } from '@ipvm/auth'
import { awaitOk, invocationCid, receiptCid, taskToIpld, toDagJson, wasmTask } from '@ipvm/core'
import { createBlockstore } from '@ipvm/store'
import { afterEach, describe, expect, it } from 'vitest'
import { componentBytes } from '../../../examples/functions/dist/index.js'
import { Reputation } from '../src/index.js'
import { connect, receiptMeshPeers, type TestNode, TestNodes, until } from './network-nodes.js'

const nodes = new TestNodes()
const dirs: string[] = []
afterEach(async () => {
  await nodes.stopAll()
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

const node = async (init: Parameters<TestNodes['create']>[0] = {}): Promise<TestNode> => await nodes.create(init)

async function workflow (a: TestNode, args: number[] = [1]): Promise<{ text: string, first: Awaited<ReturnType<typeof wasmTask>> }> {
  const rsc = `ipfs://${(await a.ipvm.add(componentBytes())).toString()}`
  const first = await wasmTask({ rsc, func: 'add-one', args })
  const second = await wasmTask({ rsc, func: 'add-one', args: [awaitOk(first)] })
  return { text: toDagJson({ tasks: [first, second].map((t) => taskToIpld(t.task)) }), first }
}

describe('receipt sharing (Node ↔ Node, TCP)', () => {
  it('a network hit avoids an execution under { trusted }', async () => {
    const b = await node()
    const a = await node({ verification: { trusted: [b.signer.did] } })
    await connect(a, b)
    const { text, first } = await workflow(b)
    await a.ipvm.add(componentBytes())
    const ran = await b.ipvm.run(text).result
    expect(ran.tasks.map((t) => t.out)).toEqual([{ ok: 2 }, { ok: 3 }])
    const hits: unknown[] = []
    a.ipvm.sharing!.addEventListener('receipt:network-hit', (e) => hits.push(e))
    const result = await a.ipvm.run(text).result
    expect(result.tasks.map((t) => t.out)).toEqual([{ ok: 2 }, { ok: 3 }])
    expect(result.tasks.map((t) => t.where)).toEqual(['peer', 'peer'])
    expect(result.tasks.map((t) => t.receipt.iss)).toEqual([b.signer.did, b.signer.did])
    expect(a.runs()).toBe(0)
    expect(hits).toHaveLength(2)
    // stored: the next run replays from the local store
    const again = await a.ipvm.run(text).result
    expect(again.tasks.map((t) => t.where)).toEqual(['memory', 'memory'])
    // stored with its arguments: a local reverse lookup finds what was computed from the first task
    const computed = await a.ipvm.computedFrom(first.instruction, { network: false })
    expect(computed.map((c) => c.receiptCid.toString())).toEqual([ran.tasks[1]!.receiptCid.toString()])
  })

  it("'own' ignores peers' receipts (even trusted ones) and runs the task", async () => {
    const b = await node()
    const a = await node({ verification: 'own', trusted: [b.signer.did] })
    await connect(a, b)
    const { text } = await workflow(b)
    await a.ipvm.add(componentBytes())
    await b.ipvm.run(text).result
    const result = await a.ipvm.run(text).result
    expect(result.tasks.map((t) => t.where)).toEqual(['local', 'local'])
    expect(result.tasks.map((t) => t.receipt.iss)).toEqual([a.signer.did, a.signer.did])
    expect(a.runs()).toBe(2)
    // per run too: a node trusting B still ignores B's receipts in a run that says 'own'
    const c = await node({ verification: { trusted: [b.signer.did] } })
    await connect(c, b)
    await c.ipvm.add(componentBytes())
    const own = await c.ipvm.run(text, { verification: 'own' }).result
    expect(own.tasks.map((t) => t.where)).toEqual(['local', 'local'])
  })

  it('a single liar is caught (N = 2, referee): the honest result is kept, the liar loses reputation, and it persists', async () => {
    const honest = await node()
    const liar = await node({ lie: true })
    const dir = await mkdtemp(join(tmpdir(), 'ipvm-sharing-'))
    dirs.push(dir)
    const a = await node({ location: dir, verification: { confirmations: 2, referee: true }, sharing: { askPeers: 4 } })
    await connect(a, honest)
    await connect(a, liar)
    const { text } = await workflow(honest)
    await liar.ipvm.add(componentBytes())
    await a.ipvm.add(componentBytes())
    expect((await honest.ipvm.run(text).result).tasks.map((t) => t.out)).toEqual([{ ok: 2 }, { ok: 3 }])
    expect((await liar.ipvm.run(text).result).tasks.map((t) => t.out)).toEqual([{ ok: 1002 }, { ok: 2003 }])
    const liars: Array<{ did: string }> = []
    a.ipvm.sharing!.addEventListener('peer:liar', (e) => liars.push((e as CustomEvent<{ did: string }>).detail))
    const result = await a.ipvm.run(text).result
    expect(result.tasks.map((t) => t.out)).toEqual([{ ok: 2 }, { ok: 3 }])
    expect(result.tasks[0]!.where).toBe('local')
    expect(liars.map((l) => l.did)).toContain(liar.signer.did)
    expect(a.ipvm.sharing!.stats.liars).toBeGreaterThanOrEqual(1)
    await nodes.stop(a)
    // the reputation survives a reopen (LevelDB under the node's location)
    const store = await createBlockstore({ location: join(dir, 'reputation') })
    const reputation = new Reputation({ blockstore: store })
    await reputation.load()
    expect(reputation.isBad(liar.signer.did)).toBe(true)
    expect(reputation.score(honest.signer.did)).toBeGreaterThan(0)
    await store.close()
  })

  it('a receipt gossiped with a signature that does not verify is dropped before use, counted, and not relayed', async () => {
    const forger = await node()
    const b = await node({ verification: { confirmations: 1 } })
    const c = await node({ verification: { confirmations: 1 } })
    await connect(b, forger)
    await connect(c, b)
    await until(() => receiptMeshPeers(forger) > 0 && receiptMeshPeers(b) > 1 && receiptMeshPeers(c) > 0, 'gossipsub meshes')
    const { text, first } = await workflow(b, [5])
    await c.ipvm.add(componentBytes())
    // Signed for { ok: 6 }, then altered to { ok: 999 }: the CID matches the bytes, the signature does not.
    const honest = await signReceipt({ ran: await invocationCid({ task: first.task }), out: { ok: 6 }, fx: { fork: [] }, meta: {}, iss: forger.signer.did, prf: [] }, forger.signer)
    const forged = { ...honest, out: { ok: 999 } }
    await forger.network.announceReceipt(first.instruction, await receiptCid(forged), { receipt: forged })
    await until(() => b.network.announcementStats().invalid === 1, 'the forged announcement refused')
    expect(b.ipvm.sharing!.stats.rejected).toBe(1)
    const result = await b.ipvm.run(text).result
    expect(result.tasks.map((t) => t.out)).toEqual([{ ok: 6 }, { ok: 7 }])
    expect(b.runs()).toBe(2)
    // C never saw it (B did not relay it), and then got B's honest receipts inline.
    expect(c.network.announcementStats().invalid).toBe(0)
    await until(() => c.network.announcementStats().accepted >= 2, "B's receipts at C")
    const atC = await c.ipvm.run(text).result
    expect(atC.tasks.map((t) => [t.out, t.where])).toEqual([[{ ok: 6 }, 'peer'], [{ ok: 7 }, 'peer']])
    expect(c.runs()).toBe(0)
  })

  it('a node that joins late gets receipts it never heard announced from a peer that holds them from gossip', async () => {
    const b = await node()
    const a = await node({ verification: { confirmations: 1 } })
    await connect(a, b)
    await until(() => receiptMeshPeers(a) > 0 && receiptMeshPeers(b) > 0, 'gossipsub meshes')
    const { text } = await workflow(b, [20])
    await b.ipvm.run(text).result
    await until(() => a.network.announcementStats().accepted >= 2, "B's announcements at A")
    // A ran nothing and stored nothing: it only holds B's checked receipts. C joins now, next to A only.
    const c = await node({ verification: { confirmations: 1 } })
    await c.ipvm.add(componentBytes())
    await connect(c, a)
    const result = await c.ipvm.run(text).result
    expect(result.tasks.map((t) => [t.out, t.where, t.receipt.iss])).toEqual([[{ ok: 21 }, 'peer', b.signer.did], [{ ok: 22 }, 'peer', b.signer.did]])
    expect(c.runs()).toBe(0)
    expect(a.runs()).toBe(0)
  })

  it('a lie about an instruction this node ran itself is caught on arrival, without a referee run', async () => {
    const a = await node({ verification: { confirmations: 2, referee: true } })
    const liar = await node({ lie: true, verification: 'own' })
    await connect(a, liar)
    await until(() => receiptMeshPeers(a) > 0 && receiptMeshPeers(liar) > 0, 'gossipsub meshes')
    const { text } = await workflow(a, [30])
    await liar.ipvm.add(componentBytes())
    expect((await a.ipvm.run(text).result).tasks.map((t) => t.out)).toEqual([{ ok: 31 }, { ok: 32 }])
    const caught: string[] = []
    a.ipvm.sharing!.addEventListener('peer:liar', (e) => caught.push((e as CustomEvent<{ did: string }>).detail.did))
    expect((await liar.ipvm.run(text).result).tasks.map((t) => t.out)).toEqual([{ ok: 1031 }, { ok: 2032 }])
    await until(() => caught.length > 0, "the liar's announcement judged")
    // one proven lie is enough: its second announcement is already ignored
    expect(caught).toEqual([liar.signer.did])
    expect(a.runs()).toBe(2) // nothing re-run to find out
    expect(a.network.announcementStats().invalid).toBe(0) // a signed lie is not a forgery: dropped quietly, relayer not penalized
  })

  it('a node with nobody to ask does not wait for the lookup deadline', async () => {
    // A deadline far beyond the test's own timeout (20 s): a lookup that waited for it would fail the test.
    const alone = await node({ verification: { confirmations: 1 }, sharing: { defaultDeadlineMs: 120_000 } })
    const { text } = await workflow(alone, [50])
    const result = await alone.ipvm.run(text).result
    expect(result.tasks.map((t) => [t.out, t.where])).toEqual([[{ ok: 51 }, 'local'], [{ ok: 52 }, 'local']])
    expect(alone.ipvm.sharing!.stats.lookups).toBe(2)
  }, 20_000)

  it("reverse lookup finds a peer's receipts computed from a CID", async () => {
    const b = await node()
    const a = await node({ verification: { trusted: [b.signer.did] } })
    await connect(a, b)
    const { text, first } = await workflow(b, [41])
    const ran = await b.ipvm.run(text).result
    expect(await a.ipvm.computedFrom(first.instruction, { network: false })).toEqual([])
    const found = await a.ipvm.computedFrom(first.instruction, { signal: AbortSignal.timeout(5000) })
    expect(found).toHaveLength(1)
    expect(found[0]).toMatchObject({ from: b.network.peerId })
    expect(found[0]!.receipt.out).toEqual({ ok: 43 })
    expect(found[0]!.receiptCid.toString()).toBe(ran.tasks[1]!.receiptCid.toString())
    expect((await b.ipvm.computedFrom(first.instruction, { network: false }))[0]!.from).toBe('local')
  })
})
