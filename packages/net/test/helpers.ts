/** Test parts: real libp2p nodes on 127.0.0.1, real identities, real signed invocations and receipts. */
import { generateIdentity, type Signer, signInvocation, type SignedInvocation } from '@ipvm/auth'
import type { Invocation } from '@ipvm/core'
import { MemoryBlockstore } from '@ipvm/store'
import { type CreateIpvmNetworkOptions, createIpvmNetwork, type IpvmNetwork } from '../src/index.js'

/** Networks created by a test; `stopAll()` in `afterEach`. */
export class Nodes {
  readonly all: IpvmNetwork[] = []

  async create (options: Partial<CreateIpvmNetworkOptions> = {}): Promise<IpvmNetwork & { local: MemoryBlockstore }> {
    const local = new MemoryBlockstore()
    const network = await createIpvmNetwork({ blockstore: local, ...options })
    this.all.push(network)
    return Object.assign(network, { local })
  }

  async stopAll (): Promise<void> {
    await Promise.all(this.all.splice(0).map(async (n) => { await n.stop() }))
  }
}

/** The TCP address of a node (loopback). */
export function tcpAddress (network: IpvmNetwork): string {
  const address = network.multiaddrs().find((a) => a.toString().includes('/tcp/') && !a.toString().includes('/ws'))
  if (address === undefined) throw new Error(`no TCP address among ${network.multiaddrs().join(', ')}`)
  return address.toString()
}

export function wsAddress (network: IpvmNetwork): string {
  const address = network.multiaddrs().find((a) => a.toString().includes('/ws/'))
  if (address === undefined) throw new Error(`no WebSockets address among ${network.multiaddrs().join(', ')}`)
  return address.toString()
}

export function addInvocation (a: number, b: number): Invocation {
  return {
    task: {
      run: { rsc: 'ipfs://bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku', op: 'wasm/run', input: { func: 'add', args: [a, b] }, nnc: '' },
      cause: null,
      meta: {},
      prf: []
    }
  }
}

/** An invoker and an executor, and an invocation the invoker signed for the executor (the executor's own key, so no proofs). */
export async function signedPair (): Promise<{ executor: Signer, invoker: Signer, signed: SignedInvocation }> {
  const executor = await generateIdentity()
  // The executor invoking itself needs no delegation: the chain is rooted at the audience.
  const signed = await signInvocation(addInvocation(1, 2), executor, { audience: executor.did })
  return { executor, invoker: executor, signed }
}

export async function waitFor<T> (check: () => T | undefined | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const start = Date.now()
  for (;;) {
    const value = check()
    if (value !== undefined && value !== false) return value
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}
