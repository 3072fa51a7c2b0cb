/**
 * Peer page for the delegation end-to-end tests: one ipvm node on a browser libp2p network (WebRTC,
 * circuit relay, WebSockets). `?relay=<multiaddr>` is the relay to reserve a slot on;
 * `?affinity=gpu=1,region=eu` are the affinities this page declares (none by default).
 * `window.ipvmPeer` is what the tests call; everything it returns is plain data (structured-clonable).
 */
import { delegate, generateIdentity, ipvmCapability } from '@ipvm/auth'
import { createIpvmNetwork } from '@ipvm/net'
import { MemoryBlockstore } from '@ipvm/store'
import { createIpvm, type IpldValue, type ProviderEvent, type RunEvent, toDagJson } from 'ipvm'
import { componentBytes } from '../../../../examples/functions/dist/index.js'

export interface PeerTaskResult {
  label: string
  status: string
  /** The task's result (`{ok}` / `{error}`) as DAG-JSON. */
  out: string
  where: string
  peer?: string
  /** The receipt's issuer: the DID that signed it. */
  iss?: string
  replayed: boolean
  receiptCid: string
  error?: string
}

export interface PeerRunResult {
  status: string
  tasks: PeerTaskResult[]
  /** `task:started` events: where each task was sent. */
  started: Array<{ index: number, where: string, peer?: string }>
}

/**
 * One open connection. `webrtc`: a direct WebRTC connection (its multiplexer is the data channels,
 * `/webrtc`); `limited`: a relayed connection with circuit-relay limits (only signalling goes there).
 */
export interface PeerConnection { peer: string, remoteAddr: string, multiplexer?: string, encryption?: string, webrtc: boolean, limited: boolean }

export interface IpvmPeer {
  did: string
  peerId: string
  /** This page's addresses; waits (up to `timeoutMs`) for a `/p2p-circuit/webrtc` one when a relay is set. */
  addresses: (timeoutMs?: number) => Promise<string[]>
  /** A UCAN letting `did` run `wasm/run` here (issued by this page's identity). */
  delegateTo: (did: string, lifetimeSeconds?: number) => Promise<string>
  /** Adds UCANs to present to providers, by provider DID. */
  setProofs: (proofs: Record<string, string[]>) => void
  dial: (address: string) => Promise<string>
  /** Waits until `did`'s capabilities arrived over gossipsub; returns them as DAG-JSON. */
  waitForPeer: (did: string, timeoutMs?: number) => Promise<string>
  connections: () => PeerConnection[]
  /** The guest module (`examples/functions`), added to this node: its `ipfs://` URI. */
  moduleRsc: () => Promise<string>
  runWorkflow: (json: string) => Promise<PeerRunResult>
  providerEvents: ProviderEvent[]
}

declare global { interface Window { ipvmPeer?: IpvmPeer, ipvmPeerError?: string } }

const params = new URLSearchParams(location.search)
const log = document.querySelector('#log')!
const say = (line: string): void => { log.textContent += `${line}\n` }

function parseAffinities (text: string | null): Record<string, IpldValue> {
  const out: Record<string, IpldValue> = {}
  for (const pair of (text ?? '').split(',').filter((p) => p !== '')) {
    const [key, value = 'true'] = pair.split('=')
    out[key!] = value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : value
  }
  return out
}

async function until<T> (probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function start (): Promise<IpvmPeer> {
  const relay = params.get('relay') ?? undefined
  const affinities = parseAffinities(params.get('affinity'))
  const signer = await generateIdentity()
  const network = await createIpvmNetwork({ blockstore: new MemoryBlockstore(), ...(relay === undefined ? {} : { relay }) })
  // The runtime reads `remote.proofs` when it signs each invocation: this object is shared with it,
  // so proofs handed in later are seen (there is no setter on the runtime yet).
  const proofs: Record<string, string[]> = {}
  const providerEvents: ProviderEvent[] = []
  const ipvm = await createIpvm({
    location: `ipvm-peer-${crypto.randomUUID()}`,
    memory: true,
    poolSize: 1,
    signer,
    network,
    remote: { affinities, proofs },
    onProviderEvent: (e) => { providerEvents.push(e); say(`provider: ${e.type}`) }
  })
  let rsc: string | undefined
  say(`did ${signer.did}\npeer ${network.peerId}\naffinities ${JSON.stringify(affinities)}`)

  return {
    did: signer.did,
    peerId: network.peerId,
    providerEvents,
    addresses: async (timeoutMs = 15_000) => {
      const all = (): string[] => network.multiaddrs().map((m) => m.toString())
      if (relay !== undefined) await until(() => all().some((a) => a.includes('/p2p-circuit/webrtc')) ? true : undefined, timeoutMs, 'a /p2p-circuit/webrtc address')
      return all()
    },
    delegateTo: async (did, lifetime = 600) => {
      const ucan = await delegate({ issuer: signer, audience: did, capabilities: [ipvmCapability(signer.did, 'wasm/run')], lifetime })
      return ucan.jwt
    },
    setProofs: (more) => {
      for (const [did, jwts] of Object.entries(more)) proofs[did] = [...(proofs[did] ?? []), ...jwts]
    },
    dial: async (address) => {
      const { peerId } = await network.dial(address)
      say(`dialled ${address}`)
      return peerId
    },
    waitForPeer: async (did, timeoutMs = 15_000) => {
      const caps = await until(() => network.peers().find((p) => p.did === did), timeoutMs, `capabilities of ${did}`)
      return toDagJson(caps)
    },
    connections: () => network.libp2p.getConnections().map((c) => {
      const remoteAddr = c.remoteAddr.toString()
      return {
        peer: c.remotePeer.toString(),
        remoteAddr,
        ...(c.multiplexer === undefined ? {} : { multiplexer: c.multiplexer }),
        ...(c.encryption === undefined ? {} : { encryption: c.encryption }),
        webrtc: c.multiplexer === '/webrtc' && remoteAddr.includes('/webrtc'),
        limited: c.limits != null
      }
    }),
    moduleRsc: async () => {
      rsc ??= `ipfs://${(await ipvm.add(componentBytes())).toString()}`
      return rsc
    },
    runWorkflow: async (json) => {
      const started: PeerRunResult['started'] = []
      const run = ipvm.run(json, {
        onProgress: (e: RunEvent) => {
          if (e.type === 'task:started') started.push({ index: e.index, where: e.where, ...(e.peer === undefined ? {} : { peer: e.peer }) })
        }
      })
      const result = await run.result
      say(`run ${result.status}: ${result.tasks.map((t) => `${t.label}@${t.where}${t.replayed ? ' (replayed)' : ''}`).join(', ')}`)
      return {
        status: result.status,
        started,
        tasks: result.tasks.map((t) => ({
          label: t.label,
          status: t.status,
          out: toDagJson(t.out),
          where: t.where,
          ...(t.peer === undefined ? {} : { peer: t.peer }),
          ...(typeof t.receipt.iss === 'string' ? { iss: t.receipt.iss } : {}),
          replayed: t.replayed,
          receiptCid: t.receiptCid.toString(),
          ...(t.error === undefined ? {} : { error: `${t.error.name}: ${t.error.message}` })
        }))
      }
    }
  }
}

try {
  window.ipvmPeer = await start()
} catch (err) {
  window.ipvmPeerError = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err)
  say(`error: ${window.ipvmPeerError}`)
}
