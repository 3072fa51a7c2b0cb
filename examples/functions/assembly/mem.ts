// Memory helpers: a real allocator (TLSF, from `--runtime minimal`) used through heap.alloc/heap.free
// directly. No managed (GC) objects are created on the hot paths, so nothing depends on a collector.

/** Static return area for results that do not fit in one core value (canonical ABI return pointer). */
export const RET: usize = memory.data(16, 8);
/** What a zero-byte allocation returns: a valid, aligned address that is never freed. */
export const EMPTY: usize = memory.data(16, 16);

export function alloc(size: usize): usize {
  return size == 0 ? EMPTY : heap.alloc(size);
}

export function free(ptr: usize): void {
  if (ptr != 0 && ptr != EMPTY && ptr >= __heap_base) heap.free(ptr);
}

export function grow(ptr: usize, size: usize): usize {
  if (ptr == 0 || ptr == EMPTY) return alloc(size);
  return heap.realloc(ptr, size);
}

/** Stores a (ptr, len) pair in the return area and returns the area's address. */
export function retList(ptr: usize, len: usize): usize {
  store<u32>(RET, <u32>ptr);
  store<u32>(RET, <u32>len, 4);
  return RET;
}

@inline export function be32(p: usize): u32 {
  return bswap<u32>(load<u32>(p));
}

@inline export function putBe32(p: usize, v: u32): void {
  store<u32>(p, bswap<u32>(v));
}
