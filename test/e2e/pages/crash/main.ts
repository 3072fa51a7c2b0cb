/**
 * Crash page: on every load, opens the same IndexedDB-backed node and runs the same workflow.
 * `window.ipvmRun` records each task's final event, so a test can reload mid-run and compare.
 */
import { awaitOk, type BuiltTask, taskToIpld, toDagJson, wasmTask } from '@ipvm/core'
import { createIpvm, type RunEvent } from 'ipvm'
import { componentBytes } from '../../../../examples/functions/dist/index.js'

interface RunRecord { ran: string[], replayed: string[], failed: string[], status?: string, error?: string }
declare global { interface Window { ipvmRun: RunRecord } }

const record: RunRecord = { ran: [], replayed: [], failed: [] }
window.ipvmRun = record
const log = document.querySelector('#log')!

/** A 256×256 RGB PNG with stored deflate blocks, made in the page (deterministic). */
function png (width: number, height: number): Uint8Array {
  const table = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0 })
  const crc = (bytes: number[]): number => { let c = ~0; for (const b of bytes) c = table[(c ^ b) & 0xff]! ^ (c >>> 8); return ~c >>> 0 }
  const u32 = (n: number): number[] => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]
  const chunk = (type: string, data: number[]): number[] => { const body = [...type].map((c) => c.charCodeAt(0)).concat(data); return [...u32(data.length), ...body, ...u32(crc(body))] }
  const raw: number[] = []
  for (let y = 0; y < height; y++) { raw.push(0); for (let x = 0; x < width; x++) raw.push((x * 3) & 255, (y * 5) & 255, (x * y) & 255) }
  const z: number[] = [0x78, 0x01]
  for (let i = 0; i < raw.length; i += 65535) {
    const block = raw.slice(i, i + 65535)
    z.push(i + 65535 >= raw.length ? 1 : 0, block.length & 255, block.length >>> 8, ~block.length & 255, (~block.length >>> 8) & 255, ...block)
  }
  let a = 1; let b = 0
  for (const v of raw) { a = (a + v) % 65521; b = (b + a) % 65521 }
  z.push(...u32(((b << 16) | a) >>> 0))
  return Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...chunk('IHDR', [...u32(width), ...u32(height), 8, 2, 0, 0, 0]), ...chunk('IDAT', z), ...chunk('IEND', [])])
}

try {
  const ipvm = await createIpvm({ location: 'ipvm-crash-test', poolSize: 2 })
  const rsc = `ipfs://${(await ipvm.add(componentBytes())).toString()}`
  const image = await ipvm.add(png(256, 256))
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
