/**
 * Test parts for receipt sharing between real nodes on loopback (TCP): nodes with a counting (and,
 * for a liar, lying) executor, connecting them, waiting for gossipsub meshes.
 */
import { generateIdentity, type Signer } from '@ipvm/auth'
import { createIpvmNetwork, type IpvmNetwork } from '@ipvm/net'
import { MemoryBlockstore } from '@ipvm/store'
import { createWasmExecutor } from '@ipvm/wasm'
import { createIpvm, type Ipvm, type WasmExecutor } from '../src/index.js'

export interface TestNode { ipvm: Ipvm, network: IpvmNetwork, signer: Signer, runs: () => number }

/** An executor that counts runs and, for a liar, adds 1000 to numeric results (still signed by the liar). */
export function countingExecutor (lie = false): { executor: WasmExecutor, runs: () => number } {
  const inner = createWasmExecutor({ size: 1 })
  let runs = 0
  return {
    runs: () => runs,
    executor: {
      concurrency: inner.concurrency,
      start: async () => { await inner.start?.() },
      stop: async () => { await inner.stop?.() },
      run: async (request, options) => {
        runs++
        const result = await inner.run(request, options)
        return lie && typeof result.value === 'number' ? { ...result, value: result.value + 1000 } : result
      }
    }
  }
}

/** The nodes a test created (`stopAll()` in `afterEach`). */
export class TestNodes {
  private readonly all: TestNode[] = []

  /** A node on a fresh TCP network, in memory unless `init` says otherwise; `lie` makes its executor lie. */
  async create (init: Partial<Parameters<typeof createIpvm>[0]> & { lie?: boolean } = {}): Promise<TestNode> {
    const { lie, ...options } = init
    const signer = options.signer === undefined || options.signer === false ? await generateIdentity() : options.signer
    const network = await createIpvmNetwork({ blockstore: new MemoryBlockstore(), listen: ['/ip4/127.0.0.1/tcp/0'], webRTC: false })
    const { executor, runs } = countingExecutor(lie === true)
    const ipvm = await createIpvm({ memory: options.location === undefined, executor, remote: { mode: 'local' }, ...options, signer, network })
    const created = { ipvm, network, signer, runs }
    this.all.push(created)
    return created
  }

  async stop (node: TestNode): Promise<void> {
    this.all.splice(this.all.indexOf(node), 1)
    await node.ipvm.stop()
    await node.network.stop()
  }

  async stopAll (): Promise<void> {
    for (const node of this.all.splice(0)) {
      await node.ipvm.stop()
      await node.network.stop()
    }
  }
}

export async function connect (a: TestNode, b: TestNode): Promise<void> {
  await a.network.dial(b.network.multiaddrs()[0]!)
}

/** Peers in a node's gossipsub mesh for receipt announcements. */
export function receiptMeshPeers (node: TestNode): number {
  return (node.network.libp2p.services as unknown as { pubsub: { getMeshPeers: (t: string) => unknown[] } }).pubsub.getMeshPeers('ipvm/receipts/1.0.0').length
}

/** Polls `predicate` every 50 ms for up to 10 s. */
export async function until (predicate: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (predicate()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`timed out waiting for ${what}`)
}
