/**
 * Runs one task inside a pool worker: a fresh instance per task (so fuel is reproducible), metered
 * and capped as the job says. Byte outputs are transferred back, not copied.
 */
import { type IpldValue, isIpldMap } from '@ipvm/core'
import { runCoreExport } from '../core-module.js'
import type { JobContext } from '../pool/protocol.js'
import type { TaskJob, TaskJobResult } from './protocol.js'
import { runComponentTask } from './component-task.js'

function collectBuffers (value: IpldValue, out: Set<ArrayBuffer>): void {
  if (value instanceof Uint8Array) {
    // only buffers the value owns entirely: a view into a larger buffer would detach its neighbours
    if (value.byteOffset === 0 && value.byteLength === value.buffer.byteLength && value.buffer instanceof ArrayBuffer) out.add(value.buffer)
  } else if (Array.isArray(value)) {
    for (const v of value) collectBuffers(v, out)
  } else if (isIpldMap(value)) {
    for (const v of Object.values(value)) collectBuffers(v, out)
  }
}

export async function run (job: TaskJob, context: JobContext): Promise<TaskJobResult> {
  const started = performance.now()
  let result: TaskJobResult
  if (job.kind === 'core') {
    const limits = { ...(job.fuel === undefined ? {} : { fuel: job.fuel }), ...(job.memoryBytes === undefined ? {} : { memoryBytes: job.memoryBytes }) }
    const out = await runCoreExport(job.module, job.info, job.func, job.args, limits)
    result = out.fuelUsed === undefined ? { value: out.value, logs: [] } : { value: out.value, fuelUsed: out.fuelUsed, logs: [] }
  } else {
    result = await runComponentTask(job)
  }
  result.runMs = performance.now() - started
  const buffers = new Set<ArrayBuffer>()
  collectBuffers(result.value, buffers)
  if (buffers.size > 0) context.transfer(...buffers)
  return result
}
