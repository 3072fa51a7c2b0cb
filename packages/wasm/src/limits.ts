/**
 * Resource limits of one task run, and how they are read from Homestar task metadata
 * (`meta: {fuel, memory, time}`). Absent means unlimited.
 */
import { InvalidLimitError } from './errors.js'

/** Limits of one run. Every field absent means "unlimited". */
export interface Limits {
  /** Fuel budget: roughly the number of Wasm instructions executed (wasmtime's default costs). */
  fuel?: bigint
  /** Cap on each linear memory, in bytes (rounded down to whole 64 KiB pages). */
  memoryBytes?: number
  /** Wall-clock budget in milliseconds (enforced by the worker pool, not here). */
  timeMs?: number
}

/**
 * Homestar's default fuel is `u64::MAX`; in JSON it reads back as the double 18446744073709552000
 * (= 2^64). Any budget at or above u64::MAX means unlimited.
 */
const U64_MAX = (1n << 64n) - 1n

function integer (meta: Record<string, unknown>, key: string): bigint | undefined {
  const value = meta[key]
  if (value === undefined || value === null) return undefined
  if (typeof value === 'bigint') {
    if (value < 0n) throw new InvalidLimitError(`meta.${key} must not be negative, got ${value}`, { key, value })
    return value
  }
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0) {
      throw new InvalidLimitError(`meta.${key} must be a non-negative integer, got ${value}`, { key, value })
    }
    // A double above 2^53 is already rounded: BigInt() keeps the value it denotes, which is what
    // the JSON writer meant within the precision it had.
    return BigInt(value)
  }
  throw new InvalidLimitError(`meta.${key} must be an integer, got ${typeof value}`, { key })
}

/**
 * Reads `fuel`, `memory` (bytes) and `time` (milliseconds) from a task's `meta`. Unknown keys are
 * ignored; a fuel of u64::MAX or more (Homestar's default) means unlimited.
 * @throws InvalidLimitError when a limit is present but not a non-negative integer.
 */
export function limitsFromMeta (meta: unknown): Limits {
  const limits: Limits = {}
  if (meta === undefined || meta === null) return limits
  if (typeof meta !== 'object' || Array.isArray(meta) || meta instanceof Uint8Array) {
    throw new InvalidLimitError('task meta must be a map', { got: Array.isArray(meta) ? 'list' : typeof meta })
  }
  const record = meta as Record<string, unknown>
  const fuel = integer(record, 'fuel')
  if (fuel !== undefined && fuel < U64_MAX) limits.fuel = fuel
  const memory = integer(record, 'memory')
  if (memory !== undefined) limits.memoryBytes = memory > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(memory)
  const time = integer(record, 'time')
  if (time !== undefined) limits.timeMs = time > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(time)
  return limits
}
