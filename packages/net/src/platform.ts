/** What the per-platform transport modules take and give (shared types only: no platform code here). */
import type { Libp2pOptions } from 'libp2p'

export interface PlatformOptions {
  listen?: string[]
  relay?: string
  relayServer?: boolean
  maxRelayReservations?: number
  webRTC?: boolean
  iceServers?: RTCIceServer[]
}

export interface PlatformConfig {
  transports: NonNullable<Libp2pOptions['transports']>
  listen: string[]
  services: Record<string, NonNullable<Libp2pOptions['services']>[string]>
}
