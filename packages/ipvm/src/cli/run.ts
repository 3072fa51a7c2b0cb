/**
 * `ipvm run <workflow>`: runs a workflow with a progress line on a terminal, then a table of
 * receipts. `--json`: one JSON object per line per event. Exit 0 when every task succeeded, 1 when
 * any failed, 2 for bad input.
 */
import { isOk, toDagJson } from '@ipvm/core'
import type { RunEvent, TaskOutcome } from '../events.js'
import { readWorkflowFile } from './inspect.js'
import { type CliIO, EXIT_FAILED, EXIT_OK, UsageError } from './io.js'
import { type NodeFlags, openNode } from './node.js'

/** An event as plain JSON, values in DAG-JSON form (links `{"/": cid}`, bytes `{"/": {"bytes": …}}`). */
export function eventToJson (event: RunEvent): Record<string, unknown> {
  const out: Record<string, unknown> = { type: event.type }
  for (const [key, value] of Object.entries(event)) {
    if (key === 'type' || key === 'receipt') continue
    if (key === 'out') out.out = JSON.parse(toDagJson(value)) as unknown
    else if (typeof value === 'bigint') out[key] = value.toString()
    else if (value !== null && typeof value === 'object' && 'asCID' in value) out[key] = String(value)
    else out[key] = value
  }
  if ('receiptCid' in event) out.issuer = event.receipt.iss
  return out
}

function ms (value: number): string {
  return value < 1 ? `${value.toFixed(2)} ms` : value < 1000 ? `${value.toFixed(0)} ms` : `${(value / 1000).toFixed(2)} s`
}

function summarizeOut (outcome: TaskOutcome): string {
  if (!isOk(outcome.out)) return `${outcome.error?.name ?? 'error'}: ${outcome.error?.message ?? ''}`
  const value = outcome.out.ok
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`
  const text = toDagJson(value)
  return text.length > 48 ? `${text.slice(0, 45)}...` : text
}

export function resultTable (tasks: TaskOutcome[]): string {
  const rows = [['#', 'function', 'instruction', 'outcome', 'time', 'fuel', 'result']]
  for (const t of tasks) {
    const outcome = t.status === 'failed' ? (t.replayed ? 'failed (replayed)' : 'failed') : t.status
    const fuel = t.receipt.meta.fuel
    rows.push([String(t.index), t.label, t.instruction.toString(), outcome, t.replayed ? '-' : ms(t.durationMs),
      typeof fuel === 'bigint' || typeof fuel === 'number' ? fuel.toLocaleString('en-US') : '-', summarizeOut(t)])
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)))
  return rows.map((r) => r.map((cell, c) => c === r.length - 1 ? cell : cell.padEnd(widths[c]!)).join('  ')).join('\n') + '\n'
}

export async function runCommand (args: { file?: string, json: boolean } & NodeFlags, io: CliIO): Promise<number> {
  if (args.file === undefined) throw new UsageError('run needs a workflow file: ipvm run <workflow.json|workflow.cbor> [--json] [--store DIR]')
  const workflow = await readWorkflowFile(args.file)
  const node = await openNode(args)
  const controller = new AbortController()
  const onSignal = (): void => { controller.abort() }
  process.once('SIGINT', onSignal)
  const tty = io.stderr.isTTY === true && !args.json
  let finished = 0
  try {
    const run = node.run(workflow, { signal: controller.signal })
    for await (const event of run) {
      if (args.json) {
        io.stdout.write(JSON.stringify(eventToJson(event)) + '\n')
      } else if (tty && (event.type === 'task:ran' || event.type === 'task:replayed' || event.type === 'task:failed' || event.type === 'task:started')) {
        if (event.type !== 'task:started') finished++
        const width = 24
        const filled = Math.round(width * finished / workflow.tasks.length)
        io.stderr.write(`\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${finished}/${workflow.tasks.length} ${event.label} ${event.type.slice(5)}\u001b[K`)
      } else if (event.type === 'store:warning') {
        io.stderr.write(`warning: store ${event.operation}: ${event.message}\n`)
      }
    }
    if (tty) io.stderr.write('\r\u001b[K')
    const result = await run.result
    if (!args.json) {
      const ran = result.tasks.filter((t) => t.status === 'ran').length
      const replayed = result.tasks.filter((t) => t.replayed).length
      const failed = result.tasks.filter((t) => t.status === 'failed').length
      io.stdout.write(`workflow  ${result.workflow.toString()}${result.name === undefined ? '' : `  (${result.name})`}\n`)
      io.stdout.write(`status    ${result.status}: ${ran} ran, ${replayed} replayed, ${failed} failed in ${ms(result.durationMs)}\n\n`)
      io.stdout.write(resultTable(result.tasks))
    }
    return result.status === 'completed' ? EXIT_OK : EXIT_FAILED
  } finally {
    process.off('SIGINT', onSignal)
    await node.stop()
  }
}
