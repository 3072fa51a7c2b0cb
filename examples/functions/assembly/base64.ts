// Base64 decoding of Homestar's `*-base64` inputs: every occurrence of "data:image/png;base64," is removed
// first (Rust's `str::replace`), then the rest is decoded as the base64 crate's STANDARD engine does: standard
// alphabet, canonical padding required (length a multiple of 4, at most two '=' at the end), the unused bits
// of the last symbol must be zero. Anything else traps.

import { trap } from "./host";
import { alloc, free } from "./mem";

const PREFIX: usize = memory.data<u8>([
  0x64, 0x61, 0x74, 0x61, 0x3a, 0x69, 0x6d, 0x61, 0x67, 0x65, 0x2f, 0x70, 0x6e, 0x67, 0x3b, 0x62, 0x61, 0x73,
  0x65, 0x36, 0x34, 0x2c,
]); // "data:image/png;base64,"
const PREFIX_LEN: usize = 22;

@inline function value(c: u32): i32 {
  if (c >= 65 && c <= 90) return <i32>c - 65;
  if (c >= 97 && c <= 122) return <i32>c - 71;
  if (c >= 48 && c <= 57) return <i32>c + 4;
  if (c == 43) return 62;
  if (c == 47) return 63;
  return -1;
}

/** Decodes into a new buffer; writes its length to `lenOut`. */
export function decodeDataUrl(p: usize, n: usize, lenOut: usize): usize {
  // Strip the prefix wherever it occurs.
  const clean = alloc(n);
  let m: usize = 0;
  let i: usize = 0;
  while (i < n) {
    if (i + PREFIX_LEN <= n && memory.compare(p + i, PREFIX, PREFIX_LEN) == 0) {
      i += PREFIX_LEN;
      continue;
    }
    store<u8>(clean + m++, load<u8>(p + i++));
  }
  // Padding: at most two '=' at the very end.
  let end = m;
  let pad = 0;
  while (end > 0 && load<u8>(clean + end - 1) == 61 && pad < 2) {
    end--;
    pad++;
  }
  if (m % 4 != 0) trap("base64: length is not a multiple of 4 (padding is required)");
  const out = alloc((end / 4) * 3 + 3);
  let o: usize = 0;
  let acc: u32 = 0;
  let bits: u32 = 0;
  for (let k: usize = 0; k < end; k++) {
    const v = value(load<u8>(clean + k));
    if (v < 0) trap("base64: invalid character");
    acc = (acc << 6) | <u32>v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      store<u8>(out + o++, <u8>(acc >> bits));
    }
  }
  if (bits > 0 && (acc & ((1 << bits) - 1)) != 0) trap("base64: non-zero trailing bits");
  free(clean);
  store<u32>(lenOut, <u32>o);
  return out;
}
