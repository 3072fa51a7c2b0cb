/**
 * Length-prefixed DAG-CBOR frames over a libp2p 3 message stream, with a size limit on every frame
 * in both directions and libp2p's stream errors mapped to this package's typed errors.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { AbortError, type IpldValue } from '@ipvm/core'
import type { Stream } from '@libp2p/interface'
import { type LengthPrefixedStream, lpStream } from '@libp2p/utils'
import { MalformedMessageError, MessageTooLargeError, NetworkError, RemoteError } from './errors.js'

/** Default largest frame: 8 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 8 * 1024 * 1024

export interface FrameOptions {
  signal?: AbortSignal
}

/** One side of a framed exchange. */
export interface FrameStream {
  /** The next frame, decoded; throws a typed error on a too-large, undecodable or missing frame. */
  read: (options?: FrameOptions) => Promise<IpldValue>
  /** Encodes and sends one frame; throws {@link MessageTooLargeError} before sending an oversized one. */
  write: (value: IpldValue, options?: FrameOptions) => Promise<void>
  readonly stream: Stream
  readonly maxMessageBytes: number
}

const TOO_LARGE = new Set(['InvalidDataLengthError', 'InvalidDataLengthLengthError', 'StreamBufferError'])
const ENDED = new Set(['UnexpectedEOFError', 'StreamResetError', 'StreamStateError', 'StreamClosedError', 'StreamAbortedError', 'ConnectionClosedError'])

/** Maps what libp2p threw while reading or writing to a typed error of this package. */
export function streamError (err: unknown, stream: Stream, what: string, signal?: AbortSignal): Error {
  if (err instanceof NetworkError) return err
  if (signal?.aborted === true) return new AbortError(signal.reason instanceof Error ? signal.reason.message : undefined)
  const name = err instanceof Error ? err.name : ''
  const message = err instanceof Error ? err.message : String(err)
  if (TOO_LARGE.has(name)) return new MessageTooLargeError(`${what}: ${message}`, { protocol: stream.protocol })
  if (name === 'AbortError' || name === 'TimeoutError') return new RemoteError(`${what}: the peer sent nothing in time (${message})`, { protocol: stream.protocol, reason: 'timeout' })
  if (ENDED.has(name) || /closed|reset|abort/i.test(message)) {
    return new RemoteError(`${what}: the peer ended the stream (${message})`, { protocol: stream.protocol, reason: 'closed' })
  }
  return new RemoteError(`${what}: ${message}`, { protocol: stream.protocol, reason: name || 'error' })
}

/** Wraps `stream` for DAG-CBOR frames of at most `maxMessageBytes`. */
export function frameStream (stream: Stream, maxMessageBytes: number): FrameStream {
  const lp: LengthPrefixedStream<Stream> = lpStream(stream, {
    maxDataLength: maxMessageBytes,
    // Room for one full frame plus its length prefix and what the peer pipelines after it.
    maxBufferSize: maxMessageBytes + 64 * 1024
  })
  return {
    stream,
    maxMessageBytes,
    async read (options = {}) {
      let bytes: Uint8Array
      try {
        bytes = (await lp.read(options.signal === undefined ? {} : { signal: options.signal })).subarray()
      } catch (err) {
        throw streamError(err, stream, 'reading a frame', options.signal)
      }
      try {
        return dagCbor.decode<IpldValue>(bytes)
      } catch (err) {
        throw new MalformedMessageError(`a frame is not DAG-CBOR: ${(err as Error).message}`, { protocol: stream.protocol, bytes: bytes.byteLength })
      }
    },
    async write (value, options = {}) {
      let bytes: Uint8Array
      try {
        bytes = dagCbor.encode(value)
      } catch (err) {
        throw new MalformedMessageError(`cannot encode a frame as DAG-CBOR: ${(err as Error).message}`, { protocol: stream.protocol })
      }
      if (bytes.byteLength > maxMessageBytes) {
        throw new MessageTooLargeError(`a frame of ${bytes.byteLength} bytes is larger than the limit of ${maxMessageBytes}`, { protocol: stream.protocol, bytes: bytes.byteLength, limit: maxMessageBytes })
      }
      try {
        await lp.write(bytes, options.signal === undefined ? {} : { signal: options.signal })
      } catch (err) {
        throw streamError(err, stream, 'writing a frame', options.signal)
      }
    }
  }
}

/** Resets a stream, never throwing (it may already be closed). */
export function resetStream (stream: Stream, err: Error): void {
  try {
    stream.abort(err)
  } catch {
    // already closed
  }
}

/** Closes a stream's writable side gracefully, resetting it when that fails or takes too long. */
export async function closeStream (stream: Stream, timeoutMs = 5000): Promise<void> {
  try {
    await stream.close({ signal: AbortSignal.timeout(timeoutMs) })
  } catch (err) {
    resetStream(stream, err instanceof Error ? err : new Error(String(err)))
  }
}
