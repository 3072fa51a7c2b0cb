/**
 * The peer panel: connect this page to a provider (`ipvm serve`) or another open page by multiaddr,
 * list the peers' announced capabilities, hand in UCANs from providers, and issue UCANs to other
 * pages' DIDs. The network (and @ipvm/net with it) is loaded only when the user first connects, so the
 * page stays a fully offline PWA until then. Plain DOM; used by the image pipeline and examples/offload.
 */
import type { Capabilities, IpvmNetwork } from '@ipvm/net'
import { delegate, ipvmCapability, type Signer } from '@ipvm/auth'
import { createBlockstore } from '@ipvm/store'
import type { Ipvm } from 'ipvm'

/** What a page gives the panel: how to rebuild its node on a network, and the node it has now. */
export interface PeerHost {
  /** Recreates the page's ipvm node on `network` (same location, identity and stores); `proofs` is shared with it. */
  attach: (network: IpvmNetwork, proofs: Record<string, string[]>) => Promise<void>
  ipvm: () => Ipvm | undefined
  /** The page's identity (the one that signs its receipts): it issues UCANs to other pages. */
  signer: () => Promise<Signer | undefined>
}

export interface PeerPanel {
  element: HTMLElement
  network: () => IpvmNetwork | undefined
  /** Connects (creating the network on first use); resolves with the peer id dialled. */
  connect: (address: string) => Promise<string>
  /** Adds a UCAN (JWT) from a provider; returns the provider DID it is for (its issuer). */
  addProof: (jwt: string) => string
  /** A short label for a peer id: the DID and affinities it announced, if known. */
  describePeer: (peerId: string) => string
}

/** `did:key:z6Mk…abcd`, `12D3…abcd`. */
export function shortId (id: string): string {
  return id.length > 20 ? `${id.slice(0, id.startsWith('did:') ? 14 : 6)}…${id.slice(-4)}` : id
}

/** The issuer of a UCAN (JWT payload `iss`), or undefined when it does not parse. */
export function ucanIssuer (jwt: string): string | undefined {
  try {
    const payload = jwt.trim().split('.')[1] ?? ''
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(payload.length / 4) * 4, '='))
    const iss = (JSON.parse(json) as { iss?: unknown }).iss
    return typeof iss === 'string' ? iss : undefined
  } catch {
    return undefined
  }
}

function h<K extends keyof HTMLElementTagNameMap> (tag: K, props: Partial<HTMLElementTagNameMap[K]> & { dataset?: Record<string, string> } = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  const { dataset, ...rest } = props
  Object.assign(node, rest)
  if (dataset !== undefined) Object.assign(node.dataset, dataset)
  node.append(...children)
  return node
}

function describeCapabilities (c: Capabilities): string {
  const affinities = Object.entries(c.affinities).map(([k, v]) => v === true ? k : `${k}=${String(v)}`).join(' ')
  return `${affinities === '' ? 'no affinities' : affinities} · ${c.freeWorkers}/${c.workers} workers free`
}

/** Builds the panel (not yet in the document). */
export function createPeerPanel (host: PeerHost, options: { heading?: string } = {}): PeerPanel {
  const proofs: Record<string, string[]> = {}
  let network: IpvmNetwork | undefined
  let creating: Promise<IpvmNetwork> | undefined

  const address = h('input', { id: 'peer-address', type: 'text', placeholder: '/ip4/127.0.0.1/tcp/4011/ws/p2p/12D3Koo…', spellcheck: false, size: 60 })
  address.setAttribute('aria-label', 'multiaddr of a provider or another page')
  // Off by default: with a slot reserved on the provider itself, the provider reached this page over the
  // limited relayed connection and bitswap stalled on blocks above the relay's data limit.
  const asRelay = h('input', { id: 'peer-relay', type: 'checkbox', checked: false })
  const connectButton = h('button', { id: 'peer-connect', type: 'button', className: 'primary' }, 'Connect')
  const status = h('p', { id: 'peer-status', className: 'muted' }, 'not connected: every step runs in this browser')
  status.setAttribute('aria-live', 'polite')
  const me = h('p', { id: 'peer-me', className: 'muted' })
  const list = h('ul', { id: 'peer-list', className: 'peers' })
  const ucan = h('textarea', { id: 'peer-ucan', rows: 2, cols: 60, placeholder: 'paste a UCAN from `ipvm delegate --to <this page\'s DID>`' })
  const addUcan = h('button', { id: 'peer-add-ucan', type: 'button' }, 'Use this UCAN')
  const delegateTo = h('input', { id: 'peer-delegate-to', type: 'text', placeholder: 'did:key:z6Mk… of another page', size: 50 })
  const delegateButton = h('button', { id: 'peer-delegate', type: 'button' }, 'Issue a UCAN')
  const issued = h('textarea', { id: 'peer-issued', rows: 2, cols: 60, readOnly: true, hidden: true })

  const element = h('section', { id: 'peers-section', className: 'peers-panel' },
    h('h2', { id: 'peers-heading' }, options.heading ?? 'Peers'),
    h('p', { className: 'muted' }, 'Connect to a provider (`ipvm serve` prints its addresses) or to another open page (its /p2p-circuit/webrtc address below). Steps marked “on a peer” or needing an affinity this page lacks run there; the DAG shows who ran each step.'),
    h('p', {}, address, ' ', connectButton, ' ', h('label', {}, asRelay, ' also reserve a relay slot on it (so other pages can reach this one)')),
    status,
    me,
    h('h3', {}, 'Connected peers'),
    list,
    h('details', {},
      h('summary', {}, 'Authorization (UCANs)'),
      h('p', {}, ucan, ' ', addUcan),
      h('p', {}, 'Let another page run tasks here: ', delegateTo, ' ', delegateButton),
      issued))
  element.setAttribute('aria-labelledby', 'peers-heading')

  const showMe = (): void => {
    const did = host.ipvm()?.did
    const addrs = network?.multiaddrs().map(String) ?? []
    const webrtc = addrs.filter((a) => a.includes('/p2p-circuit/webrtc'))
    me.replaceChildren(`this page: ${did ?? '…'}`, ...(network === undefined ? [] : [h('br'), `peer ${network.peerId}`]),
      ...webrtc.map((a) => h('code', { className: 'addr', dataset: { addr: a } }, h('br'), a)))
  }

  const renderPeers = (): void => {
    const peers = network?.peers() ?? []
    const connected = new Set(network?.libp2p.getPeers().map(String) ?? [])
    list.replaceChildren(...(peers.length === 0
      ? [h('li', { className: 'muted' }, network === undefined ? 'none' : 'no capabilities announced yet')]
      : peers.map((c) => {
        const via = network?.libp2p.getConnections().filter((x) => x.remotePeer.toString() === c.peerId && x.limits == null).map((x) => x.multiplexer === '/webrtc' ? 'WebRTC' : x.remoteAddr.toString().includes('/ws') ? 'WebSockets' : 'relay') ?? []
        return h('li', { dataset: { did: c.did, peer: c.peerId } },
          h('strong', {}, shortId(c.did)), ` · ${shortId(c.peerId)} · ${describeCapabilities(c)}`,
          ` · ${connected.has(c.peerId) ? `connected (${[...new Set(via)].join(', ') || 'relayed'})` : 'not connected'}`,
          ` · ${proofs[c.did] !== undefined || proofs['*'] !== undefined ? 'authorized' : 'no UCAN yet'}`)
      })))
    showMe()
  }

  async function ensureNetwork (relay: string | undefined): Promise<IpvmNetwork> {
    if (network !== undefined) return network
    creating ??= (async () => {
      status.textContent = 'starting the network…'
      const { createIpvmNetwork } = await import('@ipvm/net')
      // Blocks stay in this page's IndexedDB; Helia + bitswap on top serve them to peers.
      const created = await createIpvmNetwork({ blockstore: await createBlockstore({ location: 'ipvm-peer-panel-blocks' }), ...(relay === undefined ? {} : { relay }) })
      await host.attach(created, proofs)
      created.addEventListener('peer:capabilities', renderPeers)
      created.addEventListener('peer:capabilities:expired', renderPeers)
      created.libp2p.addEventListener('self:peer:update', showMe)
      created.libp2p.addEventListener('connection:close', renderPeers)
      network = created
      return created
    })()
    try {
      return await creating
    } catch (err) {
      creating = undefined
      throw err
    }
  }

  const panel: PeerPanel = {
    element,
    network: () => network,
    connect: async (text) => {
      const target = text.trim()
      const isPage = target.includes('/p2p-circuit')
      const net = await ensureNetwork(asRelay.checked && !isPage && /\/wss?\//.test(target) ? target : undefined)
      status.textContent = `dialling ${shortId(target)}…`
      const { peerId } = await net.dial(target)
      status.textContent = `connected to ${shortId(peerId)}`
      renderPeers()
      return peerId
    },
    addProof: (jwt) => {
      const issuer = ucanIssuer(jwt) ?? '*'
      proofs[issuer] = [...(proofs[issuer] ?? []), jwt.trim()]
      renderPeers()
      return issuer
    },
    describePeer: (peerId) => {
      const c = network?.peers().find((p) => p.peerId === peerId)
      return c === undefined ? shortId(peerId) : `${shortId(peerId)} (${shortId(c.did)})`
    }
  }

  connectButton.addEventListener('click', () => {
    if (address.value.trim() === '') return
    connectButton.disabled = true
    panel.connect(address.value).catch((err: unknown) => {
      status.textContent = `could not connect: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`
    }).finally(() => { connectButton.disabled = false })
  })
  addUcan.addEventListener('click', () => {
    if (ucan.value.trim() === '') return
    const issuer = panel.addProof(ucan.value)
    ucan.value = ''
    status.textContent = `UCAN from ${shortId(issuer)} added: tasks sent to it carry it`
  })
  delegateButton.addEventListener('click', () => {
    void (async () => {
      const signer = await host.signer()
      if (signer === undefined) { status.textContent = 'this page has no identity to delegate from'; return }
      const { jwt } = await delegate({ issuer: signer, audience: delegateTo.value.trim(), capabilities: [ipvmCapability(signer.did, 'wasm/run')], lifetime: 3600 })
      issued.value = jwt
      issued.hidden = false
    })().catch((err: unknown) => { status.textContent = `could not issue a UCAN: ${String(err)}` })
  })
  setInterval(renderPeers, 5_000)
  renderPeers()
  return panel
}
