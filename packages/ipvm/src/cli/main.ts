/** The `ipvm` command line: argument parsing and the mapping of errors to one line and an exit code. */
import { parseArgs } from 'node:util'
import { IpvmError } from '@ipvm/core'
import { addCommand } from './add.js'
import { delegateCommand } from './delegate.js'
import { inspectCommand } from './inspect.js'
import { type CliIO, EXIT_BAD_INPUT, EXIT_FAILED, UsageError } from './io.js'
import { runCommand } from './run.js'
import { serveCommand } from './serve.js'

const USAGE = `usage: ipvm <command> [options]

commands:
  add <file...>        store files (modules, images); prints each one's ipfs:// URI
                       (the CID "ipfs add --cid-version 1" gives)
  run <workflow>       run a workflow (JSON or DAG-CBOR); replays what already has a receipt
                       exit 0: every task succeeded, 1: a task failed, 2: bad input
  inspect <workflow>   show a workflow's CID, each task's instruction CID, dependencies and plan
  serve                run a provider: print its multiaddrs and DID, run tasks peers delegate to it
                       (UCAN-checked), serve receipts; live counters until Ctrl-C
                       [--listen MA ...] [--no-relay-server] [--affinity gpu=true ...] [--trust DID ...]
  delegate             print a UCAN by which this node lets --to <did> use its compute
                       --to DID [--can wasm/run] [--fuel N] [--memory BYTES] [--module CID ...]
                       [--expires 1h|7d|ISO-date]

options:
  --store DIR          where receipts, blocks and the node's key live
                       (default: $IPVM_HOME or the user data directory)
  --pool N             worker threads (default: the number of cores, at most 8)
  --json               machine-readable output (run, serve: one JSON object per line per event)
  -h, --help           this help
`

function nodeFlags (values: { store?: string | undefined, pool?: string | undefined }): { store?: string, poolSize?: number } {
  const flags: { store?: string, poolSize?: number } = {}
  if (values.store !== undefined) flags.store = values.store
  if (values.pool !== undefined) {
    const size = Number(values.pool)
    if (!Number.isInteger(size) || size < 1) throw new UsageError(`--pool must be a positive integer, got ${values.pool}`)
    flags.poolSize = size
  }
  return flags
}

function parseCliArgs (argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      store: { type: 'string' },
      pool: { type: 'string' },
      listen: { type: 'string', multiple: true },
      'relay-server': { type: 'boolean' },
      'no-relay-server': { type: 'boolean' },
      affinity: { type: 'string', multiple: true },
      trust: { type: 'string', multiple: true },
      to: { type: 'string' },
      can: { type: 'string' },
      fuel: { type: 'string' },
      memory: { type: 'string' },
      module: { type: 'string', multiple: true },
      expires: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
}

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main (argv: string[], io: CliIO): Promise<number> {
  let parsed: ReturnType<typeof parseCliArgs>
  try {
    parsed = parseCliArgs(argv)
  } catch (err) {
    io.stderr.write(`ipvm: ${(err as Error).message}\n`)
    return EXIT_BAD_INPUT
  }
  const [command, ...rest] = parsed.positionals
  if (parsed.values.help === true || command === undefined) {
    ;(command === undefined && parsed.values.help !== true ? io.stderr : io.stdout).write(USAGE)
    return parsed.values.help === true ? 0 : EXIT_BAD_INPUT
  }
  try {
    switch (command) {
      case 'inspect':
        return await inspectCommand({ file: rest[0], json: parsed.values.json === true }, io)
      case 'add':
        return await addCommand({ files: rest, json: parsed.values.json === true, ...nodeFlags(parsed.values) }, io)
      case 'run':
        return await runCommand({ file: rest[0], json: parsed.values.json === true, ...nodeFlags(parsed.values) }, io)
      case 'serve': {
        const v = parsed.values
        return await serveCommand({
          json: v.json === true,
          ...nodeFlags(v),
          relayServer: v['no-relay-server'] !== true,
          ...(v.listen === undefined ? {} : { listen: v.listen }),
          ...(v.affinity === undefined ? {} : { affinities: v.affinity }),
          ...(v.trust === undefined ? {} : { trusted: v.trust })
        }, io)
      }
      case 'delegate': {
        const v = parsed.values
        return await delegateCommand({
          json: v.json === true,
          ...(v.store === undefined ? {} : { store: v.store }),
          ...(v.to === undefined ? {} : { to: v.to }),
          ...(v.can === undefined ? {} : { can: v.can }),
          ...(v.fuel === undefined ? {} : { fuel: v.fuel }),
          ...(v.memory === undefined ? {} : { memory: v.memory }),
          ...(v.module === undefined ? {} : { modules: v.module }),
          ...(v.expires === undefined ? {} : { expires: v.expires })
        }, io)
      }
      default:
        throw new UsageError(`unknown command "${command}" (try ipvm --help)`)
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof IpvmError) {
      // One line naming the problem; typed errors keep their name for scripts that grep.
      const prefix = err instanceof UsageError ? '' : `${err.name}: `
      io.stderr.write(`ipvm: ${prefix}${err.message.split('\n')[0]}\n`)
      return EXIT_BAD_INPUT
    }
    io.stderr.write(`ipvm: unexpected error: ${(err as Error).stack ?? String(err)}\n`)
    return EXIT_FAILED
  }
}
