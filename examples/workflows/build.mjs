// Builds the example workflows from the built guest module and a generated sample image, so their
// CIDs are exactly what `ipvm add` prints for the same files. Run by `npm run build`.
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { deflateSync } from 'node:zlib'
import { MemoryBlockstore } from 'blockstore-core'
import { awaitOk, taskToIpld, toDagJson, wasmTask } from '../../packages/core/dist/src/index.js'
import { addContent } from '../../packages/store/dist/src/index.js'

const here = new URL('.', import.meta.url)

// --- a deterministic 512×384 sample PNG (RGB): smooth gradients with a few shapes, no randomness
function crc32 (bytes) {
  let c = ~0
  for (const b of bytes) {
    c ^= b
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1))
  }
  return ~c >>> 0
}
function chunk (type, data) {
  const out = Buffer.alloc(12 + data.length)
  out.writeUInt32BE(data.length, 0)
  out.write(type, 4, 'latin1')
  data.copy(out, 8)
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length)
  return out
}
export function samplePng (width = 512, height = 384) {
  const raw = Buffer.alloc((width * 3 + 1) * height)
  for (let y = 0; y < height; y++) {
    raw[y * (width * 3 + 1)] = 0
    for (let x = 0; x < width; x++) {
      const dx = x - width * 0.62
      const dy = y - height * 0.45
      const inSun = dx * dx + dy * dy < 60 * 60
      const hill = y > height * 0.7 + 30 * Math.sin(x / 40)
      const r = inSun ? 255 : hill ? 40 + (x % 64) : Math.round(90 + 120 * y / height)
      const g = inSun ? 200 : hill ? 140 : Math.round(140 + 60 * y / height)
      const b = inSun ? 60 : hill ? 60 : Math.round(230 - 80 * y / height)
      const o = y * (width * 3 + 1) + 1 + x * 3
      raw[o] = r; raw[o + 1] = g; raw[o + 2] = b
    }
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr[8] = 8; ihdr[9] = 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))])
}

const image = samplePng()
await mkdir(new URL('../image-pipeline/public/', here), { recursive: true })
await writeFile(new URL('../image-pipeline/public/sample.png', here), image)

const blocks = new MemoryBlockstore()
const module = await addContent(blocks, await readFile(new URL('../functions/dist/functions.wasm', here)))
const sample = await addContent(blocks, image)
const rsc = `ipfs://${module}`
// Limits: fuel is metered (deterministic), memory capped, wall time a backstop. Not part of any instruction CID.
const meta = { fuel: 4_000_000_000, memory: 256 * 1024 * 1024, time: 60_000 }

const crop = await wasmTask({ rsc, name: 'crop', func: 'crop', args: [sample, 64, 32, 256, 192], meta })
const rotate = await wasmTask({ rsc, name: 'rotate90', func: 'rotate90', args: [awaitOk(crop)], meta })
const gray = await wasmTask({ rsc, name: 'grayscale', func: 'grayscale', args: [awaitOk(rotate)], meta })
const blur = await wasmTask({ rsc, name: 'blur', func: 'blur', args: [awaitOk(rotate), 2.5], meta })

const write = async (file, name, tasks) => {
  const workflow = { name, workflow: { tasks: tasks.map((t) => taskToIpld(t.task)) } }
  // DAG-JSON keeps links as {"/": cid}; pretty-print for people reading the example.
  await writeFile(new URL(file, here), JSON.stringify(JSON.parse(toDagJson(workflow)), null, 2) + '\n')
}
await write('image-pipeline.json', 'image-pipeline', [crop, rotate, gray])
await write('image-pipeline-blur.json', 'image-pipeline-blur', [crop, rotate, blur])
console.log(`workflows: module ${module}, sample ${sample} (${image.byteLength} B)`)
