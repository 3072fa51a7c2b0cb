/**
 * Node transports: TCP and WebSockets listeners, WebRTC (for browsers that reach this node through a
 * circuit relay), the circuit-relay transport, and optionally a circuit-relay server. Selected
 * instead of `transports.browser.ts` by the `browser` field of package.json.
 */
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { tcp } from '@libp2p/tcp'
import { webRTC } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { NetworkError } from './errors.js'
import type { PlatformConfig, PlatformOptions } from './platform.js'

/** The platform this build of the package is for. */
export const PLATFORM: 'node' | 'browser' = 'node'

/** Loopback only: a node is reachable from elsewhere only when `listen` says so. */
export const DEFAULT_LISTEN: readonly string[] = ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws']

export function platformConfig (options: PlatformOptions): PlatformConfig {
  const listen = [...(options.listen ?? DEFAULT_LISTEN)]
  // Accept WebRTC connections signalled over a relayed connection (a browser upgrading to a direct link).
  if (options.webRTC !== false && !listen.includes('/webrtc')) listen.push('/webrtc')
  if (options.relay !== undefined) listen.push(`${options.relay.replace(/\/$/, '')}/p2p-circuit`)
  const transports: PlatformConfig['transports'] = [tcp(), webSockets(), circuitRelayTransport()]
  if (options.webRTC !== false) transports.push(webRTC({ rtcConfiguration: { iceServers: options.iceServers ?? [] } }))
  const services: PlatformConfig['services'] = {}
  if (options.relayServer === true) {
    services.relay = circuitRelayServer({ reservations: { maxReservations: options.maxRelayReservations ?? 128 } })
  } else if (options.relayServer !== undefined && options.relayServer !== false) {
    throw new NetworkError('relayServer must be a boolean')
  }
  return { transports, listen, services }
}
