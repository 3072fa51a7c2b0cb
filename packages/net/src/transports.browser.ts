/**
 * Browser transports: WebRTC (direct between peers after signalling through a circuit relay),
 * WebSockets (to Node nodes and relays), WebTransport, and the circuit-relay transport. With a
 * `relay`, the node reserves a slot on it and listens on `<relay>/p2p-circuit` and `/webrtc`.
 * Selected instead of `transports.ts` by the `browser` field of package.json.
 */
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { webRTC } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { webTransport } from '@libp2p/webtransport'
import { NetworkError } from './errors.js'
import type { PlatformConfig, PlatformOptions } from './platform.js'

/** The platform this build of the package is for. */
export const PLATFORM: 'node' | 'browser' = 'browser'

/** A page listens for WebRTC only (signalled over relayed connections); it has no sockets of its own. */
export const DEFAULT_LISTEN: readonly string[] = ['/webrtc']

export function platformConfig (options: PlatformOptions): PlatformConfig {
  if (options.relayServer === true) throw new NetworkError('a circuit-relay server needs Node: run `ipvm serve` and pass its address as `relay`')
  const listen = [...(options.listen ?? DEFAULT_LISTEN)]
  if (options.webRTC !== false && !listen.includes('/webrtc')) listen.push('/webrtc')
  if (options.relay !== undefined) listen.push(`${options.relay.replace(/\/$/, '')}/p2p-circuit`)
  const transports: PlatformConfig['transports'] = [webSockets(), webTransport(), circuitRelayTransport()]
  if (options.webRTC !== false) transports.push(webRTC({ rtcConfiguration: { iceServers: options.iceServers ?? [] } }))
  return { transports, listen, services: {} }
}
