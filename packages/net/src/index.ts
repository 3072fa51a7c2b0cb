/**
 * @ipvm/net — IPVM networking: a libp2p node per platform (browsers: WebRTC, WebSockets,
 * WebTransport, circuit relay; Node: TCP, WebSockets, WebRTC, circuit-relay server), Helia with
 * bitswap on it for content, the `/ipvm/invoke/1.0.0` and `/ipvm/receipts/1.0.0` protocols, and
 * capability and receipt announcements over gossipsub.
 */
export * from './interface.js'
export * from './errors.js'
export { createIpvmNetwork, type PeerTarget } from './network.js'
export { DEFAULT_MAX_MESSAGE_BYTES } from './frames.js'
export {
  INVOKE_PROTOCOL, RECEIPTS_PROTOCOL, CAPABILITIES_TOPIC, RECEIPTS_TOPIC, MAX_RECEIPTS_PER_REQUEST, MAX_AWAITED,
  MAX_PROGRESS_FRAMES, MAX_CAPABILITIES_BYTES
} from './messages.js'
export { PLATFORM, DEFAULT_LISTEN } from './transports.js'
export {
  DHT_PROTOCOL, decodeReceiptRecord, encodeReceiptRecord, instructionOfKey, MAX_RECORD_BYTES, RECEIPT_RECORD_NAMESPACE,
  type ReceiptRecord, receiptRecordKey, selectReceiptRecord, validateReceiptRecord
} from './records.js'
