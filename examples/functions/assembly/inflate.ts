// zlib (RFC 1950) + DEFLATE (RFC 1951) decoder: stored, fixed-Huffman and dynamic-Huffman blocks.
// Huffman codes are decoded with one flat lookup table per code, indexed by the next `maxLen` input
// bits (bit-reversed, as DEFLATE packs codes MSB-first into an LSB-first stream).

import { trap } from "./host";

// Length codes 257..285: base lengths and extra bits.
const LBASE: usize = memory.data<u16>([3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]);
const LEXT: usize = memory.data<u8>([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]);
// Distance codes 0..29.
const DBASE: usize = memory.data<u16>([1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]);
const DEXT: usize = memory.data<u8>([0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]);
// Order of code-length code lengths in a dynamic block header.
const CLORDER: usize = memory.data<u8>([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]);

// Bit reader state.
let inPos: usize = 0;
let inEnd: usize = 0;
let overrun: u32 = 0;
let bitBuf: u64 = 0;
let bitCnt: u32 = 0;

// Lookup tables (u16 entries: symbol << 4 | code length; 0 = invalid), allocated once.
let litTable: usize = 0;
let distTable: usize = 0;
let clTable: usize = 0;
let litMax: u32 = 0;
let distMax: u32 = 0;
let clMax: u32 = 0;
const LENS: usize = memory.data(320); // code lengths of the current block (286 + 30 max; reused)
const COUNT: usize = memory.data(16 * 2, 2);
const NEXT: usize = memory.data(16 * 2, 2);

@inline function refill(): void {
  while (bitCnt <= 56) {
    let b: u64 = 0;
    if (inPos < inEnd) b = <u64>load<u8>(inPos);
    else overrun++;
    inPos++;
    bitBuf |= b << bitCnt;
    bitCnt += 8;
  }
}

@inline function bits(n: u32): u32 {
  if (bitCnt < n) refill();
  const v = <u32>(bitBuf & ((<u64>1 << n) - 1));
  bitBuf >>= n;
  bitCnt -= n;
  return v;
}

function reverse(code: u32, len: u32): u32 {
  let r: u32 = 0;
  for (let i: u32 = 0; i < len; i++) {
    r = (r << 1) | (code & 1);
    code >>= 1;
  }
  return r;
}

/**
 * Builds a lookup table for `n` code lengths at `lens`; returns the table's bit width. As zlib: over-subscribed
 * codes are rejected, and incomplete ones too unless `allowSingle` and the code is one symbol of length 1.
 */
function build(table: usize, lens: usize, n: u32, allowSingle: bool = true): u32 {
  memory.fill(COUNT, 0, 32);
  let maxLen: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const l = <u32>load<u8>(lens + i);
    if (l > 0) {
      store<u16>(COUNT + (l << 1), load<u16>(COUNT + (l << 1)) + 1);
      if (l > maxLen) maxLen = l;
    }
  }
  if (maxLen == 0) return 0;
  // Canonical codes; reject over-subscribed code sets (incomplete ones are legal, e.g. one distance code).
  let left: i32 = 1;
  let code: u32 = 0;
  for (let l: u32 = 1; l <= 15; l++) {
    left = (left << 1) - <i32>load<u16>(COUNT + (l << 1));
    if (left < 0) trap("inflate: over-subscribed Huffman code");
    code = (code + <u32>load<u16>(COUNT + ((l - 1) << 1))) << 1;
    store<u16>(NEXT + (l << 1), <u16>code);
  }
  if (left > 0 && (!allowSingle || maxLen != 1)) trap("inflate: incomplete Huffman code");
  const size: u32 = 1 << maxLen;
  memory.fill(table, 0, <usize>size << 1);
  for (let sym: u32 = 0; sym < n; sym++) {
    const l = <u32>load<u8>(lens + sym);
    if (l == 0) continue;
    const c = <u32>load<u16>(NEXT + (l << 1));
    store<u16>(NEXT + (l << 1), <u16>(c + 1));
    const entry = <u16>((sym << 4) | l);
    for (let r = reverse(c, l); r < size; r += 1 << l) store<u16>(table + (<usize>r << 1), entry);
  }
  return maxLen;
}

@inline function decodeSym(table: usize, maxLen: u32): u32 {
  if (bitCnt < maxLen) refill();
  const e = <u32>load<u16>(table + (<usize>(<u32>bitBuf & ((1 << maxLen) - 1)) << 1));
  const l = e & 15;
  if (l == 0) trap("inflate: invalid Huffman code");
  bitBuf >>= l;
  bitCnt -= l;
  return e >> 4;
}

function fixedTables(): void {
  for (let i = 0; i < 144; i++) store<u8>(LENS + i, 8);
  for (let i = 144; i < 256; i++) store<u8>(LENS + i, 9);
  for (let i = 256; i < 280; i++) store<u8>(LENS + i, 7);
  for (let i = 280; i < 288; i++) store<u8>(LENS + i, 8);
  litMax = build(litTable, LENS, 288);
  // All 32 five-bit codes (30 and 31 complete the code but are invalid if used).
  for (let i = 0; i < 32; i++) store<u8>(LENS + i, 5);
  distMax = build(distTable, LENS, 32);
}

function dynamicTables(): void {
  const hlit = bits(5) + 257;
  const hdist = bits(5) + 1;
  const hclen = bits(4) + 4;
  if (hlit > 286 || hdist > 30) trap("inflate: bad dynamic block header");
  memory.fill(LENS, 0, 19);
  for (let i: u32 = 0; i < hclen; i++) store<u8>(LENS + <usize>load<u8>(CLORDER + i), <u8>bits(3));
  clMax = build(clTable, LENS, 19, false);
  if (clMax == 0) trap("inflate: empty code-length code");
  const total = hlit + hdist;
  let i: u32 = 0;
  while (i < total) {
    const sym = decodeSym(clTable, clMax);
    if (sym < 16) {
      store<u8>(LENS + i++, <u8>sym);
      continue;
    }
    let rep: u32 = 0;
    let val: u8 = 0;
    if (sym == 16) {
      if (i == 0) trap("inflate: repeat with no previous length");
      val = load<u8>(LENS + i - 1);
      rep = 3 + bits(2);
    } else if (sym == 17) rep = 3 + bits(3);
    else rep = 11 + bits(7);
    if (i + rep > total) trap("inflate: code lengths overflow");
    while (rep-- > 0) store<u8>(LENS + i++, val);
  }
  if (load<u8>(LENS + 256) == 0) trap("inflate: no end-of-block code");
  litMax = build(litTable, LENS, hlit);
  // Distance lengths follow the literal/length ones; copy them down so build() sees them from index 0.
  memory.copy(LENS, LENS + hlit, hdist);
  distMax = build(distTable, LENS, hdist);
}

/**
 * Inflates the zlib stream [src, src+srcLen) into exactly `outLen` bytes at `out`.
 * Like the png crate, the whole stream is decoded (so corruption after the last row still traps) but output
 * beyond `outLen` is discarded; the Adler-32 trailer must be present and is not checked. Traps on a malformed
 * or truncated stream and on output shorter than `outLen`.
 */
export function zlibInflate(src: usize, srcLen: usize, out: usize, outLen: usize): void {
  if (litTable == 0) {
    litTable = heap.alloc(2 << 15);
    distTable = heap.alloc(2 << 15);
    clTable = heap.alloc(2 << 7);
  }
  if (srcLen < 2) trap("zlib: stream too short");
  const cmf = <u32>load<u8>(src);
  const flg = <u32>load<u8>(src + 1);
  if ((cmf & 15) != 8 || (cmf >> 4) > 7) trap("zlib: not a deflate stream");
  if (((cmf << 8) | flg) % 31 != 0) trap("zlib: bad header check");
  if (flg & 0x20) trap("zlib: preset dictionary not supported");
  inPos = src + 2;
  inEnd = src + srcLen;
  overrun = 0;
  bitBuf = 0;
  bitCnt = 0;
  // `o` counts all output; bytes are stored only below `oEnd`.
  let o = out;
  const oEnd = out + outLen;
  let final: u32 = 0;
  do {
    final = bits(1);
    const type = bits(2);
    if (type == 0) {
      // Stored: drop to a byte boundary, then LEN and NLEN. Un-read whole bytes go back to the input.
      const drop = bitCnt & 7;
      bitBuf >>= drop;
      bitCnt -= drop;
      inPos -= <usize>(bitCnt >> 3);
      bitBuf = 0;
      bitCnt = 0;
      overrun = 0;
      if (inPos + 4 > inEnd) trap("inflate: truncated stored block");
      const len = <usize>load<u16>(inPos);
      const nlen = <usize>load<u16>(inPos + 2);
      if ((len ^ 0xffff) != nlen) trap("inflate: stored block length check failed");
      inPos += 4;
      if (inPos + len > inEnd) trap("inflate: truncated stored block");
      if (o < oEnd) memory.copy(o, inPos, o + len > oEnd ? oEnd - o : len);
      o += len;
      inPos += len;
      continue;
    }
    if (type == 1) fixedTables();
    else if (type == 2) dynamicTables();
    else trap("inflate: invalid block type");
    while (true) {
      const sym = decodeSym(litTable, litMax);
      if (sym < 256) {
        if (o < oEnd) store<u8>(o, <u8>sym);
        o++;
        continue;
      }
      if (sym == 256) break;
      const li = sym - 257;
      if (li >= 29) trap("inflate: invalid length code");
      const len = <usize>(<u32>load<u16>(LBASE + (li << 1)) + bits(<u32>load<u8>(LEXT + li)));
      if (distMax == 0) trap("inflate: distance code in a block without distances");
      const ds = decodeSym(distTable, distMax);
      if (ds >= 30) trap("inflate: invalid distance code");
      const dist = <usize>(<u32>load<u16>(DBASE + (ds << 1)) + bits(<u32>load<u8>(DEXT + ds)));
      if (dist > o - out) trap("inflate: distance too far back");
      if (o < oEnd) {
        const n = o + len > oEnd ? oEnd - o : len;
        let from = o - dist;
        if (dist >= n) memory.copy(o, from, n);
        else {
          let d = o;
          for (let k: usize = 0; k < n; k++) store<u8>(d++, load<u8>(from++));
        }
      }
      o += len;
    }
    if (overrun > 8) trap("inflate: truncated stream");
  } while (!final);
  if (overrun * 8 > bitCnt) trap("inflate: truncated stream");
  // The Adler-32 trailer starts at the next byte boundary.
  const unread = <usize>((bitCnt - (bitCnt & 7)) >> 3);
  if (inPos - unread + 4 > inEnd) trap("zlib: missing Adler-32 trailer");
  if (o < oEnd) trap("inflate: image data too short");
}
