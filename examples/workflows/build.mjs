// Builds the example workflows from the built guest module and a generated sample image, so their
// CIDs are exactly what `ipvm add` prints for the same files. Run by `npm run build`.
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { MemoryBlockstore } from 'blockstore-core'
import { awaitOk, taskToIpld, toDagJson, wasmTask } from '../../packages/core/dist/src/index.js'
import { addContent } from '../../packages/store/dist/src/index.js'
import { encodePng } from '../../scripts/png.mjs'

const here = new URL('.', import.meta.url)

// --- a deterministic 1024×768 sample PNG (RGB, ≈0.8 MP): a landscape with a sky gradient, a sun, layered
// hills with smooth value-noise texture and a lake reflecting the sky. No randomness: an integer hash.
export function samplePng (width = 1024, height = 768) {
  const hash = (x, y) => {
    let h = (Math.imul(x, 374761393) + Math.imul(y, 668265263)) | 0
    h = Math.imul(h ^ (h >>> 13), 1274126177)
    return ((h ^ (h >>> 16)) >>> 0) / 4294967295
  }
  // smooth value noise at a scale, two octaves
  const noise = (x, y, s) => {
    const fx = x / s
    const fy = y / s
    const ix = Math.floor(fx)
    const iy = Math.floor(fy)
    const tx = fx - ix
    const ty = fy - iy
    const sx = tx * tx * (3 - 2 * tx)
    const sy = ty * ty * (3 - 2 * ty)
    const a = hash(ix, iy) + (hash(ix + 1, iy) - hash(ix, iy)) * sx
    const b = hash(ix, iy + 1) + (hash(ix + 1, iy + 1) - hash(ix, iy + 1)) * sx
    return a + (b - a) * sy
  }
  const fbm = (x, y, s) => 0.65 * noise(x, y, s) + 0.35 * noise(x + 97, y + 31, s / 3)
  const clamp = (v) => v < 0 ? 0 : v > 255 ? 255 : Math.round(v)
  const W = width
  const H = height
  const horizon = H * 0.62
  const sunX = W * 0.68
  const sunY = H * 0.3
  const sunR = Math.min(W, H) * 0.08
  const ridge = (x, base, amp, s, seed) => base - amp * fbm(x + seed, seed, s)
  const sky = (x, y) => {
    const t = y / horizon
    const dx = x - sunX
    const dy = y - sunY
    const d = Math.sqrt(dx * dx + dy * dy)
    const glow = Math.max(0, 1 - d / (sunR * 5))
    if (d < sunR) return [255, 236, 170]
    const cloud = Math.max(0, fbm(x * 0.6, y * 2.2, 90) - 0.55) * 2.2
    return [
      70 + 150 * t + 120 * glow * glow + 160 * cloud,
      120 + 90 * t + 80 * glow * glow + 150 * cloud,
      210 - 40 * t + 20 * glow + 120 * cloud
    ]
  }
  const raw = Buffer.alloc((W * 3 + 1) * H)
  for (let y = 0; y < H; y++) {
    raw[y * (W * 3 + 1)] = 0
    for (let x = 0; x < W; x++) {
      let c
      const far = ridge(x, horizon - H * 0.02, H * 0.22, 160, 11)
      const near = ridge(x, horizon + H * 0.2, H * 0.1, 110, 57)
      if (y >= near) {
        // meadow in front, textured
        const n = fbm(x, y, 18)
        const shade = 0.75 + 0.35 * (y - near) / (H - near + 1)
        c = [(60 + 70 * n) * shade, (110 + 70 * n) * shade, (40 + 30 * n) * shade]
      } else if (((x - W * 0.3) / (W * 0.24)) ** 2 + ((y - horizon - H * 0.08) / (H * 0.045)) ** 2 < 1 + 0.15 * Math.sin(x / 23)) {
        // lake: the sky mirrored, darker, with ripples
        const my = 2 * horizon - y + 3 * Math.sin(x / 9 + y / 2)
        const s = sky(x, Math.max(0, my))
        c = [s[0] * 0.6, s[1] * 0.7, s[2] * 0.85]
      } else if (y >= far) {
        const n = fbm(x, y, 40)
        const haze = Math.max(0, 1 - (y - far) / (H * 0.3))
        c = [70 + 50 * n + 60 * haze, 90 + 40 * n + 60 * haze, 110 + 40 * n + 70 * haze]
      } else {
        c = sky(x, y)
      }
      const o = y * (W * 3 + 1) + 1 + x * 3
      raw[o] = clamp(c[0]); raw[o + 1] = clamp(c[1]); raw[o + 2] = clamp(c[2])
    }
  }
  return encodePng(width, height, raw, { level: 9 })
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

const crop = await wasmTask({ rsc, name: 'crop', func: 'crop', args: [sample, 256, 192, 512, 384], meta })
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
