/**
 * Delegation between two real nodes on loopback (TCP): A has no GPU, B says it has one; the middle
 * task of A's workflow needs a GPU, so it runs on B — authorized by B's UCAN, the module fetched by B
 * from A over bitswap — and comes back signed by B, verified and stored by A; a rerun replays it.
 */
import { delegate, generateIdentity, ipvmCapability, type Signer } from '@ipvm/auth'
import { awaitOk, taskToIpld, toDagJson, wasmTask } from '@ipvm/core'
import { createIpvmNetwork, type IpvmNetwork } from '@ipvm/net'
import { MemoryBlockstore } from '@ipvm/store'
import { afterEach, describe, expect, it } from 'vitest'
import { componentBytes } from '../../../examples/functions/dist/index.js'
import { createIpvm, type Ipvm, type ProviderEvent, type RunEvent } from '../src/index.js'
import { until } from './network-nodes.js'

interface Node { ipvm: Ipvm, network: IpvmNetwork, signer: Signer }
const nodes: Node[] = []
afterEach(async () => {
  for (const node of nodes.splice(0)) {
    await node.ipvm.stop()
    await node.network.stop()
  }
})

async function node (init: Partial<Parameters<typeof createIpvm>[0]> = {}): Promise<Node> {
  const signer = await generateIdentity()
  const network = await createIpvmNetwork({ blockstore: new MemoryBlockstore(), listen: ['/ip4/127.0.0.1/tcp/0'], webRTC: false })
  const ipvm = await createIpvm({ memory: true, poolSize: 1, signer, network, ...init })
  const created = { ipvm, network, signer }
  nodes.push(created)
  return created
}

describe('delegation over libp2p (Node ↔ Node, TCP)', () => {
  it('runs the GPU task on the peer that has one, verifies and stores its receipt, replays it later', async () => {
    const providerEvents: ProviderEvent[] = []
    const b = await node({ remote: { affinities: { gpu: true } }, onProviderEvent: (e) => providerEvents.push(e) })
    const aSigner = await generateIdentity()
    const ucan = await delegate({ issuer: b.signer, audience: aSigner.did, capabilities: [ipvmCapability(b.signer.did, 'wasm/run')], lifetime: 600 })
    const a = await node({ signer: aSigner, remote: { proofs: { [b.signer.did]: [ucan.jwt] } } })
    await a.network.dial(b.network.multiaddrs()[0]!)
    await until(() => a.network.peers().some((p) => p.did === b.signer.did), "B's capabilities at A")

    const rsc = `ipfs://${(await a.ipvm.add(componentBytes())).toString()}` // only A holds the module
    const first = await wasmTask({ rsc, func: 'add-one', args: [1] })
    const onGpu = await wasmTask({ rsc, func: 'add-one', args: [awaitOk(first)], meta: { affinity: { gpu: true } } })
    const last = await wasmTask({ rsc, func: 'add-one', args: [awaitOk(onGpu)] })
    const workflow = toDagJson({ tasks: [first, onGpu, last].map((t) => taskToIpld(t.task)) })

    const events: RunEvent[] = []
    const result = await a.ipvm.run(workflow, { onProgress: (e) => events.push(e) }).result
    expect(result.status).toBe('completed')
    expect(result.tasks.map((t) => t.out)).toEqual([{ ok: 2 }, { ok: 3 }, { ok: 4 }])
    expect(result.tasks.map((t) => t.where)).toEqual(['local', 'peer', 'local'])
    expect(result.tasks[1]!.peer).toBe(b.network.peerId)
    expect(result.tasks[1]!.receipt.iss).toBe(b.signer.did)
    expect(result.tasks[0]!.receipt.iss).toBe(aSigner.did)
    expect(events.find((e) => e.type === 'task:started' && e.index === 1)).toMatchObject({ where: 'peer', peer: b.network.peerId })
    expect(providerEvents).toEqual([expect.objectContaining({ type: 'invoke:ran', ok: true, replayed: false })])
    // stored by A: the rerun replays every task, the delegated one included
    const again = await a.ipvm.run(workflow).result
    expect(again.tasks.map((t) => t.replayed)).toEqual([true, true, true])
    expect(again.tasks[1]!.receiptCid.toString()).toBe(result.tasks[1]!.receiptCid.toString())
  })

  it('UCANs added after creation are presented to the provider (addProofs)', async () => {
    const b = await node({ remote: { affinities: { gpu: true } } })
    const aSigner = await generateIdentity()
    const a = await node({ signer: aSigner })
    await a.network.dial(b.network.multiaddrs()[0]!)
    await until(() => a.network.peers().some((p) => p.did === b.signer.did), 'capabilities')
    const ucan = await delegate({ issuer: b.signer, audience: aSigner.did, capabilities: [ipvmCapability(b.signer.did, 'wasm/run')], lifetime: 600 })
    a.ipvm.addProofs(b.signer.did, [ucan.jwt])
    const rsc = `ipfs://${(await a.ipvm.add(componentBytes())).toString()}`
    const task = await wasmTask({ rsc, func: 'add-one', args: [5], meta: { affinity: { gpu: true } } })
    const result = await a.ipvm.run(toDagJson({ tasks: [taskToIpld(task.task)] })).result
    expect(result.tasks[0]).toMatchObject({ where: 'peer', out: { ok: 6 } })
  })

  it("the delegation's fuel caveat bounds the delegated task even when the task states no fuel", async () => {
    const b = await node({ remote: { affinities: { gpu: true } } })
    const aSigner = await generateIdentity()
    const ucan = await delegate({ issuer: b.signer, audience: aSigner.did, capabilities: [ipvmCapability(b.signer.did, 'wasm/run')], caveats: { fuel: 3 }, lifetime: 600 })
    const a = await node({ signer: aSigner, remote: { proofs: { [b.signer.did]: [ucan.jwt] } } })
    await a.network.dial(b.network.multiaddrs()[0]!)
    await until(() => a.network.peers().some((p) => p.did === b.signer.did), 'capabilities')
    const rsc = `ipfs://${(await a.ipvm.add(componentBytes())).toString()}`
    const task = await wasmTask({ rsc, func: 'add-one', args: [1], meta: { affinity: { gpu: true } } })
    const result = await a.ipvm.run(toDagJson({ tasks: [taskToIpld(task.task)] })).result
    expect(result.tasks[0]!.where).toBe('peer')
    expect(result.tasks[0]!.error).toMatchObject({ name: 'OutOfFuelError' })
    expect(result.tasks[0]!.receipt.iss).toBe(b.signer.did)
  })

  it('a provider refuses an invocation without a delegation; a required affinity then fails with the typed reason', async () => {
    const providerEvents: ProviderEvent[] = []
    const b = await node({ remote: { affinities: { gpu: true } }, onProviderEvent: (e) => providerEvents.push(e) })
    const a = await node()
    await a.network.dial(b.network.multiaddrs()[0]!)
    await until(() => a.network.peers().length > 0, 'capabilities')
    const rsc = `ipfs://${(await a.ipvm.add(componentBytes())).toString()}`
    const gpuTask = await wasmTask({ rsc, func: 'add-one', args: [1], meta: { affinity: { gpu: true } } })
    const result = await a.ipvm.run(toDagJson({ tasks: [taskToIpld(gpuTask.task)] })).result
    expect(result.status).toBe('failed')
    expect(result.tasks[0]!.error).toMatchObject({ name: 'RemoteExecutionError' })
    expect(result.tasks[0]!.error!.message).toMatch(/Error/)
    expect(providerEvents[0]).toMatchObject({ type: 'invoke:refused' })
    // and with no peer offering the affinity at all
    const none = await a.ipvm.run(toDagJson({ tasks: [taskToIpld((await wasmTask({ rsc, func: 'add-one', args: [2], meta: { affinity: { tpu: true } } })).task)] })).result
    expect(none.tasks[0]!.error).toMatchObject({ name: 'NoProviderError' })
  })
})
