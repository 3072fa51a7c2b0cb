/**
 * `ipvm inspect <workflow>`: the workflow CID, each task's instruction CID, its dependencies (in the
 * workflow and external) and its place in the plan. `--json` prints the same as one JSON object.
 */
import { readFile } from 'node:fs/promises'
import { isIpldMap, type ParsedWorkflow, parseWorkflow, planWorkflow, taskCid } from '@ipvm/core'
import type { CliIO } from './io.js'
import { EXIT_OK, UsageError } from './io.js'

/** The `--json` form of `ipvm inspect`. */
export interface InspectReport {
  workflow: string
  name?: string
  tasks: Array<{
    index: number
    instruction: string
    task: string
    op: string
    rsc: string
    func?: string
    label?: string
    /** Indexes of the tasks of this workflow it awaits. */
    awaits: number[]
    /** Awaited instruction CIDs outside this workflow. */
    external: string[]
    batch: number
  }>
  batches: number[][]
}

export async function readWorkflowFile (file: string): Promise<ParsedWorkflow> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(file)
  } catch (err) {
    const code = (err as { code?: string }).code
    throw new UsageError(code === 'ENOENT' ? `${file}: no such file` : `${file}: cannot read (${(err as Error).message})`)
  }
  // .cbor files are DAG-CBOR; anything else is sniffed (JSON text starts with "{").
  return await parseWorkflow(bytes)
}

export async function inspectReport (workflow: ParsedWorkflow): Promise<InspectReport> {
  const plan = planWorkflow(workflow)
  const tasks = await Promise.all(workflow.tasks.map(async (t) => {
    const input = t.task.run.input
    const entry: InspectReport['tasks'][number] = {
      index: t.index,
      instruction: t.instruction.toString(),
      task: (await taskCid(t.task)).toString(),
      op: t.task.run.op,
      rsc: t.task.run.rsc,
      awaits: t.dependencies,
      external: t.external.map(String),
      batch: plan.depth[t.index]!
    }
    if (isIpldMap(input) && typeof input.func === 'string') entry.func = input.func
    if (t.label !== undefined) entry.label = t.label
    return entry
  }))
  const report: InspectReport = { workflow: workflow.cid.toString(), tasks, batches: plan.batches.map((b) => [...b]) }
  if (workflow.name !== undefined) report.name = workflow.name
  return report
}

function table (rows: string[][]): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((r) => r[col]!.length)))
  return rows.map((r) => r.map((cell, col) => col === r.length - 1 ? cell : cell.padEnd(widths[col]!)).join('  ').trimEnd()).join('\n')
}

export function formatReport (report: InspectReport): string {
  const lines = [`workflow  ${report.workflow}${report.name === undefined ? '' : `  (${report.name})`}`,
    `tasks     ${report.tasks.length} in ${report.batches.length} batch${report.batches.length === 1 ? '' : 'es'}`, '']
  const rows = [['#', 'batch', 'function', 'instruction', 'awaits', 'external']]
  for (const t of report.tasks) {
    rows.push([String(t.index), String(t.batch), t.label ?? t.func ?? t.op, t.instruction,
      t.awaits.length === 0 ? '-' : t.awaits.map((i) => `#${i}`).join(','),
      t.external.length === 0 ? '-' : t.external.join(',')])
  }
  lines.push(table(rows), '', `plan      ${report.batches.map((b) => `[${b.map((i) => `#${i}`).join(' ')}]`).join(' → ')}`)
  const external = report.tasks.reduce((n, t) => n + t.external.length, 0)
  if (external > 0) lines.push(`          ${external} await${external === 1 ? '' : 's'} on earlier workflows' receipts (resolved from the store when run)`)
  return lines.join('\n') + '\n'
}

export async function inspectCommand (args: { file?: string, json: boolean }, io: CliIO): Promise<number> {
  if (args.file === undefined) throw new UsageError('inspect needs a workflow file: ipvm inspect <workflow.json|workflow.cbor> [--json]')
  const report = await inspectReport(await readWorkflowFile(args.file))
  io.stdout.write(args.json ? JSON.stringify(report) + '\n' : formatReport(report))
  return EXIT_OK
}
