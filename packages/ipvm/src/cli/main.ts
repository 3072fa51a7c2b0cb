/** The `ipvm` command line: argument parsing and the mapping of errors to one line and an exit code. */
import { parseArgs } from 'node:util'
import { IpvmError } from '@ipvm/core'
import { inspectCommand } from './inspect.js'
import { type CliIO, EXIT_BAD_INPUT, EXIT_FAILED, UsageError } from './io.js'

const USAGE = `usage: ipvm <command> [options]

commands:
  inspect <workflow>   show a workflow's CID, each task's instruction CID, dependencies and plan
                       (--json: one JSON object)

options:
  --json               machine-readable output
  -h, --help           this help
`

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. */
export async function main (argv: string[], io: CliIO): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false }
      }
    })
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
