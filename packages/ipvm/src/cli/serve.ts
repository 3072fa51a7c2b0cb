/**
 * `ipvm serve`: a provider. Opens the node's store and identity, starts a libp2p network (TCP and
 * WebSockets on loopback unless `--listen` says otherwise, a circuit-relay server unless
 * `--no-relay-server`), prints its multiaddrs and DID, announces its capabilities, runs the tasks
 * peers delegate to it (each invocation verified against a UCAN chain rooted at this node or a
 * `--trust`ed DID), serves receipts, and shows live counters until SIGINT / SIGTERM.
 * `--json`: one JSON object per line per event.
 */
import type { IpldValue } from '@ipvm/core'
import { createIpvmNetwork, type IpvmNetwork } from '@ipvm/net'
import { type ClosableBlockstore, createBlockstore, defaultDataDir } from '@ipvm/store'
import { createIpvm } from '../create.js'
import type { ProviderEvent } from '../provider.js'
import type { Ipvm } from '../runtime.js'
import { type CliIO, EXIT_OK, UsageError } from './io.js'

export interface ServeArgs {
  store?: string
  poolSize?: number
  /** Multiaddrs to listen on (default: TCP and WebSockets on 127.0.0.1, random ports). */
  listen?: string[]
  /** Run a circuit-relay server (default true). */
  relayServer?: boolean
  /** `key=value` affinities this provider declares (`gpu=true`, `region=eu`, `vram=24`). */
  affinities?: string[]
  /** DIDs whose delegations this provider honours besides its own. */
  trusted?: string[]
  json: boolean
  /** Stops the provider (in-process use, tests); otherwise SIGINT / SIGTERM do. */
  signal?: AbortSignal
}

/** What `ipvm serve` counts. */
export interface ServeCounters {
  ran: number
  failed: number
  replayed: number
  refused: number
  receiptsServed: number
}

/** `gpu=true` → `{gpu: true}`; a bare key means true; numbers and booleans are typed. */
export function parseAffinities (pairs: string[]): Record<string, IpldValue> {
  const out: Record<string, IpldValue> = {}
  for (const pair of pairs) {
    const at = pair.indexOf('=')
    const key = (at === -1 ? pair : pair.slice(0, at)).trim()
    if (key === '' || !/^[\w.-]+$/.test(key)) throw new UsageError(`--affinity must be key=value (e.g. gpu=true), got ${pair}`)
    const text = at === -1 ? 'true' : pair.slice(at + 1).trim()
    let value: IpldValue = text
    if (text === 'true' || text === 'false') value = text === 'true'
    else if (text !== '' && Number.isFinite(Number(text))) value = Number(text)
    out[key] = value
  }
  return out
}

function place (base: string, part: string): string {
  return base.endsWith('/') ? `${base}${part}` : `${base}/${part}`
}

/** Resolves when `signal` aborts or the process gets SIGINT / SIGTERM. */
function stopRequested (signal: AbortSignal | undefined): { promise: Promise<string>, dispose: () => void } {
  let dispose = (): void => {}
  const promise = new Promise<string>((resolve) => {
    const onSignal = (name: string) => (): void => { resolve(name) }
    const onInt = onSignal('SIGINT')
    const onTerm = onSignal('SIGTERM')
    const onAbort = (): void => { resolve('abort') }
    process.once('SIGINT', onInt)
    process.once('SIGTERM', onTerm)
    signal?.addEventListener('abort', onAbort, { once: true })
    if (signal?.aborted === true) resolve('abort')
    dispose = () => {
      process.off('SIGINT', onInt)
      process.off('SIGTERM', onTerm)
      signal?.removeEventListener('abort', onAbort)
    }
  })
  return { promise, dispose }
}

export async function serveCommand (args: ServeArgs, io: CliIO): Promise<number> {
  const affinities = parseAffinities(args.affinities ?? [])
  const trusted = args.trusted ?? []
  for (const did of trusted) if (!did.startsWith('did:key:z')) throw new UsageError(`--trust needs a did:key DID, got ${did}`)
  const base = args.store ?? defaultDataDir()
  const counters: ServeCounters = { ran: 0, failed: 0, replayed: 0, refused: 0, receiptsServed: 0 }
  const tty = io.stderr.isTTY === true && !args.json
  const stop = stopRequested(args.signal)
  let blockstore: ClosableBlockstore | undefined
  let network: IpvmNetwork | undefined
  let ipvm: Ipvm | undefined
  const status = (): void => {
    if (!tty) return
    const peers = network?.libp2p.getPeers().length ?? 0
    io.stderr.write(`\rtasks run ${counters.ran} (${counters.failed} failed, ${counters.replayed} replayed)  refused ${counters.refused}  receipts served ${counters.receiptsServed}  peers ${peers}\u001b[K`)
  }
  const emit = (event: Record<string, unknown>, line: string): void => {
    if (args.json) io.stdout.write(JSON.stringify({ ...event, counters }) + '\n')
    else if (tty) status()
    else io.stdout.write(`${line}\n`)
  }
  const onProviderEvent = (event: ProviderEvent): void => {
    if (event.type === 'invoke:refused') {
      counters.refused++
      emit(event, `refused  ${event.peer}: ${event.error.name}: ${event.error.message.split('\n')[0]}`)
    } else {
      if (event.replayed) counters.replayed++
      else counters.ran++
      if (!event.ok) counters.failed++
      emit(event, `${event.replayed ? 'replayed' : 'ran'}  ${event.instruction} for ${event.peer}${event.ok ? '' : ' (failed)'}`)
    }
  }
  try {
    blockstore = await createBlockstore({ location: place(base, 'blocks') })
    network = await createIpvmNetwork({
      blockstore,
      ...(args.listen === undefined || args.listen.length === 0 ? {} : { listen: args.listen }),
      relayServer: args.relayServer !== false
    })
    // Content comes from the network's blockstore: modules and inputs the invoker holds arrive over bitswap.
    ipvm = await createIpvm({
      location: base,
      network,
      trusted,
      remote: { affinities },
      serve: true,
      onProviderEvent,
      onReceiptsServed: (asked, found) => {
        counters.receiptsServed += found
        emit({ type: 'receipts:served', asked, found }, `served  ${found}/${asked} receipts`)
      },
      ...(args.poolSize === undefined ? {} : { poolSize: args.poolSize })
    })
    const multiaddrs = network.multiaddrs().map(String)
    if (args.json) {
      io.stdout.write(JSON.stringify({ type: 'serve:ready', did: ipvm.did, peerId: network.peerId, multiaddrs, relayServer: args.relayServer !== false, trusted, affinities }) + '\n')
    } else {
      io.stdout.write(`did         ${ipvm.did ?? '-'}\n`)
      io.stdout.write(`peer id     ${network.peerId}\n`)
      io.stdout.write(`listening   ${multiaddrs.join('\n            ')}\n`)
      io.stdout.write(`relay       ${args.relayServer !== false ? 'on (circuit relay v2 server)' : 'off'}\n`)
      if (trusted.length > 0) io.stdout.write(`trusting    ${trusted.join('\n            ')}\n`)
      if (Object.keys(affinities).length > 0) io.stdout.write(`affinities  ${Object.entries(affinities).map(([k, v]) => `${k}=${String(v)}`).join(' ')}\n`)
      io.stdout.write(`store       ${base}\n`)
      io.stdout.write('delegate with: ipvm delegate --to <did> --can wasm/run --expires 1h' + (args.store === undefined ? '' : ` --store ${args.store}`) + '\n')
    }
    status()
    const onPeer = (): void => { status() }
    network.libp2p.addEventListener('peer:connect', onPeer)
    network.libp2p.addEventListener('peer:disconnect', onPeer)
    const reason = await stop.promise
    network.libp2p.removeEventListener('peer:connect', onPeer)
    network.libp2p.removeEventListener('peer:disconnect', onPeer)
    if (tty) io.stderr.write('\n')
    if (args.json) io.stdout.write(JSON.stringify({ type: 'serve:stopped', reason, counters }) + '\n')
    else io.stdout.write(`stopped (${reason}): ${counters.ran} tasks run, ${counters.refused} refused, ${counters.receiptsServed} receipts served\n`)
    return EXIT_OK
  } finally {
    stop.dispose()
    await ipvm?.stop().catch(() => {})
    await network?.stop().catch(() => {})
    await blockstore?.close().catch(() => {})
  }
}
