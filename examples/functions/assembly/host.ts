// Host imports (lowered by the canonical ABI, see ../wit/) and small helpers built on them.

// wasi:logging/logging: log(level: enum, context: string, message: string)
// Canonical ABI: the enum is an i32; each string is (ptr, len) in UTF-8.
// @ts-ignore: decorator
@external("wasi:logging/logging", "log")
declare function hostLog(level: i32, ctxPtr: usize, ctxLen: usize, msgPtr: usize, msgLen: usize): void;

// homestar:host/helpers@0.1.1: get-current-time() -> time { seconds: u64, milliseconds: u32, nanoseconds: u32 }
// The record flattens to three values, more than MAX_FLAT_RESULTS (1), so the import takes a pointer to a
// 16-byte, 8-aligned area that the host fills: u64 at 0, u32 at 8, u32 at 12.
// @ts-ignore: decorator
@external("homestar:host/helpers@0.1.1", "get-current-time")
export declare function hostGetCurrentTime(retPtr: usize): void;

// homestar:host/helpers@0.1.1: print(msg: string)
// @ts-ignore: decorator
@external("homestar:host/helpers@0.1.1", "print")
export declare function hostPrint(ptr: usize, len: usize): void;

export const LEVEL_INFO: i32 = 2;
export const LEVEL_ERROR: i32 = 4;

// Scratch space for turning AssemblyScript string literals (UTF-16, ASCII content) into UTF-8.
const SCRATCH_CTX: usize = memory.data(64);
const SCRATCH_MSG: usize = memory.data(256);

function ascii(s: string, buf: usize, cap: i32): i32 {
  let n = s.length;
  if (n > cap) n = cap;
  for (let i = 0; i < n; i++) store<u8>(buf + <usize>i, <u8>s.charCodeAt(i));
  return n;
}

/** Logs an ASCII message through wasi:logging. */
export function log(level: i32, context: string, message: string): void {
  const c = ascii(context, SCRATCH_CTX, 64);
  const m = ascii(message, SCRATCH_MSG, 256);
  hostLog(level, SCRATCH_CTX, <usize>c, SCRATCH_MSG, <usize>m);
}

/** Every export announces itself this way, as Homestar's functions do (`log(info, "run-fn", name)`). */
export function runFn(name: string): void {
  log(LEVEL_INFO, "run-fn", name);
}

/**
 * Traps with a reason. Built with `--use abort=`, the module has no `env.abort` import, so the reason is logged
 * at level `error` with context `trap` through wasi:logging first, then `unreachable` traps.
 */
export function trap(reason: string): void {
  log(LEVEL_ERROR, "trap", reason);
  unreachable();
}
