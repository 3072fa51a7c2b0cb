// Renders public/icon.svg's design to PNG icons (192, 512 and a maskable 512) without dependencies:
// signed-distance shapes, 4×4 supersampling, zlib. Run: node examples/image-pipeline/scripts/icons.mjs
import { writeFile } from 'node:fs/promises'
import { encodePng } from '../../../scripts/png.mjs'

const hex = (h) => [1, 3, 5].map((i) => Number.parseInt(h.slice(i, i + 2), 16))
const BG = hex('#1d3557')
const LINE = hex('#f1faee')
const nodes = [[140, 256, hex('#a8dadc')], [372, 150, hex('#f1c453')], [372, 362, hex('#8fd694')]]
const edges = [[140, 256, 372, 150], [140, 256, 372, 362]]

function segmentDistance (px, py, [ax, ay, bx, by]) {
  const dx = bx - ax
  const dy = by - ay
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
  return Math.hypot(px - ax - t * dx, py - ay - t * dy)
}
function inRoundedRect (x, y, size, r) {
  const cx = Math.min(Math.max(x, r), size - r)
  const cy = Math.min(Math.max(y, r), size - r)
  return Math.hypot(x - cx, y - cy) <= r
}
/** Colour at design coordinates (0..512), or null for transparent. */
function colour (x, y, maskable) {
  // maskable: full-bleed background, design shrunk into the 80 % safe zone
  if (maskable) { x = 256 + (x - 256) / 0.8; y = 256 + (y - 256) / 0.8 } else if (!inRoundedRect(x, y, 512, 96)) return null
  for (const [cx, cy, c] of nodes) if (Math.hypot(x - cx, y - cy) <= 62) return c
  for (const e of edges) if (segmentDistance(x, y, e) <= 10) return LINE
  return BG
}
function png (size, maskable) {
  const S = 4
  const raw = Buffer.alloc((size * 4 + 1) * size)
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let r = 0; let g = 0; let b = 0; let a = 0
      for (let sy = 0; sy < S; sy++) {
        for (let sx = 0; sx < S; sx++) {
          const c = colour(((x + (sx + 0.5) / S) * 512) / size, ((y + (sy + 0.5) / S) * 512) / size, maskable)
          if (c !== null) { r += c[0]; g += c[1]; b += c[2]; a++ }
        }
      }
      const o = y * (size * 4 + 1) + 1 + x * 4
      if (a > 0) { raw[o] = Math.round(r / a); raw[o + 1] = Math.round(g / a); raw[o + 2] = Math.round(b / a) }
      raw[o + 3] = Math.round((255 * a) / (S * S))
    }
  }
  return encodePng(size, size, raw, { colorType: 6, level: 9 })
}
const out = new URL('../public/', import.meta.url)
await writeFile(new URL('icon-192.png', out), png(192, false))
await writeFile(new URL('icon-512.png', out), png(512, false))
await writeFile(new URL('icon-maskable-512.png', out), png(512, true))
console.log('icons written')
