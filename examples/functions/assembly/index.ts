// Homestar's test world (package homestar:test@0.1.1, world test; see ../wit/world.wit) in AssemblyScript,
// with hand-written canonical-ABI glue (string encoding utf8).
//
// Conventions:
// - Strings and lists arrive as (ptr, len) allocated by the host through `cabi_realloc`; the callee owns them
//   and frees them here once used.
// - Results that flatten to more than one core value are written to the static return area RET, whose address
//   is returned; `cabi_post_<name>` frees what such a result points to after the host has copied it out.
// - AssemblyScript cannot spell export names with `-`; build.mjs renames `add_one` to `add-one`, etc.
// - Every function logs `log(info, "run-fn", <name>)` first, as Homestar's functions do.

import { hostGetCurrentTime, runFn, trap, log, LEVEL_INFO } from "./host";
import { alloc, free, grow, RET, retList, EMPTY } from "./mem";
import { decodePng, encodePng, freeImage, Image } from "./png";
import { blur as blurImage, crop as cropImage, grayscale as grayImage, rotate90 as rotateImage } from "./imageops";
import { rustStrHash } from "./siphash";
import { decodeDataUrl } from "./base64";

// ---------------------------------------------------------------------------------------------------------
// canonical ABI: allocation

export function cabi_realloc(oldPtr: usize, oldSize: usize, align: usize, newSize: usize): usize {
  if (align > 16) trap("cabi_realloc: alignment above 16 is not supported");
  if (oldPtr == 0 || oldPtr == EMPTY || oldSize == 0) return alloc(newSize);
  if (newSize == 0) {
    free(oldPtr);
    return EMPTY;
  }
  return grow(oldPtr, newSize);
}

/** Frees the list or string a RET-style result points to. */
function freeRetList(ret: usize): void {
  free(<usize>load<u32>(ret));
}

const LEN_OUT: usize = memory.data(4, 4);

function concat(a: usize, aLen: usize, b: usize, bLen: usize): usize {
  const out = alloc(aLen + bLen);
  memory.copy(out, a, aLen);
  memory.copy(out + aLen, b, bLen);
  return retList(out, aLen + bLen);
}

// ---------------------------------------------------------------------------------------------------------
// numbers and strings

export function add_one(a: i32): i32 {
  runFn("add-one");
  return a + 1;
}

const WORLD: usize = memory.data<u8>([0x0a, 0x77, 0x6f, 0x72, 0x6c, 0x64]); // "\nworld"

export function append_string(p: usize, n: usize): usize {
  runFn("append-string");
  const r = concat(p, n, WORLD, 6);
  free(p);
  return r;
}
export function cabi_post_append_string(ret: usize): void {
  freeRetList(ret);
}

export function join_strings(a: usize, aLen: usize, b: usize, bLen: usize): usize {
  runFn("join-strings");
  const r = concat(a, aLen, b, bLen);
  free(a);
  free(b);
  return r;
}
export function cabi_post_join_strings(ret: usize): void {
  freeRetList(ret);
}

/** Writes `v` in decimal at `p`, zero-padded to at least `width` digits; returns the digit count. */
function writeDec(p: usize, v: u64, width: u32): u32 {
  let digits: u32 = 1;
  let t = v;
  while (t >= 10) {
    t /= 10;
    digits++;
  }
  if (digits < width) digits = width;
  for (let i: i32 = <i32>digits - 1; i >= 0; i--) {
    store<u8>(p + <usize>i, <u8>(48 + <u32>(v % 10)));
    v /= 10;
  }
  return digits;
}

const TIME: usize = memory.data(16, 8);

/** Homestar: `format!("{:02}:{:02}.{:03}", time.seconds, time.milliseconds, time.nanoseconds)`. */
export function host_fmt_current_time(): usize {
  // Homestar's function logs this one as ("run-fn:host", "host_fmt_current_time").
  log(LEVEL_INFO, "run-fn:host", "host_fmt_current_time");
  hostGetCurrentTime(TIME);
  const s = load<u64>(TIME);
  const ms = <u64>load<u32>(TIME, 8);
  const ns = <u64>load<u32>(TIME, 12);
  const out = alloc(48);
  let n: usize = writeDec(out, s, 2);
  store<u8>(out + n++, 58); // ':'
  n += writeDec(out + n, ms, 2);
  store<u8>(out + n++, 46); // '.'
  n += writeDec(out + n, ns, 3);
  return retList(out, n);
}
export function cabi_post_host_fmt_current_time(ret: usize): void {
  freeRetList(ret);
}

// ---------------------------------------------------------------------------------------------------------
// lists

/** list<list<u16>>: the outer list holds (ptr, len) pairs (8 bytes each); inner elements are u16. */
export function transpose(m: usize, rows: usize): usize {
  runFn("transpose");
  if (rows == 0) trap("transpose: empty matrix");
  const cols = <usize>load<u32>(m, 4);
  for (let r: usize = 0; r < rows; r++) {
    if (<usize>load<u32>(m + r * 8, 4) < cols) trap("transpose: a row is shorter than the first row");
  }
  const outer = alloc(cols * 8);
  for (let c: usize = 0; c < cols; c++) {
    const inner = alloc(rows * 2);
    for (let r: usize = 0; r < rows; r++) {
      store<u16>(inner + r * 2, load<u16>(<usize>load<u32>(m + r * 8) + c * 2));
    }
    store<u32>(outer + c * 8, <u32>inner);
    store<u32>(outer + c * 8, <u32>rows, 4);
  }
  for (let r: usize = 0; r < rows; r++) free(<usize>load<u32>(m + r * 8));
  free(m);
  return retList(outer, cols);
}
export function cabi_post_transpose(ret: usize): void {
  const outer = <usize>load<u32>(ret);
  const n = <usize>load<u32>(ret, 4);
  for (let i: usize = 0; i < n; i++) free(<usize>load<u32>(outer + i * 8));
  free(outer);
}

/** option<s32> in the return area: discriminant u8 at 0, payload at 4. Homestar logs this as "pop-array". */
export function pop(p: usize, n: usize): usize {
  runFn("pop-array");
  if (n == 0) {
    store<u8>(RET, 0);
    store<i32>(RET, 0, 4);
  } else {
    store<u8>(RET, 1);
    store<i32>(RET, load<i32>(p + (n - 1) * 4), 4);
  }
  free(p);
  return RET;
}

/** In-place heapsort of n i32 values (Homestar sorts the slice before searching). */
function sortI32(p: usize, n: usize): void {
  if (n < 2) return;
  let start = n / 2;
  let end = n;
  while (end > 1) {
    if (start > 0) start--;
    else {
      end--;
      const t = load<i32>(p + end * 4);
      store<i32>(p + end * 4, load<i32>(p));
      store<i32>(p, t);
    }
    let root = start;
    while (true) {
      let child: usize = 2 * root + 1;
      if (child >= end) break;
      if (child + 1 < end && load<i32>(p + child * 4) < load<i32>(p + (child + 1) * 4)) child++;
      if (load<i32>(p + root * 4) < load<i32>(p + child * 4)) {
        const t = load<i32>(p + root * 4);
        store<i32>(p + root * 4, load<i32>(p + child * 4));
        store<i32>(p + child * 4, t);
        root = child;
      } else break;
    }
  }
}

/**
 * result<s32> in the return area: discriminant u8 at 0 (0 = ok, 1 = err), payload at 4.
 * Homestar: `slice.sort(); slice.binary_search(&x).map(|y| y as i32).map_err(|_| ())`. The search is the
 * classic std implementation (Rust before 1.82, which Homestar's fixtures were built with): it returns the
 * first midpoint that compares equal, so with duplicates the index can differ from today's std.
 */
export function binary_search(p: usize, n: usize, x: i32): usize {
  runFn("binary-search");
  sortI32(p, n);
  let size = n;
  let left: usize = 0;
  let right = n;
  let found = false;
  let index: usize = 0;
  while (left < right) {
    const mid = left + size / 2;
    const v = load<i32>(p + mid * 4);
    if (v < x) left = mid + 1;
    else if (v > x) right = mid;
    else {
      found = true;
      index = mid;
      break;
    }
    size = right - left;
  }
  free(p);
  store<u8>(RET, found ? 0 : 1);
  store<i32>(RET, found ? <i32>index : 0, 4);
  return RET;
}

/**
 * num: result<u32, string> flattens to (discriminant, payload0, payload1): ok -> (0, n, _), err -> (1, ptr, len).
 * num-keys in the return area: name (ptr, len) at 0 and 4; val option<u32>: discriminant u8 at 8, value at 12.
 */
const NAN: usize = memory.data<u8>([0x4e, 0x41, 0x4e]);

export function num_to_kv(tag: i32, a: i32, b: i32): usize {
  runFn("num-to-kv");
  if (tag == 0) {
    const name = alloc(10);
    const n = writeDec(name, <u64><u32>a, 1);
    store<u32>(RET, <u32>name);
    store<u32>(RET, n, 4);
    store<u8>(RET, 1, 8);
    store<u32>(RET, <u32>a, 12);
  } else {
    free(<usize><u32>a);
    const name = alloc(3);
    memory.copy(name, NAN, 3);
    store<u32>(RET, <u32>name);
    store<u32>(RET, 3, 4);
    store<u8>(RET, 0, 8);
    store<u32>(RET, 0, 12);
  }
  return RET;
}
export function cabi_post_num_to_kv(ret: usize): void {
  freeRetList(ret);
}

/** Homestar: DefaultHasher of the string, `finish().to_be_bytes()`. */
export function hash(p: usize, n: usize): usize {
  runFn("hash");
  const h = rustStrHash(p, n);
  free(p);
  const out = alloc(8);
  store<u64>(out, bswap<u64>(h));
  return retList(out, 8);
}
export function cabi_post_hash(ret: usize): void {
  freeRetList(ret);
}

// ---------------------------------------------------------------------------------------------------------
// images: PNG in, PNG out

const OP_BLUR: i32 = 0;
const OP_CROP: i32 = 1;
const OP_GRAY: i32 = 2;
const OP_ROT: i32 = 3;

function imageOp(op: i32, p: usize, n: usize, sigma: f32, x: u32, y: u32, w: u32, h: u32): usize {
  const img = decodePng(p, n);
  free(p);
  let res: Image;
  if (op == OP_BLUR) res = blurImage(img, sigma);
  else if (op == OP_CROP) res = cropImage(img, x, y, w, h);
  else if (op == OP_GRAY) res = grayImage(img);
  else res = rotateImage(img);
  freeImage(img);
  const png = encodePng(res, LEN_OUT);
  freeImage(res);
  return retList(png, <usize>load<u32>(LEN_OUT));
}

function fromBase64(p: usize, n: usize): usize {
  const bytes = decodeDataUrl(p, n, LEN_OUT);
  free(p);
  return bytes;
}

export function blur(p: usize, n: usize, sigma: f32): usize {
  runFn("blur");
  return imageOp(OP_BLUR, p, n, sigma, 0, 0, 0, 0);
}
export function blur_base64(p: usize, n: usize, sigma: f32): usize {
  runFn("blur-base64");
  const b = fromBase64(p, n);
  return imageOp(OP_BLUR, b, <usize>load<u32>(LEN_OUT), sigma, 0, 0, 0, 0);
}
export function crop(p: usize, n: usize, x: u32, y: u32, w: u32, h: u32): usize {
  runFn("crop");
  return imageOp(OP_CROP, p, n, 0, x, y, w, h);
}
export function crop_base64(p: usize, n: usize, x: u32, y: u32, w: u32, h: u32): usize {
  runFn("crop-base64");
  const b = fromBase64(p, n);
  return imageOp(OP_CROP, b, <usize>load<u32>(LEN_OUT), 0, x, y, w, h);
}
export function grayscale(p: usize, n: usize): usize {
  runFn("grayscale");
  return imageOp(OP_GRAY, p, n, 0, 0, 0, 0, 0);
}
export function grayscale_base64(p: usize, n: usize): usize {
  runFn("grayscale-base64");
  const b = fromBase64(p, n);
  return imageOp(OP_GRAY, b, <usize>load<u32>(LEN_OUT), 0, 0, 0, 0, 0);
}
export function rotate90(p: usize, n: usize): usize {
  runFn("rotate90");
  return imageOp(OP_ROT, p, n, 0, 0, 0, 0, 0);
}
export function rotate90_base64(p: usize, n: usize): usize {
  runFn("rotate90-base64");
  const b = fromBase64(p, n);
  return imageOp(OP_ROT, b, <usize>load<u32>(LEN_OUT), 0, 0, 0, 0, 0);
}
export function cabi_post_blur(ret: usize): void { freeRetList(ret); }
export function cabi_post_blur_base64(ret: usize): void { freeRetList(ret); }
export function cabi_post_crop(ret: usize): void { freeRetList(ret); }
export function cabi_post_crop_base64(ret: usize): void { freeRetList(ret); }
export function cabi_post_grayscale(ret: usize): void { freeRetList(ret); }
export function cabi_post_grayscale_base64(ret: usize): void { freeRetList(ret); }
export function cabi_post_rotate90(ret: usize): void { freeRetList(ret); }
export function cabi_post_rotate90_base64(ret: usize): void { freeRetList(ret); }
