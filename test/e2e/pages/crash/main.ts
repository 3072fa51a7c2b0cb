/**
 * Crash page: on every load, opens the same IndexedDB-backed node and runs the same workflow.
 * `window.ipvmRun` records each task's final event, so a test can reload mid-run and compare.
 */
import { awaitOk, type BuiltTask, taskToIpld, toDagJson, wasmTask } from '@ipvm/core'
import { createIpvm, type RunEvent } from 'ipvm'
import { componentBytes } from '../../../../examples/functions/dist/index.js'
import { storedPng } from '../../../../packages/ipvm/test/png.js'

interface RunRecord { ran: string[], replayed: string[], failed: string[], status?: string, error?: string }
declare global { interface Window { ipvmRun: RunRecord } }

const record: RunRecord = { ran: [], replayed: [], failed: [] }
window.ipvmRun = record
const log = document.querySelector('#log')!

try {
  const ipvm = await createIpvm({ location: 'ipvm-crash-test', poolSize: 2 })
  const rsc = `ipfs://${(await ipvm.add(componentBytes())).toString()}`
  const image = await ipvm.add(storedPng(256, 256, (x, y) => [(x * 3) & 255, (y * 5) & 255, (x * y) & 255]))
  // ?round=N gives every round its own instructions (a nonce), so each round starts from nothing
  const nnc = new URLSearchParams(location.search).get('round') ?? ''
  const tasks: BuiltTask[] = []
  for (let i = 0; i < 6; i++) tasks.push(await wasmTask({ rsc, func: 'blur', args: [image, 1 + i / 2], nnc }))
  let previous = await wasmTask({ rsc, func: 'crop', args: [image, 0, 0, 200, 160], nnc })
  tasks.push(previous)
  for (const func of ['rotate90', 'grayscale', 'rotate90']) {
    previous = await wasmTask({ rsc, func, args: [awaitOk(previous)], nnc })
    tasks.push(previous)
  }
  const run = ipvm.run(toDagJson({ tasks: tasks.map((t) => taskToIpld(t.task)) }))
  for await (const event of run as AsyncIterable<RunEvent>) {
    if (event.type === 'task:ran') record.ran.push(event.instruction.toString())
    if (event.type === 'task:replayed') record.replayed.push(event.instruction.toString())
    if (event.type === 'task:failed') record.failed.push(event.instruction.toString())
    if (event.type === 'workflow:finished') record.status = event.status
    log.textContent += `${event.type}${'label' in event ? ` ${event.label}` : ''}\n`
  }
} catch (err) {
  record.error = String(err)
  log.textContent += `error: ${String(err)}\n`
}
