/**
 * Host imports every component gets by default: `wasi:logging/logging` and Homestar's
 * `homestar:host/helpers` (any version), as Homestar's runtime links them.
 */
import type { HostFunction, WitValue } from './abi.js'

/** Host functions by import name: an interface maps function names to functions; a bare function import is a function. */
export type HostImports = Record<string, HostFunction | Record<string, HostFunction>>

/** One `wasi:logging/logging.log` call. */
export interface LogEntry {
  level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'critical'
  context: string
  message: string
}

export interface HostOptions {
  /** Receives the guest's `wasi:logging` calls (e.g. to emit progress events). Default: ignored. */
  onLog?: (entry: LogEntry) => void
  /** Receives `homestar:host/helpers.print` messages. Default: ignored. */
  onPrint?: (message: string) => void
  /** A monotonic clock in milliseconds; `get-current-time` reports time elapsed since instantiation. */
  now?: () => number
}

/** Builds the default host imports; the clock of `get-current-time` starts now. */
export function defaultHostImports (options: HostOptions = {}): HostImports {
  const now = options.now ?? (() => performance.now())
  const start = now()
  const log: HostFunction = (level, context, message) => {
    options.onLog?.({ level: level as LogEntry['level'], context: context as string, message: message as string })
  }
  const getCurrentTime: HostFunction = (): WitValue => {
    // Whole nanoseconds first, so the three fields always agree (as Rust's Duration accessors do).
    const nanos = Math.round(Math.max(0, now() - start) * 1e6)
    const subsec = nanos % 1e9
    return { seconds: BigInt(Math.floor(nanos / 1e9)), milliseconds: Math.floor(subsec / 1e6), nanoseconds: subsec }
  }
  const print: HostFunction = (message) => { options.onPrint?.(message as string) }
  return {
    'wasi:logging/logging': { log },
    'homestar:host/helpers': { 'get-current-time': getCurrentTime, print }
  }
}

function unversioned (name: string): string {
  return name.replace(/@[^/#]*$/, '')
}

/** Finds the host entry for an import name: exact, else ignoring the version suffix on either side. */
export function findHostImport (imports: HostImports, name: string): HostImports[string] | undefined {
  if (Object.hasOwn(imports, name)) return imports[name]
  const base = unversioned(name)
  if (Object.hasOwn(imports, base)) return imports[base]
  for (const key of Object.keys(imports)) if (unversioned(key) === base) return imports[key]
  return undefined
}

/** Finds a function in an interface's host object by its WIT name or its lowerCamelCase form (jco style). */
export function findHostFunction (iface: Record<string, HostFunction>, name: string): HostFunction | undefined {
  const f = iface[name] ?? iface[name.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase())]
  return typeof f === 'function' ? f : undefined
}
