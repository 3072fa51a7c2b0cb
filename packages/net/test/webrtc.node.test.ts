import { networkInterfaces } from 'node:os'
import { cidOf, generateNonce } from '@ipvm/core'
import { createAuth, generateIdentity } from '@ipvm/auth'
import { afterEach, describe, expect, it } from 'vitest'
import { addInvocation, Nodes, waitFor, wsAddress } from './helpers.js'

const nodes = new Nodes()
afterEach(async () => { await nodes.stopAll() })

// What a browser page does (reserve on a relay, be dialled over WebRTC), with two Node peers: the
// relay only signals; the protocol then runs on a direct WebRTC connection. No STUN: loopback only.
// node-datachannel (libdatachannel) gathers no loopback ICE candidates, so two Node peers cannot
// connect over WebRTC inside a loopback-only network namespace (where CI runs the tests). Chromium
// can (with --allow-loopback-in-peer-connection): the browser tests in test/e2e cover WebRTC there.
const onlyLoopback = Object.values(networkInterfaces()).flat().every((i) => i === undefined || i.internal)

describe.skipIf(onlyLoopback)('WebRTC through a circuit relay (Node peers)', () => {
  it('a peer reserved on a relay is reached over a direct WebRTC connection', async () => {
    const relay = await nodes.create({ relayServer: true, listen: ['/ip4/127.0.0.1/tcp/0/ws'] })
    const a = await nodes.create({ listen: [], relay: wsAddress(relay) })
    const b = await nodes.create({ listen: [] })
    const webrtc = await waitFor(() => a.multiaddrs().map(String).find((m) => m.includes('/p2p-circuit/webrtc/')), 15_000, 'a /p2p-circuit/webrtc address')
    expect(webrtc).toContain(`/p2p/${relay.peerId}/p2p-circuit/webrtc/p2p/${a.peerId}`)
    const auth = createAuth({ signer: await generateIdentity() })
    const instruction = await cidOf({ nonce: generateNonce() })
    const receipt = await auth.signReceipt({ ran: await cidOf(addInvocation(1, 1)), out: { ok: 2 }, fx: { fork: [] }, meta: {}, prf: [] })
    a.handleReceipts(async () => [{ instruction, receipt }])
    const got = await b.fetchReceipts(webrtc, [instruction], { signal: AbortSignal.timeout(20_000) })
    expect(got).toHaveLength(1)
    const direct = b.libp2p.getConnections().find((c) => c.remotePeer.toString() === a.peerId && c.remoteAddr.toString().includes('/webrtc') && c.limits === undefined)
    expect(direct, b.libp2p.getConnections().map((c) => `${c.remoteAddr.toString()} limits=${JSON.stringify(c.limits)}`).join('\n')).toBeDefined()
  })
})
