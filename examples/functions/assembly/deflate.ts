// zlib (RFC 1950) + DEFLATE (RFC 1951) encoder: one fixed-Huffman block, greedy LZ77 with hash chains
// (32 KiB window, 3-byte hash, bounded chain walk); CRC-32 and Adler-32.

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

/**
 * Compresses [src, src+n) into a zlib stream. Returns the buffer (owned by the caller, free with heap.free)
 * and writes its length to `lenOut`.
 */
export function zlibDeflate(src: usize, n: usize, lenOut: usize): usize {
  if (fixedLit == 0) init();
  outCap = n / 2 + 64;
  out = heap.alloc(outCap);
  outLen = 0;
  acc = 0;
  accBits = 0;
  putByte(0x78);
  putByte(0x9c);
  putBits(1, 1); // BFINAL
  putBits(1, 2); // BTYPE = 01, fixed Huffman
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
      const lc = <u32>load<u8>(lenCode + bestLen);
      putCode(load<u32>(fixedLit + (<usize>(257 + lc) << 2)));
      const le = <u32>load<u8>(LEXT + lc);
      if (le) putBits(bestLen - <u32>load<u16>(LBASE + (lc << 1)), le);
      const dc = distSym(bestDist);
      putCode(load<u32>(fixedDist + (<usize>dc << 2)));
      const de = <u32>load<u8>(DEXT + dc);
      if (de) putBits(bestDist - <u32>load<u16>(DBASE + (dc << 1)), de);
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
      putCode(load<u32>(fixedLit + (<usize>load<u8>(src + i) << 2)));
      i++;
    }
  }
  putCode(load<u32>(fixedLit + (256 << 2))); // end of block
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
