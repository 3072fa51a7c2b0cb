// PNG decoder and encoder.
//
// Decoding follows what Rust's `image` 0.24 gets from the `png` crate with `Transformations::EXPAND`:
// palette images become RGB (RGBA when there is a tRNS chunk), gray images of 1/2/4 bits are scaled up to
// 8 bits, a tRNS chunk on gray/RGB images becomes an alpha channel, and 16-bit samples stay 16-bit.
// All five filter types and Adam7 interlacing are supported. As with the png crate: CRCs of critical chunks
// are checked (a mismatch traps) while ancillary chunks with a bad CRC are skipped, unknown chunks are skipped,
// palette indices past the PLTE entries read as opaque black, zlib data past the last row and the Adler-32
// trailer are not read.
//
// Pixels are kept as PNG keeps them: rows of `channels * bytesPerSample` bytes per pixel, 16-bit samples
// big-endian, no filter bytes. Encoding writes color type 0/4/2/6 for 1/2/3/4 channels, bit depth 8 or 16,
// chooses a filter per row (minimum sum of absolute differences), and deflates with ./deflate.ts.

import { trap } from "./host";
import { alloc, be32, free, putBe32 } from "./mem";
import { crc32, zlibDeflate } from "./deflate";
import { zlibInflate } from "./inflate";

/** An image in memory. `data` is owned (free with `freeImage`). */
@unmanaged
export class Image {
  data: usize = 0;
  width: u32 = 0;
  height: u32 = 0;
  channels: u32 = 0; // 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
  bps: u32 = 0; // bytes per sample: 1 or 2
}

export function newImage(width: u32, height: u32, channels: u32, bps: u32): Image {
  const img = new Image();
  img.width = width;
  img.height = height;
  img.channels = channels;
  img.bps = bps;
  const size = <u64>width * <u64>height * <u64>(channels * bps);
  if (size > 0x7fff0000) trap("image too large");
  img.data = alloc(<usize>size);
  return img;
}

export function freeImage(img: Image): void {
  free(img.data);
  heap.free(changetype<usize>(img));
}

@inline export function pixelBytes(img: Image): u32 {
  return img.channels * img.bps;
}

// Adam7 passes: x start, y start, x step, y step.
const A7: usize = memory.data<u8>([0, 0, 8, 8, 4, 0, 8, 8, 0, 4, 4, 8, 2, 0, 4, 4, 0, 2, 2, 4, 1, 0, 2, 2, 0, 1, 1, 2]);
const PALETTE: usize = memory.data(256 * 4); // RGBA
const SIG: usize = memory.data<u8>([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

@inline function paeth(a: i32, b: i32, c: i32): i32 {
  const p = a + b - c;
  const pa = abs(p - a);
  const pb = abs(p - b);
  const pc = abs(p - c);
  if (pa <= pb && pa <= pc) return a;
  if (pb <= pc) return b;
  return c;
}

/** Reverses the filter of one scanline in place. `prior` is the previous (unfiltered) row or 0. */
function unfilter(type: u32, row: usize, prior: usize, len: usize, bpp: usize): void {
  if (type == 0) return;
  if (type == 1) {
    for (let i = bpp; i < len; i++) store<u8>(row + i, load<u8>(row + i) + load<u8>(row + i - bpp));
  } else if (type == 2) {
    if (prior == 0) return;
    for (let i: usize = 0; i < len; i++) store<u8>(row + i, load<u8>(row + i) + load<u8>(prior + i));
  } else if (type == 3) {
    for (let i: usize = 0; i < len; i++) {
      const a: u32 = i >= bpp ? <u32>load<u8>(row + i - bpp) : 0;
      const b: u32 = prior ? <u32>load<u8>(prior + i) : 0;
      store<u8>(row + i, load<u8>(row + i) + <u8>((a + b) >> 1));
    }
  } else if (type == 4) {
    for (let i: usize = 0; i < len; i++) {
      const a: i32 = i >= bpp ? <i32>load<u8>(row + i - bpp) : 0;
      const b: i32 = prior ? <i32>load<u8>(prior + i) : 0;
      const c: i32 = prior && i >= bpp ? <i32>load<u8>(prior + i - bpp) : 0;
      store<u8>(row + i, load<u8>(row + i) + <u8>paeth(a, b, c));
    }
  } else trap("png: invalid filter type");
}

/** Decodes PNG bytes. Traps with a logged reason on anything it cannot decode. */
export function decodePng(p: usize, n: usize): Image {
  if (n < 8 || load<u64>(p) != load<u64>(SIG)) trap("png: not a PNG (bad signature)");
  const end = p + n;
  let q = p + 8;
  let width: u32 = 0, height: u32 = 0, depth: u32 = 0, ctype: u32 = 0, interlace: u32 = 0;
  let seenHdr = false, seenEnd = false;
  let palCount: u32 = 0;
  let hasTrns = false;
  let trnsA: u32 = 0, trnsB: u32 = 0, trnsC: u32 = 0; // gray or R,G,B key
  let idatTotal: usize = 0;
  // 256 entries, opaque black until PLTE/tRNS say otherwise (the png crate's expansion table).
  for (let i: usize = 0; i < 256; i++) store<u32>(PALETTE + i * 4, 0xff000000);
  // Pass 1: validate chunks, read header, palette and transparency, and size the IDAT data.
  while (!seenEnd) {
    if (q + 12 > end) trap("png: truncated chunk");
    const len = <usize>be32(q);
    const type = be32(q + 4);
    if (len > 0x7fffffff || q + 12 + len > end) trap("png: truncated chunk");
    const d = q + 8;
    const critical = (type & 0x20000000) == 0;
    if (crc32(q + 4, len + 4) != be32(d + len)) {
      if (critical) trap("png: chunk CRC mismatch");
      q = d + len + 4;
      continue;
    }
    if (!seenHdr && type != 0x49484452) trap("png: IHDR must come first");
    if (type == 0x49484452) {
      // IHDR
      if (len != 13) trap("png: bad IHDR length");
      width = be32(d);
      height = be32(d + 4);
      depth = load<u8>(d + 8);
      ctype = load<u8>(d + 9);
      if (load<u8>(d + 10) != 0 || load<u8>(d + 11) != 0) trap("png: unknown compression or filter method");
      interlace = load<u8>(d + 12);
      if (interlace > 1) trap("png: unknown interlace method");
      if (width == 0 || height == 0) trap("png: zero width or height");
      let ok = false;
      if (ctype == 0) ok = depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16;
      else if (ctype == 3) ok = depth == 1 || depth == 2 || depth == 4 || depth == 8;
      else if (ctype == 2 || ctype == 4 || ctype == 6) ok = depth == 8 || depth == 16;
      if (!ok) trap("png: invalid color type / bit depth combination");
      seenHdr = true;
    } else if (type == 0x504c5445 && ctype == 3) {
      // PLTE (only palette images use it; a suggested palette in other images is skipped unread)
      if (len % 3 != 0 || len == 0 || len > 768) trap("png: bad PLTE length");
      palCount = <u32>(len / 3);
      for (let i: u32 = 0; i < palCount; i++) {
        store<u8>(PALETTE + i * 4, load<u8>(d + i * 3));
        store<u8>(PALETTE + i * 4 + 1, load<u8>(d + i * 3 + 1));
        store<u8>(PALETTE + i * 4 + 2, load<u8>(d + i * 3 + 2));
      }
    } else if (type == 0x74524e53 && len > 0) {
      // tRNS (an empty one is ignored, as by the png crate)
      if (ctype == 3) {
        // More entries than the palette has: the png crate ignores the values (all stay opaque), but the
        // image still gains an alpha channel.
        if (<u32>len <= palCount) for (let i: usize = 0; i < len; i++) store<u8>(PALETTE + i * 4 + 3, load<u8>(d + i));
        hasTrns = true;
      } else if (ctype == 0) {
        if (len != 2) trap("png: bad tRNS length");
        trnsA = bswap<u16>(load<u16>(d));
        hasTrns = true;
      } else if (ctype == 2) {
        if (len != 6) trap("png: bad tRNS length");
        trnsA = bswap<u16>(load<u16>(d));
        trnsB = bswap<u16>(load<u16>(d + 2));
        trnsC = bswap<u16>(load<u16>(d + 4));
        hasTrns = true;
      } else trap("png: tRNS in an image that has an alpha channel");
    } else if (type == 0x49444154) {
      idatTotal += len;
    } else if (type == 0x49454e44) {
      seenEnd = true;
    }
    q = d + len + 4;
  }
  if (idatTotal == 0) trap("png: no image data");
  // For bit depths up to 8 the png crate compares samples with the low byte of each 16-bit tRNS key.
  if (depth <= 8) {
    trnsA &= 0xff;
    trnsB &= 0xff;
    trnsC &= 0xff;
  }
  if (ctype == 3 && palCount == 0) trap("png: palette image without PLTE");

  // Gather the IDAT stream.
  const z = alloc(idatTotal);
  let zq: usize = 0;
  q = p + 8;
  while (true) {
    const len = <usize>be32(q);
    const type = be32(q + 4);
    if (type == 0x49444154) {
      memory.copy(z + zq, q + 8, len);
      zq += len;
    }
    if (type == 0x49454e44) break;
    q += 12 + len;
  }

  // Raw layout.
  const samples: u32 = ctype == 0 || ctype == 3 ? 1 : ctype == 4 ? 2 : ctype == 2 ? 3 : 4;
  const bitsPP: u32 = samples * depth;
  const bpp: usize = bitsPP >= 8 ? <usize>(bitsPP >> 3) : 1;
  const passes: u32 = interlace ? 7 : 1;
  let rawSize: u64 = 0;
  for (let ps: u32 = 0; ps < passes; ps++) {
    let pw: u32 = width, ph: u32 = height;
    if (interlace) {
      const x0 = <u32>load<u8>(A7 + ps * 4), y0 = <u32>load<u8>(A7 + ps * 4 + 1);
      const sx = <u32>load<u8>(A7 + ps * 4 + 2), sy = <u32>load<u8>(A7 + ps * 4 + 3);
      pw = width > x0 ? (width - x0 + sx - 1) / sx : 0;
      ph = height > y0 ? (height - y0 + sy - 1) / sy : 0;
    }
    if (pw == 0 || ph == 0) continue;
    rawSize += <u64>ph * (1 + ((<u64>pw * bitsPP + 7) >> 3));
  }
  if (rawSize > 0x7fff0000) trap("png: image too large");
  const raw = alloc(<usize>rawSize);
  zlibInflate(z, idatTotal, raw, <usize>rawSize);
  free(z);

  // Output format after expansion.
  let outCh: u32 = samples;
  if (ctype == 3) outCh = hasTrns ? 4 : 3;
  else if (hasTrns && ctype == 0) outCh = 2;
  else if (hasTrns && ctype == 2) outCh = 4;
  const outBps: u32 = depth == 16 ? 2 : 1;
  const img = newImage(width, height, outCh, outBps);
  const opb = <usize>(outCh * outBps);
  const rowOut = <usize>width * opb;
  // A fast path applies when a raw row is already the output row.
  const direct = !interlace && depth >= 8 && ctype != 3 && !hasTrns;

  let r = raw;
  for (let ps: u32 = 0; ps < passes; ps++) {
    let x0: u32 = 0, y0: u32 = 0, sx: u32 = 1, sy: u32 = 1;
    if (interlace) {
      x0 = load<u8>(A7 + ps * 4);
      y0 = load<u8>(A7 + ps * 4 + 1);
      sx = load<u8>(A7 + ps * 4 + 2);
      sy = load<u8>(A7 + ps * 4 + 3);
    }
    const pw: u32 = width > x0 ? (width - x0 + sx - 1) / sx : 0;
    const ph: u32 = height > y0 ? (height - y0 + sy - 1) / sy : 0;
    if (pw == 0 || ph == 0) continue;
    const rowLen = <usize>((<u64>pw * bitsPP + 7) >> 3);
    let prior: usize = 0;
    for (let y: u32 = 0; y < ph; y++) {
      const ft = <u32>load<u8>(r);
      const row = r + 1;
      unfilter(ft, row, prior, rowLen, bpp);
      const oy = y0 + y * sy;
      if (direct) {
        memory.copy(img.data + <usize>oy * rowOut, row, rowLen);
      } else {
        for (let x: u32 = 0; x < pw; x++) {
          const o = img.data + <usize>oy * rowOut + <usize>(x0 + x * sx) * opb;
          if (depth < 8) {
            const bitPos = x * depth;
            const v = (<u32>load<u8>(row + (bitPos >> 3)) >> (8 - depth - (bitPos & 7))) & ((1 << depth) - 1);
            if (ctype == 3) {
              store<u8>(o, load<u8>(PALETTE + v * 4));
              store<u8>(o + 1, load<u8>(PALETTE + v * 4 + 1));
              store<u8>(o + 2, load<u8>(PALETTE + v * 4 + 2));
              if (outCh == 4) store<u8>(o + 3, load<u8>(PALETTE + v * 4 + 3));
            } else {
              store<u8>(o, <u8>((v * 255) / ((1 << depth) - 1)));
              if (outCh == 2) store<u8>(o + 1, hasTrns && v == trnsA ? 0 : 255);
            }
          } else if (ctype == 3) {
            const v = <u32>load<u8>(row + x);
            store<u8>(o, load<u8>(PALETTE + v * 4));
            store<u8>(o + 1, load<u8>(PALETTE + v * 4 + 1));
            store<u8>(o + 2, load<u8>(PALETTE + v * 4 + 2));
            if (outCh == 4) store<u8>(o + 3, load<u8>(PALETTE + v * 4 + 3));
          } else {
            const ipb = <usize>(samples * outBps);
            const src = row + <usize>x * ipb;
            memory.copy(o, src, ipb);
            if (outCh != samples) {
              // tRNS key -> alpha channel.
              let transparent: bool;
              if (outBps == 1) {
                transparent = ctype == 0
                  ? <u32>load<u8>(src) == trnsA
                  : <u32>load<u8>(src) == trnsA && <u32>load<u8>(src + 1) == trnsB && <u32>load<u8>(src + 2) == trnsC;
                store<u8>(o + ipb, transparent ? 0 : 255);
              } else {
                transparent = ctype == 0
                  ? <u32>bswap<u16>(load<u16>(src)) == trnsA
                  : <u32>bswap<u16>(load<u16>(src)) == trnsA && <u32>bswap<u16>(load<u16>(src + 2)) == trnsB &&
                    <u32>bswap<u16>(load<u16>(src + 4)) == trnsC;
                store<u16>(o + ipb, transparent ? 0 : 0xffff);
              }
            }
          }
        }
      }
      prior = row;
      r += 1 + rowLen;
    }
  }
  free(raw);
  return img;
}

function putChunk(out: usize, type: u32, data: usize, len: usize): usize {
  putBe32(out, <u32>len);
  putBe32(out + 4, type);
  if (len) memory.copy(out + 8, data, len);
  putBe32(out + 8 + len, crc32(out + 4, len + 4));
  return out + 12 + len;
}

const IHDR_BUF: usize = memory.data(13);
const LEN_OUT: usize = memory.data(4, 4);

/** Encodes an image as PNG. Returns a new buffer; its length is written to `lenOut`. */
export function encodePng(img: Image, lenOut: usize): usize {
  const ch = img.channels;
  const bps = <usize>img.bps;
  const bpp = <usize>ch * bps;
  const rowLen = <usize>img.width * bpp;
  const h = <usize>img.height;
  // Filtered rows: one filter byte + row.
  const filtered = alloc(h * (rowLen + 1));
  const scratch = alloc(rowLen * 4); // candidate rows for Sub, Up, Average, Paeth
  for (let y: usize = 0; y < h; y++) {
    const row = img.data + y * rowLen;
    const prior: usize = y > 0 ? row - rowLen : 0;
    // Filter 0 (None) scored in place; filters 1..4 written to scratch.
    let best: u32 = 0;
    let bestScore: u64 = 0;
    for (let i: usize = 0; i < rowLen; i++) bestScore += <u64>abs<i32>(<i32>load<i8>(row + i));
    for (let f: u32 = 1; f <= 4; f++) {
      const dst = scratch + <usize>(f - 1) * rowLen;
      let score: u64 = 0;
      for (let i: usize = 0; i < rowLen; i++) {
        const x = <i32>load<u8>(row + i);
        const a: i32 = i >= bpp ? <i32>load<u8>(row + i - bpp) : 0;
        const b: i32 = prior ? <i32>load<u8>(prior + i) : 0;
        const c: i32 = prior && i >= bpp ? <i32>load<u8>(prior + i - bpp) : 0;
        let pred: i32 = 0;
        if (f == 1) pred = a;
        else if (f == 2) pred = b;
        else if (f == 3) pred = (a + b) >> 1;
        else pred = paeth(a, b, c);
        const v = <u8>(x - pred);
        store<u8>(dst + i, v);
        score += <u64>abs<i32>(<i32><i8>v);
      }
      if (score < bestScore) {
        bestScore = score;
        best = f;
      }
    }
    const o = filtered + y * (rowLen + 1);
    store<u8>(o, <u8>best);
    memory.copy(o + 1, best == 0 ? row : scratch + <usize>(best - 1) * rowLen, rowLen);
  }
  free(scratch);
  const z = zlibDeflate(filtered, h * (rowLen + 1), LEN_OUT);
  free(filtered);
  const zLen = <usize>load<u32>(LEN_OUT);

  putBe32(IHDR_BUF, img.width);
  putBe32(IHDR_BUF + 4, img.height);
  store<u8>(IHDR_BUF + 8, <u8>(bps * 8));
  store<u8>(IHDR_BUF + 9, ch == 1 ? 0 : ch == 2 ? 4 : ch == 3 ? 2 : 6);
  store<u8>(IHDR_BUF + 10, 0);
  store<u8>(IHDR_BUF + 11, 0);
  store<u8>(IHDR_BUF + 12, 0);
  const total: usize = 8 + (12 + 13) + (12 + zLen) + 12;
  const out = alloc(total);
  store<u64>(out, load<u64>(SIG));
  let q = out + 8;
  q = putChunk(q, 0x49484452, IHDR_BUF, 13);
  q = putChunk(q, 0x49444154, z, zLen);
  q = putChunk(q, 0x49454e44, 0, 0);
  free(z);
  store<u32>(lenOut, <u32>total);
  return out;
}
