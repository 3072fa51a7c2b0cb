// Shared helpers for bench/wasm.mjs and bench/runtime.mjs: statistics, table printing, a tiny
// core-module encoder, and a deterministic ~1 MP PNG. Plain JS so the benchmarks run with `node`
// against the built packages (packages/*/dist) and nothing else.
import os from 'node:os'
import { encodePng } from '../scripts/png.mjs'

// ---------------------------------------------------------------------------------------------
// statistics

/** The q-quantile (0..1) of a sample, nearest rank on the sorted copy. */
export function quantile (xs, q) {
  if (xs.length === 0) return Number.NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]
}
export const median = (xs) => quantile(xs, 0.5)

/** Median, p10, p90, min, max and count of a sample. */
export function summary (xs) {
  return { n: xs.length, median: median(xs), p10: quantile(xs, 0.1), p90: quantile(xs, 0.9), min: Math.min(...xs), max: Math.max(...xs) }
}

/** Times `fn` `n` times after `warm` untimed calls; returns the durations in milliseconds. */
export async function timeEach (n, warm, fn) {
  for (let i = 0; i < warm; i++) await fn(i, true)
  const out = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    await fn(i, false)
    out.push(performance.now() - t0)
  }
  return out
}

/**
 * Runs the cases in interleaved rounds (A B C, A B C, …) so a load spike on this shared machine
 * hits every case instead of one. `cases` maps a name to `async (round) => number[]` (samples);
 * returns every case's pooled samples and its per-round medians.
 */
export async function interleave (rounds, cases) {
  const out = Object.fromEntries(Object.keys(cases).map((k) => [k, { samples: [], roundMedians: [] }]))
  for (let r = 0; r < rounds; r++) {
    for (const [name, run] of Object.entries(cases)) {
      const xs = await run(r)
      out[name].samples.push(...xs)
      out[name].roundMedians.push(median(xs))
    }
  }
  return out
}

// ---------------------------------------------------------------------------------------------
// printing

export function fmt (x, digits = 2) {
  if (typeof x !== 'number' || Number.isNaN(x)) return String(x)
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US')
  if (Math.abs(x) >= 100) return x.toFixed(Math.max(0, digits - 2))
  if (Math.abs(x) >= 10) return x.toFixed(Math.max(0, digits - 1))
  return x.toFixed(digits)
}

/** Prints a GitHub-style table (so it can be pasted into docs/BENCHMARKS.md). */
export function table (title, header, rows) {
  console.log(`\n### ${title}\n`)
  const cells = [header, ...rows].map((r) => r.map((c) => typeof c === 'number' ? fmt(c) : String(c)))
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i].length)))
  const line = (r) => `| ${r.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join(' | ')} |`
  console.log(line(cells[0]))
  console.log(`|${widths.map((w, i) => i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`).join('|')}|`)
  for (const r of cells.slice(1)) console.log(line(r))
}

export function machine () {
  const cpus = os.cpus()
  return `${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus.length} × ${cpus[0]?.model.trim() ?? '?'}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`
}

export const loadavg = () => os.loadavg()[0]

// ---------------------------------------------------------------------------------------------
// a tiny core-module encoder (enough for the benchmark modules)

export function uleb (n) {
  const out = []
  let v = BigInt(n)
  do {
    let b = Number(v & 0x7fn)
    v >>= 7n
    if (v !== 0n) b |= 0x80
    out.push(b)
  } while (v !== 0n)
  return out
}
export function sleb (n) {
  const out = []
  let v = BigInt(n)
  for (;;) {
    const b = Number(v & 0x7fn)
    v >>= 7n
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) { out.push(b); return out }
    out.push(b | 0x80)
  }
}
/** A signed LEB128 padded to 5 bytes (so a constant can be patched in place). */
export function sleb5 (n) {
  const out = []
  let v = n | 0
  for (let i = 0; i < 4; i++) { out.push((v & 0x7f) | 0x80); v >>= 7 }
  out.push(v & 0x7f)
  return out
}
const utf8 = (s) => [...new TextEncoder().encode(s)]
/** Concatenates byte arrays without spreading (module bodies are too large for `push(...x)`). */
export function cat (...parts) {
  const out = []
  for (const p of parts) for (const b of p) out.push(b)
  return out
}
export const name = (s) => cat(uleb(utf8(s).length), utf8(s))
export const vec = (items) => cat(uleb(items.length), ...items)
export const section = (id, bytes) => cat([id], uleb(bytes.length), bytes)
export const I32 = 0x7f
export const I64 = 0x7e

/**
 * Encodes a core module from function types, functions (type index, locals, body bytes without
 * the final `end`) and exported functions; optional one memory of `memoryPages` pages.
 */
export function encodeModule ({ types, funcs, exports, memoryPages }) {
  const parts = [[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]]
  parts.push(section(1, vec(types.map(([params, results]) => cat([0x60], vec(params.map((p) => [p])), vec(results.map((r) => [r])))))))
  parts.push(section(3, vec(funcs.map((f) => uleb(f.type)))))
  if (memoryPages !== undefined) parts.push(section(5, vec([cat([0x00], uleb(memoryPages))])))
  const exp = exports.map(([n, index]) => cat(name(n), [0x00], uleb(index)))
  if (memoryPages !== undefined) exp.push(cat(name('memory'), [0x02, 0x00]))
  parts.push(section(7, vec(exp)))
  parts.push(section(10, vec(funcs.map((f) => {
    const body = cat(vec((f.locals ?? []).map(([count, type]) => cat(uleb(count), [type]))), f.body, [0x0b])
    return cat(uleb(body.length), body)
  }))))
  return new Uint8Array(cat(...parts))
}

/** `add-one(i32) -> i32`, the tiny task. */
export const ADD_ONE = encodeModule({
  types: [[[I32], [I32]]],
  funcs: [{ type: 0, body: [0x20, 0x00, 0x41, 0x01, 0x6a] }],
  exports: [['add-one', 0]]
})

/** `spin()`: loops forever (for timeouts). */
export const SPIN = encodeModule({
  types: [[[], []]],
  funcs: [{ type: 0, body: [0x03, 0x40, 0x0c, 0x00, 0x0b] }],
  exports: [['spin', 0]]
})

// ---------------------------------------------------------------------------------------------
// a deterministic RGB PNG (default 1024 × 1024 = 1 MP): gradients and shapes, deflate level 6

export function makePng (width = 1024, height = 1024) {
  const stride = width * 3 + 1
  const raw = Buffer.alloc(stride * height)
  for (let y = 0; y < height; y++) {
    raw[y * stride] = 0
    for (let x = 0; x < width; x++) {
      const dx = x - width * 0.62
      const dy = y - height * 0.45
      const sun = dx * dx + dy * dy < (width / 8) ** 2
      const hill = y > height * 0.7 + (height / 12) * Math.sin(x / (width / 12))
      const o = y * stride + 1 + x * 3
      raw[o] = sun ? 255 : hill ? 40 + (x % 64) : Math.round(90 + 120 * y / height)
      raw[o + 1] = sun ? 200 : hill ? 140 + ((x * y) % 17) : Math.round(140 + 60 * y / height)
      raw[o + 2] = sun ? 60 : hill ? 60 : Math.round(230 - 80 * y / height)
    }
  }
  const png = encodePng(width, height, raw, { level: 6 })
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength).slice()
}

/** Width and height from a PNG's IHDR. */
export function pngSize (bytes) {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return [v.getUint32(16), v.getUint32(20)]
}

/**
 * A synthetic core module of about `targetBytes` (default 300 KB): `count` functions of ~85 bytes,
 * each with a counted loop, an if/else, a load, a store and a call, so metering sees several basic
 * blocks per function as in compiled code. `seed` changes a constant in function 0, so every seed
 * gives different bytes (V8 caches compiled modules by their bytes within an isolate).
 */
export function bigModule (seed = 0, targetBytes = 300_000) {
  const fn = (i) => {
    const c = (k) => sleb((i * 2654435761 + k * 97) % 100_000)
    return {
      type: 0,
      locals: [[2, I32]],
      body: [
        ...(i === 0 ? [0x41, ...sleb5(seed), 0x1a] : []), // i32.const seed; drop
        0x41, ...c(1), 0x21, 0x01,
        0x02, 0x40, 0x03, 0x40,
        0x20, 0x01, 0x20, 0x00, 0x6a, 0x41, ...c(2), 0x6c, 0x21, 0x01,
        0x20, 0x02, 0x41, 0x01, 0x6a, 0x22, 0x02, 0x41, 0x0a, 0x49, 0x0d, 0x00,
        0x0b, 0x0b,
        0x20, 0x01, 0x41, 0x03, 0x71,
        0x04, 0x7f, 0x20, 0x01, 0x41, ...c(3), 0x6c, 0x05, 0x20, 0x01, 0x41, ...c(4), 0x73, 0x0b,
        0x20, 0x00, 0x41, ...sleb(0xfff0), 0x71, 0x28, 0x02, ...uleb((i * 4) % 0xf00),
        0x6a,
        0x20, 0x00, 0x41, ...sleb(0xfff0), 0x71, 0x20, 0x01, 0x36, 0x02, ...uleb((i * 8) % 0xf00),
        0x20, 0x00, 0x41, ...sleb(1000), 0x4b,
        0x04, 0x7f, 0x20, 0x00, 0x41, 0x01, 0x6b, 0x10, ...uleb(Math.max(0, i - 1)), 0x05, 0x20, 0x01, 0x0b,
        0x6a
      ]
    }
  }
  const probe = encodeModule({ types: [[[I32], [I32]]], funcs: [fn(1), fn(2), fn(3), fn(4)], exports: [], memoryPages: 1 })
  const count = Math.round(targetBytes / ((probe.length - 40) / 4))
  const funcs = Array.from({ length: count }, (_, i) => fn(i))
  return encodeModule({ types: [[[I32], [I32]]], funcs, exports: [['run', 0], ['last', count - 1]], memoryPages: 1 })
}
