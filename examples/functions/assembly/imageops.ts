// Image operations with the semantics of Rust's `image` 0.24 DynamicImage methods used by Homestar.

import { trap } from "./host";
import { alloc, free } from "./mem";
import { Image, newImage, pixelBytes } from "./png";

/**
 * `DynamicImage::crop(x, y, w, h)` / `imageops::crop_imm`: the rectangle is clamped to the image
 * (x' = min(x, W), y' = min(y, H), w' = min(w, W - x'), h' = min(h, H - y')). An empty result cannot be
 * written as PNG (Homestar's function panics there), so it traps.
 */
export function crop(img: Image, x: u32, y: u32, w: u32, h: u32): Image {
  if (x > img.width) x = img.width;
  if (y > img.height) y = img.height;
  if (w > img.width - x) w = img.width - x;
  if (h > img.height - y) h = img.height - y;
  if (w == 0 || h == 0) trap("crop: the rectangle is empty after clamping to the image");
  const pb = <usize>pixelBytes(img);
  const out = newImage(w, h, img.channels, img.bps);
  const srcRow = <usize>img.width * pb;
  const dstRow = <usize>w * pb;
  for (let r: usize = 0; r < <usize>h; r++) {
    memory.copy(out.data + r * dstRow, img.data + (<usize>y + r) * srcRow + <usize>x * pb, dstRow);
  }
  return out;
}

/** `DynamicImage::rotate90`: clockwise; pixel (x, y) goes to (H - 1 - y, x); the result is H wide, W high. */
export function rotate90(img: Image): Image {
  const W = <usize>img.width, H = <usize>img.height;
  const pb = <usize>pixelBytes(img);
  const out = newImage(img.height, img.width, img.channels, img.bps);
  const outRow = H * pb;
  for (let y: usize = 0; y < H; y++) {
    const src = img.data + y * W * pb;
    const dx = (H - 1 - y) * pb;
    if (pb == 4) {
      for (let x: usize = 0; x < W; x++) store<u32>(out.data + x * outRow + dx, load<u32>(src + x * 4));
    } else {
      for (let x: usize = 0; x < W; x++) memory.copy(out.data + x * outRow + dx, src + x * pb, pb);
    }
  }
  return out;
}

@inline function sample(p: usize, bps: u32): u32 {
  return bps == 1 ? <u32>load<u8>(p) : <u32>bswap<u16>(load<u16>(p));
}

@inline function putSample(p: usize, bps: u32, v: u32): void {
  if (bps == 1) store<u8>(p, <u8>v);
  else store<u16>(p, bswap<u16>(<u16>v));
}

/**
 * `DynamicImage::grayscale`: RGB becomes Luma, RGBA becomes LumaA (alpha kept), Luma/LumaA are unchanged;
 * the bit depth is kept. Luma = (2126 R + 7152 G + 722 B) / 10000, truncated, as image's `rgb_to_luma`.
 */
export function grayscale(img: Image): Image {
  const ch = img.channels;
  const bps = img.bps;
  const outCh: u32 = ch == 3 ? 1 : ch == 4 ? 2 : ch;
  const out = newImage(img.width, img.height, outCh, bps);
  const n = <usize>img.width * <usize>img.height;
  if (ch <= 2) {
    memory.copy(out.data, img.data, n * <usize>(ch * bps));
    return out;
  }
  const ipb = <usize>(ch * bps);
  const opb = <usize>(outCh * bps);
  const sb = <usize>bps;
  for (let i: usize = 0; i < n; i++) {
    const s = img.data + i * ipb;
    const d = out.data + i * opb;
    const r = sample(s, bps), g = sample(s + sb, bps), b = sample(s + 2 * sb, bps);
    putSample(d, bps, (2126 * r + 7152 * g + 722 * b) / 10000);
    if (ch == 4) putSample(d + sb, bps, sample(s + 3 * sb, bps));
  }
  return out;
}

/** Builds the normalized Gaussian window for output position `o` along an axis of length `len`. */
@inline function gauss(x: f32, sigma: f32): f32 {
  // Evaluated as image's `gaussian`: (sqrt(2π)·σ)⁻¹ · exp(-x² / (2·σ²)), in f32.
  return (<f32>1.0 / (Mathf.sqrt(<f32>2.0 * Mathf.PI) * sigma)) * Mathf.exp(-(x * x) / (<f32>2.0 * (sigma * sigma)));
}

// Per-position windows: LEFT[o] (u32), COUNT[o] (u32), and weights at WOFF[o] (u32 index into WEIGHTS).
function windows(len: u32, sigma: f32, support: f32, lefts: usize, counts: usize, woffs: usize, weights: usize): void {
  let wi: u32 = 0;
  for (let o: u32 = 0; o < len; o++) {
    const center: f32 = <f32>o + 0.5;
    let left = <i64>Mathf.floor(center - support);
    if (left < 0) left = 0;
    if (left > <i64>len - 1) left = <i64>len - 1;
    let right = <i64>Mathf.ceil(center + support);
    if (right < left + 1) right = left + 1;
    if (right > <i64>len) right = <i64>len;
    const c = center - 0.5;
    let sum: f32 = 0;
    const base = wi;
    for (let i = left; i < right; i++) {
      const w = gauss(<f32>i - c, sigma);
      store<f32>(weights + (<usize>wi << 2), w);
      wi++;
      sum += w;
    }
    for (let k = base; k < wi; k++) store<f32>(weights + (<usize>k << 2), load<f32>(weights + (<usize>k << 2)) / sum);
    store<u32>(lefts + (<usize>o << 2), <u32>left);
    store<u32>(counts + (<usize>o << 2), <u32>(right - left));
    store<u32>(woffs + (<usize>o << 2), base);
  }
}

function windowTaps(len: u32, support: f32): usize {
  // Upper bound on the number of taps over all positions.
  const per: f32 = <f32>2.0 * Mathf.ceil(support) + 3;
  const taps: usize = per >= <f32>len ? <usize>len : <usize>per;
  return <usize>len * taps;
}

/**
 * `DynamicImage::blur(sigma)` (`imageops::blur`): a separable Gaussian, first vertical then horizontal, each
 * pass with kernel exp(-x²/2σ²) over taps i in [floor(o + 0.5 - 2σ), ceil(o + 0.5 + 2σ)) clipped to the image
 * and renormalized (so edges are not extended), weights evaluated at (i - o); σ <= 0 means σ = 1. Every
 * channel (alpha included) is filtered independently; the intermediate is f32, the result is clamped and
 * rounded to the nearest integer.
 */
export function blur(img: Image, sigma: f32): Image {
  if (!(sigma > 0)) sigma = 1.0;
  const support: f32 = <f32>2.0 * sigma;
  const W = img.width, H = img.height;
  const ch = <usize>img.channels;
  const bps = img.bps;
  const sb = <usize>bps;
  const maxV: f32 = bps == 1 ? 255 : 65535;
  const rowS = <usize>W * ch; // samples per row
  const tmpSize = <u64>rowS * <u64>H * 4;
  if (tmpSize > 0x7fff0000) trap("blur: image too large");
  const tmp = alloc(<usize>tmpSize);
  memory.fill(tmp, 0, <usize>tmpSize);

  // Vertical pass: tmp[y] = sum_i w_i * src[i].
  let lefts = alloc(<usize>H * 4), counts = alloc(<usize>H * 4), woffs = alloc(<usize>H * 4);
  let weights = alloc(windowTaps(H, support) * 4);
  windows(H, sigma, support, lefts, counts, woffs, weights);
  for (let y: u32 = 0; y < H; y++) {
    const left = load<u32>(lefts + (<usize>y << 2));
    const cnt = load<u32>(counts + (<usize>y << 2));
    const wo = load<u32>(woffs + (<usize>y << 2));
    const t = tmp + <usize>y * rowS * 4;
    for (let k: u32 = 0; k < cnt; k++) {
      const w = load<f32>(weights + (<usize>(wo + k) << 2));
      const src = img.data + <usize>(left + k) * rowS * sb;
      if (bps == 1) {
        for (let s: usize = 0; s < rowS; s++) store<f32>(t + (s << 2), load<f32>(t + (s << 2)) + <f32>load<u8>(src + s) * w);
      } else {
        for (let s: usize = 0; s < rowS; s++)
          store<f32>(t + (s << 2), load<f32>(t + (s << 2)) + <f32>bswap<u16>(load<u16>(src + (s << 1))) * w);
      }
    }
  }
  free(lefts); free(counts); free(woffs); free(weights);

  // Horizontal pass: out[x] = round(clamp(sum_i w_i * tmp[i])).
  const out = newImage(W, H, img.channels, bps);
  lefts = alloc(<usize>W * 4); counts = alloc(<usize>W * 4); woffs = alloc(<usize>W * 4);
  weights = alloc(windowTaps(W, support) * 4);
  windows(W, sigma, support, lefts, counts, woffs, weights);
  for (let y: u32 = 0; y < H; y++) {
    const t = tmp + <usize>y * rowS * 4;
    const d = out.data + <usize>y * rowS * sb;
    for (let x: u32 = 0; x < W; x++) {
      const left = <usize>load<u32>(lefts + (<usize>x << 2));
      const cnt = <usize>load<u32>(counts + (<usize>x << 2));
      const wo = <usize>load<u32>(woffs + (<usize>x << 2));
      for (let c: usize = 0; c < ch; c++) {
        let acc: f32 = 0;
        for (let k: usize = 0; k < cnt; k++) {
          acc += load<f32>(t + (((left + k) * ch + c) << 2)) * load<f32>(weights + ((wo + k) << 2));
        }
        if (acc < 0) acc = 0;
        if (acc > maxV) acc = maxV;
        // Round half away from zero (Rust's f32::round), exact: acc - trunc(acc) has no rounding error.
        let v = <u32>Mathf.trunc(acc);
        if (acc - <f32>v >= 0.5) v++;
        const di = d + (<usize>x * ch + c) * sb;
        if (bps == 1) store<u8>(di, <u8>v);
        else store<u16>(di, bswap<u16>(<u16>v));
      }
    }
  }
  free(lefts); free(counts); free(woffs); free(weights);
  free(tmp);
  return out;
}
