// SipHash-1-3 with keys (0, 0): what Rust's `std::collections::hash_map::DefaultHasher::new()` computes.
// `str::hash` feeds the UTF-8 bytes and then one 0xFF byte (`Hasher::write_str`).

@inline function rl(x: u64, b: u64): u64 {
  return (x << b) | (x >> (64 - b));
}

let v0: u64 = 0, v1: u64 = 0, v2: u64 = 0, v3: u64 = 0;

@inline function round(): void {
  v0 += v1; v1 = rl(v1, 13); v1 ^= v0; v0 = rl(v0, 32);
  v2 += v3; v3 = rl(v3, 16); v3 ^= v2;
  v0 += v3; v3 = rl(v3, 21); v3 ^= v0;
  v2 += v1; v1 = rl(v1, 17); v1 ^= v2; v2 = rl(v2, 32);
}

/** SipHash-1-3(k0 = 0, k1 = 0) of the bytes [p, p+n) followed by one 0xFF byte. */
export function rustStrHash(p: usize, n: usize): u64 {
  v0 = 0x736f6d6570736575;
  v1 = 0x646f72616e646f6d;
  v2 = 0x6c7967656e657261;
  v3 = 0x7465646279746573;
  const total = n + 1; // the 0xFF terminator
  const whole = total & ~7;
  let i: usize = 0;
  for (; i + 8 <= n; i += 8) {
    const m = load<u64>(p + i);
    v3 ^= m;
    round();
    v0 ^= m;
  }
  // The last (partial) word: the rest of the bytes, the 0xFF, then length in the top byte.
  let m: u64 = 0;
  let shift: u64 = 0;
  let k = i;
  // If n % 8 == 7 the 0xFF completes a whole word.
  if (whole > i) {
    for (; k < n; k++, shift += 8) m |= <u64>load<u8>(p + k) << shift;
    m |= <u64>0xff << shift;
    v3 ^= m;
    round();
    v0 ^= m;
    m = 0;
  } else {
    for (; k < n; k++, shift += 8) m |= <u64>load<u8>(p + k) << shift;
    m |= <u64>0xff << shift;
  }
  m |= (<u64>total & 0xff) << 56;
  v3 ^= m;
  round();
  v0 ^= m;
  v2 ^= 0xff;
  round();
  round();
  round();
  return v0 ^ v1 ^ v2 ^ v3;
}
