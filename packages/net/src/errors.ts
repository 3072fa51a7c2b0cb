/**
 * Typed network errors. Each has a stable static `name` and `code` and is registered with
 * `@ipvm/core`'s `deserializeError`, so a refusal sent over `/ipvm/invoke` arrives as the same class.
 */
import { IpvmError, registerError } from '@ipvm/core'

/** Base class of every error of `@ipvm/net`. */
export class NetworkError extends IpvmError {
  static override readonly name: string = 'NetworkError'
  static override readonly code: string = 'ERR_NETWORK'
}

/** A length-prefixed frame is larger than `maxMessageBytes` (either side refuses it; the stream is reset). */
export class MessageTooLargeError extends NetworkError {
  static override readonly name = 'MessageTooLargeError'
  static override readonly code = 'ERR_MESSAGE_TOO_LARGE'
}

/** A frame is not DAG-CBOR, or not the message the protocol expects at that point. */
export class MalformedMessageError extends NetworkError {
  static override readonly name = 'MalformedMessageError'
  static override readonly code = 'ERR_MALFORMED_MESSAGE'
}

/** The peer could not be dialled (no address, refused, timed out). */
export class PeerUnreachableError extends NetworkError {
  static override readonly name = 'PeerUnreachableError'
  static override readonly code = 'ERR_PEER_UNREACHABLE'
}

/** The peer is reachable but does not speak the protocol (e.g. it is not an ipvm provider). */
export class ProtocolNotSupportedError extends NetworkError {
  static override readonly name = 'ProtocolNotSupportedError'
  static override readonly code = 'ERR_PROTOCOL_NOT_SUPPORTED'
}

/**
 * The peer ended the exchange without an answer: it reset or closed the stream, went away mid-task,
 * or sent nothing within the time allowed. (A typed refusal the peer *sends* arrives as its own class
 * — `CaveatExceededError`, `ReplayError`, … — with `details.remotePeer` set.)
 */
export class RemoteError extends NetworkError {
  static override readonly name = 'RemoteError'
  static override readonly code = 'ERR_REMOTE'
}

/** The network is not started (or was stopped). */
export class NetworkNotStartedError extends NetworkError {
  static override readonly name = 'NetworkNotStartedError'
  static override readonly code = 'ERR_NETWORK_NOT_STARTED'
}

/** Every error class of this package, registered with `deserializeError`. */
export const NET_ERRORS = [
  NetworkError, MessageTooLargeError, MalformedMessageError, PeerUnreachableError, ProtocolNotSupportedError,
  RemoteError, NetworkNotStartedError
] as const

for (const ErrorClass of NET_ERRORS) registerError(ErrorClass)
