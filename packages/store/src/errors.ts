/**
 * Errors of @ipvm/store. Each has a static `name` and `code` so it compares by name across bundles
 * and threads, and is registered so `deserializeError` rebuilds it.
 */
import { IpvmError, registerError } from '@ipvm/core'

/** The backend cannot be used at all: IndexedDB blocked or missing, LevelDB locked or closed. */
export class StoreUnavailableError extends IpvmError {
  static override readonly name = 'StoreUnavailableError'
  static override readonly code = 'ERR_STORE_UNAVAILABLE'
}

/** The backend refused a write for lack of space (IndexedDB `QuotaExceededError`, disk full). */
export class StoreFullError extends IpvmError {
  static override readonly name = 'StoreFullError'
  static override readonly code = 'ERR_STORE_FULL'
}

/** An entry's `receiptCid` is not the CID of its receipt bytes. */
export class ReceiptCidMismatchError extends IpvmError {
  static override readonly name = 'ReceiptCidMismatchError'
  static override readonly code = 'ERR_RECEIPT_CID_MISMATCH'
}

/** A block's bytes do not hash to the CID they were stored under. */
export class ContentIntegrityError extends IpvmError {
  static override readonly name = 'ContentIntegrityError'
  static override readonly code = 'ERR_CONTENT_INTEGRITY'
}

/** The content is not in the blockstore (or is a directory, not a file). */
export class ContentNotFoundError extends IpvmError {
  static override readonly name = 'ContentNotFoundError'
  static override readonly code = 'ERR_CONTENT_NOT_FOUND'
}

/** The hash function of a CID is not one this package can verify. */
export class UnsupportedHashError extends IpvmError {
  static override readonly name = 'UnsupportedHashError'
  static override readonly code = 'ERR_UNSUPPORTED_HASH'
}

/** The operation needs a platform feature this platform lacks (e.g. LevelDB in a browser). */
export class UnsupportedPlatformError extends IpvmError {
  static override readonly name = 'UnsupportedPlatformError'
  static override readonly code = 'ERR_UNSUPPORTED_PLATFORM'
}

for (const ErrorClass of [StoreUnavailableError, StoreFullError, ReceiptCidMismatchError, ContentIntegrityError,
  ContentNotFoundError, UnsupportedHashError, UnsupportedPlatformError]) {
  registerError(ErrorClass)
}

/**
 * Names the backend failure: quota errors become {@link StoreFullError}, everything else that is
 * not already an IpvmError becomes {@link StoreUnavailableError}. Aborts pass through unchanged.
 */
export function classifyBackendError (err: unknown, operation: string): Error {
  if (err instanceof IpvmError) return err
  const e = err as { name?: unknown, code?: unknown, message?: unknown }
  const name = typeof e?.name === 'string' ? e.name : ''
  const code = typeof e?.code === 'string' ? e.code : ''
  const message = typeof e?.message === 'string' ? e.message : String(err)
  if (name === 'AbortError') return err as Error
  if (name === 'QuotaExceededError' || code === 'ENOSPC' || /quota|no space/i.test(message)) {
    return new StoreFullError(`receipt store is full (${operation}): ${message}`, { operation }, { cause: err })
  }
  return new StoreUnavailableError(`receipt store unavailable (${operation}): ${message}`, { operation, backendError: name || code }, { cause: err })
}
