/**
 * `ipvm delegate --to <did> --can wasm/run [--fuel N] [--memory BYTES] [--module CID ...] [--expires 1h|ISO]`:
 * prints a UCAN (JWT) by which this node (the identity `ipvm serve` signs receipts with) delegates
 * its compute to `<did>`, attenuated by caveats. `--json`: `{ucan, issuer, audience, expires}`.
 */
import { delegate, type Caveats, ipvmCapability, loadOrCreateIdentity } from '@ipvm/auth'
import { defaultDataDir } from '@ipvm/store'
import { type CliIO, EXIT_OK, UsageError } from './io.js'

/** Abilities a provider can delegate, widest last. */
export const DELEGABLE_ABILITIES = ['wasm/run', 'wasm/*', 'ipvm/*', '*'] as const

export interface DelegateArgs {
  to?: string
  can?: string
  fuel?: string
  memory?: string
  modules?: string[]
  expires?: string
  store?: string
  json: boolean
  /** Clock (tests). */
  now?: () => number
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }

/** `1h`, `30m`, `7d`, `90s`, `2w`, or an ISO 8601 date: the expiry in seconds since the epoch. */
export function parseExpiry (text: string, now: number): number {
  const relative = /^(\d+(?:\.\d+)?)\s*([smhdw])$/.exec(text.trim())
  if (relative !== null) {
    const seconds = Math.round(Number(relative[1]) * UNITS[relative[2]!]!)
    if (seconds <= 0) throw new UsageError(`--expires must be in the future, got ${text}`)
    return Math.floor(now / 1000) + seconds
  }
  const at = Date.parse(text)
  if (Number.isNaN(at)) throw new UsageError(`--expires must be a duration (30m, 1h, 7d) or an ISO date, got ${text}`)
  if (at <= now) throw new UsageError(`--expires is in the past: ${text}`)
  return Math.floor(at / 1000)
}

function positiveInteger (flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  const value = Number(text.replace(/_/g, ''))
  if (!Number.isSafeInteger(value) || value <= 0) throw new UsageError(`${flag} must be a positive integer, got ${text}`)
  return value
}

export async function delegateCommand (args: DelegateArgs, io: CliIO): Promise<number> {
  if (args.to === undefined) throw new UsageError('delegate needs --to <did>: ipvm delegate --to did:key:z6Mk... --can wasm/run [--fuel N] [--memory BYTES] [--module CID ...] [--expires 1h]')
  const can = args.can ?? 'wasm/run'
  if (!(DELEGABLE_ABILITIES as readonly string[]).includes(can)) throw new UsageError(`--can must be one of ${DELEGABLE_ABILITIES.join(', ')}, got ${can}`)
  const now = (args.now ?? Date.now)()
  const expiration = parseExpiry(args.expires ?? '1h', now)
  const caveats: Caveats = {}
  const fuel = positiveInteger('--fuel', args.fuel)
  const memory = positiveInteger('--memory', args.memory)
  if (fuel !== undefined) caveats.fuel = fuel
  if (memory !== undefined) caveats.memory = memory
  if (args.modules !== undefined && args.modules.length > 0) caveats.modules = args.modules.map((m) => m.startsWith('ipfs://') ? m.slice('ipfs://'.length) : m)
  const base = args.store ?? defaultDataDir()
  const issuer = await loadOrCreateIdentity({ location: base.endsWith('/') ? `${base}keys` : `${base}/keys` })
  const delegation = await delegate({
    issuer,
    audience: args.to,
    capabilities: [ipvmCapability(issuer.did, can)],
    caveats,
    expiration,
    now: () => now
  })
  if (args.json) {
    io.stdout.write(JSON.stringify({
      ucan: delegation.jwt,
      issuer: delegation.issuer,
      audience: delegation.audience,
      expires: new Date(delegation.expiration * 1000).toISOString(),
      can,
      caveats: delegation.caveats
    }) + '\n')
  } else {
    io.stdout.write(`${delegation.jwt}\n`)
    if (io.stderr.isTTY === true) {
      io.stderr.write(`delegated ${can} on ipvm:${issuer.did} to ${delegation.audience} until ${new Date(delegation.expiration * 1000).toISOString()}\n`)
    }
  }
  return EXIT_OK
}
