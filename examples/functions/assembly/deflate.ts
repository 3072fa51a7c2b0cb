// zlib (RFC 1950) + DEFLATE (RFC 1951) encoder: greedy LZ77 with hash chains (32 KiB window, 3-byte hash,
// bounded chain walk) into blocks of up to 64 Ki tokens; each block is written with fixed Huffman codes or
// with its own (dynamic) codes, whichever is smaller. Code lengths are limited to 15 (7 for the code-length
// code) by halving frequencies and rebuilding. Also CRC-32 and Adler-32.

import { grow } from "./mem";

const WSIZE: u32 = 1 << 15;
const WMASK: u32 = WSIZE - 1;
const HBITS: u32 = 15;
const HSIZE: u32 = 1 << HBITS;
const MAX_CHAIN: u32 = 48;
const NICE: u32 = 128;
const NIL: i32 = -1;

const LBASE: usize = memory.data<u16>([3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]);
const LEXT: usize = memory.data<u8>([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]);
const DBASE: usize = memory.data<u16>([1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]);
const DEXT: usize = memory.data<u8>([0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]);

// Fixed literal/length codes, bit-reversed so they can be written LSB-first: code | len << 16.
let fixedLit: usize = 0; // 288 x u32
let fixedDist: usize = 0; // 30 x u32
let lenCode: usize = 0; // 259 x u8: length -> length-code index (0..28)
let distCode: usize = 0; // 512 x u8: distance code lookup (see distSym)
let head: usize = 0; // HSIZE x i32
let prev: usize = 0; // WSIZE x i32

// Output bit writer.
let out: usize = 0;
let outCap: usize = 0;
let outLen: usize = 0;
let acc: u64 = 0;
let accBits: u32 = 0;

function rev(code: u32, len: u32): u32 {
  let r: u32 = 0;
  for (let i: u32 = 0; i < len; i++) {
    r = (r << 1) | (code & 1);
    code >>= 1;
  }
  return r;
}

function init(): void {
  fixedLit = heap.alloc(288 * 4);
  for (let s: u32 = 0; s < 288; s++) {
    let code: u32, len: u32;
    if (s < 144) { code = 0x30 + s; len = 8; }
    else if (s < 256) { code = 0x190 + s - 144; len = 9; }
    else if (s < 280) { code = s - 256; len = 7; }
    else { code = 0xc0 + s - 280; len = 8; }
    store<u32>(fixedLit + (<usize>s << 2), rev(code, len) | (len << 16));
  }
  fixedDist = heap.alloc(30 * 4);
  for (let s: u32 = 0; s < 30; s++) store<u32>(fixedDist + (<usize>s << 2), rev(s, 5) | (5 << 16));
  lenCode = heap.alloc(259);
  for (let c: u32 = 0; c < 29; c++) {
    const base = <u32>load<u16>(LBASE + (c << 1));
    const n: u32 = 1 << <u32>load<u8>(LEXT + c);
    for (let l = base; l < base + n && l <= 258; l++) store<u8>(lenCode + l, <u8>c);
  }
  store<u8>(lenCode + 258, 28);
  distCode = heap.alloc(512);
  // Distances 1..256 via distCode[d-1]; 257..32768 via distCode[256 + ((d-1) >> 7)].
  for (let c: u32 = 0; c < 30; c++) {
    const base = <u32>load<u16>(DBASE + (c << 1));
    const n: u32 = 1 << <u32>load<u8>(DEXT + c);
    for (let d = base; d < base + n; d++) {
      if (d <= 256) store<u8>(distCode + d - 1, <u8>c);
      else store<u8>(distCode + 256 + ((d - 1) >> 7), <u8>c);
    }
  }
  head = heap.alloc(HSIZE * 4);
  prev = heap.alloc(WSIZE * 4);
}

@inline function distSym(d: u32): u32 {
  return d <= 256 ? <u32>load<u8>(distCode + d - 1) : <u32>load<u8>(distCode + 256 + ((d - 1) >> 7));
}

function ensure(extra: usize): void {
  if (outLen + extra > outCap) {
    let cap = outCap * 2;
    if (cap < outLen + extra) cap = outLen + extra;
    out = grow(out, cap);
    outCap = cap;
  }
}

function putByte(b: u32): void {
  ensure(1);
  store<u8>(out + outLen++, <u8>b);
}

@inline function putBits(v: u32, n: u32): void {
  acc |= <u64>v << accBits;
  accBits += n;
  if (accBits >= 32) {
    ensure(4);
    store<u32>(out + outLen, <u32>acc);
    outLen += 4;
    acc >>= 32;
    accBits -= 32;
  }
}

@inline function putCode(entry: u32): void {
  putBits(entry & 0xffff, entry >> 16);
}

function flushBits(): void {
  while (accBits > 0) {
    putByte(<u32>acc & 0xff);
    acc >>= 8;
    accBits = accBits >= 8 ? accBits - 8 : 0;
  }
  acc = 0;
  accBits = 0;
}

@inline function hash3(p: usize): u32 {
  const v = <u32>load<u8>(p) | (<u32>load<u8>(p + 1) << 8) | (<u32>load<u8>(p + 2) << 16);
  return (v * 0x9e3779b1) >> (32 - HBITS);
}

export function adler32(p: usize, n: usize): u32 {
  let a: u32 = 1, b: u32 = 0;
  while (n > 0) {
    const chunk = n < 5552 ? n : 5552;
    n -= chunk;
    const end = p + chunk;
    while (p < end) {
      a += <u32>load<u8>(p++);
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return (b << 16) | a;
}

let crcTable: usize = 0;

export function crc32(p: usize, n: usize): u32 {
  if (crcTable == 0) {
    crcTable = heap.alloc(1024);
    for (let i: u32 = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >> 1) : c >> 1;
      store<u32>(crcTable + (<usize>i << 2), c);
    }
  }
  let c: u32 = 0xffffffff;
  const end = p + n;
  while (p < end) c = load<u32>(crcTable + (<usize>((c ^ <u32>load<u8>(p++)) & 0xff) << 2)) ^ (c >> 8);
  return c ^ 0xffffffff;
}

// ---------------------------------------------------------------------------------------------------------
// Blocks of tokens. A token is a literal byte (< 256) or a match: 1 << 31 | (len - 3) << 16 | (dist - 1).

const MAX_TOKENS: u32 = 1 << 16;
let tokens: usize = 0; // MAX_TOKENS x u32
let ntok: u32 = 0;

const LIT_FREQ: usize = memory.data(286 * 4, 4);
const DIST_FREQ: usize = memory.data(30 * 4, 4);
const CL_FREQ: usize = memory.data(19 * 4, 4);
const LIT_LEN: usize = memory.data(286);
const DIST_LEN: usize = memory.data(30);
const CL_LEN: usize = memory.data(19);
const LIT_CODE: usize = memory.data(286 * 4, 4); // reversed code | len << 16
const DIST_CODE: usize = memory.data(30 * 4, 4);
const CL_CODE: usize = memory.data(19 * 4, 4);
const RLE: usize = memory.data(316 * 2, 2); // code-length symbols: sym | extra << 8
const ALL_LENS: usize = memory.data(316);
const CLORDER: usize = memory.data<u8>([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]);

// Huffman construction scratch (at most 286 leaves).
const H_SYM: usize = memory.data(286 * 2, 2);
const H_W: usize = memory.data(572 * 4, 4);
const H_PARENT: usize = memory.data(572 * 2, 2);
const H_DEPTH: usize = memory.data(572);
const H_FREQ: usize = memory.data(286 * 4, 4);
const BL_COUNT: usize = memory.data(16 * 2, 2);
const NEXT_CODE: usize = memory.data(16 * 2, 2);

/** Code lengths (at most `limit`) for `n` symbols with frequencies at `freq` (u32), written to `lens` (u8). */
function huffLengths(freq: usize, n: u32, limit: u32, lens: usize): void {
  memory.fill(lens, 0, n);
  for (let i: u32 = 0; i < n; i++) store<u32>(H_FREQ + (<usize>i << 2), load<u32>(freq + (<usize>i << 2)));
  while (true) {
    // Leaves with nonzero frequency, sorted by (frequency, symbol) with insertion sort.
    let m: u32 = 0;
    for (let i: u32 = 0; i < n; i++) {
      const f = load<u32>(H_FREQ + (<usize>i << 2));
      if (f == 0) continue;
      let j = m;
      while (j > 0 && load<u32>(H_FREQ + (<usize>load<u16>(H_SYM + (<usize>(j - 1) << 1)) << 2)) > f) {
        store<u16>(H_SYM + (<usize>j << 1), load<u16>(H_SYM + (<usize>(j - 1) << 1)));
        j--;
      }
      store<u16>(H_SYM + (<usize>j << 1), <u16>i);
      m++;
    }
    if (m == 0) return;
    if (m == 1) {
      // One symbol: give it and a neighbour one bit each, so the code is complete.
      const s = <u32>load<u16>(H_SYM);
      store<u8>(lens + s, 1);
      store<u8>(lens + (s == 0 ? 1 : 0), 1);
      return;
    }
    // Two-queue Huffman: leaves 0..m-1 (sorted), internal nodes m..2m-2 (created in weight order).
    for (let i: u32 = 0; i < m; i++) {
      store<u32>(H_W + (<usize>i << 2), load<u32>(H_FREQ + (<usize>load<u16>(H_SYM + (<usize>i << 1)) << 2)));
    }
    let leaf: u32 = 0;
    let node: u32 = m;
    let next: u32 = m;
    for (let k: u32 = 0; k < m - 1; k++) {
      let a: u32, b: u32;
      if (leaf < m && (node >= next || load<u32>(H_W + (<usize>leaf << 2)) <= load<u32>(H_W + (<usize>node << 2)))) a = leaf++;
      else a = node++;
      if (leaf < m && (node >= next || load<u32>(H_W + (<usize>leaf << 2)) <= load<u32>(H_W + (<usize>node << 2)))) b = leaf++;
      else b = node++;
      store<u32>(H_W + (<usize>next << 2), load<u32>(H_W + (<usize>a << 2)) + load<u32>(H_W + (<usize>b << 2)));
      store<u16>(H_PARENT + (<usize>a << 1), <u16>next);
      store<u16>(H_PARENT + (<usize>b << 1), <u16>next);
      next++;
    }
    const root = next - 1;
    store<u8>(H_DEPTH + root, 0);
    let maxDepth: u32 = 0;
    for (let i: i32 = <i32>root - 1; i >= 0; i--) {
      const d = <u32>load<u8>(H_DEPTH + <usize>load<u16>(H_PARENT + (<usize>i << 1))) + 1;
      store<u8>(H_DEPTH + <usize>i, <u8>d);
      if (d > maxDepth) maxDepth = d;
    }
    if (maxDepth <= limit) {
      for (let i: u32 = 0; i < m; i++) store<u8>(lens + <usize>load<u16>(H_SYM + (<usize>i << 1)), load<u8>(H_DEPTH + i));
      return;
    }
    // Too deep: flatten the distribution and try again.
    for (let i: u32 = 0; i < n; i++) {
      const f = load<u32>(H_FREQ + (<usize>i << 2));
      if (f) store<u32>(H_FREQ + (<usize>i << 2), (f >> 1) | 1);
    }
  }
}

/** Canonical codes (bit-reversed, `| len << 16`) for `n` lengths. */
function huffCodes(lens: usize, n: u32, codes: usize): void {
  memory.fill(BL_COUNT, 0, 32);
  for (let i: u32 = 0; i < n; i++) {
    const l = <usize>load<u8>(lens + i);
    if (l) store<u16>(BL_COUNT + (l << 1), load<u16>(BL_COUNT + (l << 1)) + 1);
  }
  let code: u32 = 0;
  for (let l: u32 = 1; l <= 15; l++) {
    code = (code + <u32>load<u16>(BL_COUNT + (<usize>(l - 1) << 1))) << 1;
    store<u16>(NEXT_CODE + (<usize>l << 1), <u16>code);
  }
  for (let i: u32 = 0; i < n; i++) {
    const l = <u32>load<u8>(lens + i);
    if (l == 0) {
      store<u32>(codes + (<usize>i << 2), 0);
      continue;
    }
    const c = <u32>load<u16>(NEXT_CODE + (<usize>l << 1));
    store<u16>(NEXT_CODE + (<usize>l << 1), <u16>(c + 1));
    store<u32>(codes + (<usize>i << 2), rev(c, l) | (l << 16));
  }
}

@inline function putRle(k: u32, v: u32): void {
  store<u16>(RLE + (<usize>k << 1), <u16>v);
}

/** Run-length codes a sequence of code lengths (symbols 16/17/18); returns the symbol count. */
function rleLengths(lens: usize, n: u32): u32 {
  let k: u32 = 0;
  let i: u32 = 0;
  while (i < n) {
    const l = load<u8>(lens + i);
    let run: u32 = 1;
    while (i + run < n && load<u8>(lens + i + run) == l) run++;
    i += run;
    if (l == 0) {
      while (run >= 11) {
        const r = run < 138 ? run : 138;
        putRle(k++, (18 | ((r - 11) << 8)));
        run -= r;
      }
      if (run >= 3) {
        putRle(k++, (17 | ((run - 3) << 8)));
        run = 0;
      }
    } else {
      putRle(k++, <u32>l);
      run--;
      while (run >= 3) {
        const r = run < 6 ? run : 6;
        putRle(k++, (16 | ((r - 3) << 8)));
        run -= r;
      }
    }
    while (run > 0) {
      putRle(k++, <u32>l);
      run--;
    }
  }
  return k;
}

function writeTokens(litCodes: usize, distCodes: usize): void {
  for (let t: u32 = 0; t < ntok; t++) {
    const tok = load<u32>(tokens + (<usize>t << 2));
    if (tok < 256) {
      putCode(load<u32>(litCodes + (<usize>tok << 2)));
      continue;
    }
    const len = ((tok >> 16) & 0x1ff) + 3;
    const dist = (tok & 0xffff) + 1;
    const lc = <u32>load<u8>(lenCode + len);
    putCode(load<u32>(litCodes + (<usize>(257 + lc) << 2)));
    const le = <u32>load<u8>(LEXT + lc);
    if (le) putBits(len - <u32>load<u16>(LBASE + (lc << 1)), le);
    const dc = distSym(dist);
    putCode(load<u32>(distCodes + (<usize>dc << 2)));
    const de = <u32>load<u8>(DEXT + dc);
    if (de) putBits(dist - <u32>load<u16>(DBASE + (dc << 1)), de);
  }
  putCode(load<u32>(litCodes + (256 << 2)));
}

/** Writes the buffered tokens as one block, fixed or dynamic, whichever is smaller. */
function flushBlock(final: bool): void {
  memory.fill(LIT_FREQ, 0, 286 * 4);
  memory.fill(DIST_FREQ, 0, 30 * 4);
  let extraBits: u64 = 0;
  for (let t: u32 = 0; t < ntok; t++) {
    const tok = load<u32>(tokens + (<usize>t << 2));
    if (tok < 256) {
      store<u32>(LIT_FREQ + (<usize>tok << 2), load<u32>(LIT_FREQ + (<usize>tok << 2)) + 1);
      continue;
    }
    const lc = <usize>load<u8>(lenCode + ((tok >> 16) & 0x1ff) + 3);
    const dc = <usize>distSym((tok & 0xffff) + 1);
    store<u32>(LIT_FREQ + ((257 + lc) << 2), load<u32>(LIT_FREQ + ((257 + lc) << 2)) + 1);
    store<u32>(DIST_FREQ + (dc << 2), load<u32>(DIST_FREQ + (dc << 2)) + 1);
    extraBits += <u64>load<u8>(LEXT + lc) + <u64>load<u8>(DEXT + dc);
  }
  store<u32>(LIT_FREQ + (256 << 2), 1);

  huffLengths(LIT_FREQ, 286, 15, LIT_LEN);
  huffLengths(DIST_FREQ, 30, 15, DIST_LEN);
  if (load<u8>(DIST_LEN) == 0 && load<u8>(DIST_LEN + 1) == 0) {
    // No matches: two one-bit distance codes keep the (unused) distance code complete.
    let used = false;
    for (let i = 0; i < 30; i++) if (load<u8>(DIST_LEN + i)) used = true;
    if (!used) {
      store<u8>(DIST_LEN, 1);
      store<u8>(DIST_LEN + 1, 1);
    }
  }
  let hlit: u32 = 286;
  while (hlit > 257 && load<u8>(LIT_LEN + hlit - 1) == 0) hlit--;
  let hdist: u32 = 30;
  while (hdist > 1 && load<u8>(DIST_LEN + hdist - 1) == 0) hdist--;
  memory.copy(ALL_LENS, LIT_LEN, hlit);
  memory.copy(ALL_LENS + hlit, DIST_LEN, hdist);
  const nrle = rleLengths(ALL_LENS, hlit + hdist);
  memory.fill(CL_FREQ, 0, 19 * 4);
  for (let k: u32 = 0; k < nrle; k++) {
    const sym = <usize>(load<u16>(RLE + (<usize>k << 1)) & 0xff);
    store<u32>(CL_FREQ + (sym << 2), load<u32>(CL_FREQ + (sym << 2)) + 1);
  }
  huffLengths(CL_FREQ, 19, 7, CL_LEN);
  let hclen: u32 = 19;
  while (hclen > 4 && load<u8>(CL_LEN + <usize>load<u8>(CLORDER + hclen - 1)) == 0) hclen--;

  // Sizes in bits (without the 3 header bits common to both).
  let dyn: u64 = 5 + 5 + 4 + 3 * <u64>hclen + extraBits;
  let fix: u64 = extraBits;
  for (let s: u32 = 0; s < 19; s++) {
    const extra: u64 = s == 16 ? 2 : s == 17 ? 3 : s == 18 ? 7 : 0;
    dyn += <u64>load<u32>(CL_FREQ + (<usize>s << 2)) * (<u64>load<u8>(CL_LEN + s) + extra);
  }
  for (let s: u32 = 0; s < 286; s++) {
    const f = <u64>load<u32>(LIT_FREQ + (<usize>s << 2));
    dyn += f * <u64>load<u8>(LIT_LEN + s);
    fix += f * <u64>(load<u32>(fixedLit + (<usize>s << 2)) >> 16);
  }
  for (let s: u32 = 0; s < 30; s++) {
    const f = <u64>load<u32>(DIST_FREQ + (<usize>s << 2));
    dyn += f * <u64>load<u8>(DIST_LEN + s);
    fix += f * 5;
  }

  putBits(final ? 1 : 0, 1);
  if (fix <= dyn) {
    putBits(1, 2);
    writeTokens(fixedLit, fixedDist);
  } else {
    putBits(2, 2);
    huffCodes(LIT_LEN, 286, LIT_CODE);
    huffCodes(DIST_LEN, 30, DIST_CODE);
    huffCodes(CL_LEN, 19, CL_CODE);
    putBits(hlit - 257, 5);
    putBits(hdist - 1, 5);
    putBits(hclen - 4, 4);
    for (let i: u32 = 0; i < hclen; i++) putBits(<u32>load<u8>(CL_LEN + <usize>load<u8>(CLORDER + i)), 3);
    for (let k: u32 = 0; k < nrle; k++) {
      const e = <u32>load<u16>(RLE + (<usize>k << 1));
      const sym = e & 0xff;
      putCode(load<u32>(CL_CODE + (<usize>sym << 2)));
      if (sym == 16) putBits(e >> 8, 2);
      else if (sym == 17) putBits(e >> 8, 3);
      else if (sym == 18) putBits(e >> 8, 7);
    }
    writeTokens(LIT_CODE, DIST_CODE);
  }
  ntok = 0;
}

@inline function pushToken(tok: u32): void {
  store<u32>(tokens + (<usize>ntok << 2), tok);
  if (++ntok == MAX_TOKENS) flushBlock(false);
}

/**
 * Compresses [src, src+n) into a zlib stream. Returns the buffer (owned by the caller, free with heap.free)
 * and writes its length to `lenOut`.
 */
export function zlibDeflate(src: usize, n: usize, lenOut: usize): usize {
  if (fixedLit == 0) {
    init();
    tokens = heap.alloc(MAX_TOKENS * 4);
  }
  outCap = n / 4 + 64;
  out = heap.alloc(outCap);
  outLen = 0;
  acc = 0;
  accBits = 0;
  ntok = 0;
  putByte(0x78);
  putByte(0x9c);
  memory.fill(head, 0xff, HSIZE * 4);
  let i: u32 = 0;
  const end = <u32>n;
  while (i < end) {
    let bestLen: u32 = 0;
    let bestDist: u32 = 0;
    if (i + 3 <= end) {
      const h = hash3(src + i);
      let cand = load<i32>(head + (<usize>h << 2));
      store<i32>(prev + (<usize>(i & WMASK) << 2), cand);
      store<i32>(head + (<usize>h << 2), <i32>i);
      const maxLen: u32 = end - i < 258 ? end - i : 258;
      let chain = MAX_CHAIN;
      while (cand != NIL && chain-- > 0) {
        const c = <u32>cand;
        if (i - c > WSIZE) break;
        // Quick reject on the byte that would extend the current best.
        if (load<u8>(src + c + bestLen) == load<u8>(src + i + bestLen)) {
          let l: u32 = 0;
          while (l < maxLen && load<u8>(src + c + l) == load<u8>(src + i + l)) l++;
          if (l > bestLen) {
            bestLen = l;
            bestDist = i - c;
            if (l >= NICE || l == maxLen) break;
          }
        }
        const nx = load<i32>(prev + (<usize>(c & WMASK) << 2));
        if (nx >= cand) break;
        cand = nx;
      }
    }
    if (bestLen >= 3) {
      pushToken((1 << 31) | ((bestLen - 3) << 16) | (bestDist - 1));
      // Insert the skipped positions into the hash chains.
      const stop = i + bestLen;
      i++;
      while (i < stop) {
        if (i + 3 <= end) {
          const h = hash3(src + i);
          store<i32>(prev + (<usize>(i & WMASK) << 2), load<i32>(head + (<usize>h << 2)));
          store<i32>(head + (<usize>h << 2), <i32>i);
        }
        i++;
      }
    } else {
      pushToken(<u32>load<u8>(src + i));
      i++;
    }
  }
  flushBlock(true);
  flushBits();
  const a = adler32(src, n);
  putByte(a >> 24);
  putByte((a >> 16) & 0xff);
  putByte((a >> 8) & 0xff);
  putByte(a & 0xff);
  store<u32>(lenOut, <u32>outLen);
  const result = out;
  out = 0;
  return result;
}
