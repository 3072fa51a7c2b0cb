/**
 * Fuel metering and memory caps for core Wasm modules, by rewriting the binary.
 *
 * Fuel: every instruction of every function body is decoded. The body is cut into straight-line
 * segments, and each segment is charged its instruction count on entry (wasmtime's default costs:
 * nop, drop, block, loop, unreachable, return, else and end cost 0, and so do the exception-handling
 * markers try, try_table, catch, catch_all and delegate; everything else costs 1). `$fuel` is an
 * appended mutable i64 global exported as `__ipvm_fuel`: appending keeps every existing global
 * index valid.
 *
 * Charging is cheap and checking is rare. Inside a function the counter lives in an appended i64
 * local (a register in hot loops): a charge is `local.get; i64.const cost; i64.sub; local.set`. It
 * is loaded from the global at entry, spilled to it before every call, return, branch to the
 * function's label and `unreachable`, and reloaded after every call. It is compared with zero only
 * at function entry, at every loop header, and before calls that may reach the host (imported,
 * indirect, by reference): every back edge passes a loop header and every recursion a function
 * entry, so a runaway guest still stops, and between two checks there is at most straight-line code
 * (bounded by the code size) and calls into checked functions. A failed check spills the (negative)
 * counter, then traps. Functions that use exception handling keep the counter in the global (same
 * charges and checks on `global.get`/`global.set`), so a handler sees what the callees spent.
 *
 * The contract for the host: a call (or trap) that leaves the counter negative ran out of fuel,
 * including a call that returned normally a few segments past its budget; budget minus counter is
 * the fuel used. A completed call is charged exactly its executed instruction count. A trap other
 * than the fuel check may find the global behind the local (not spilled since the last call), so
 * a guest that overdraws and then hits, say, an out-of-bounds load in the same stretch is reported
 * as that trap; every outcome is still a function of module, arguments and budget alone.
 *
 * Where segments start: function entry; after `loop` and `if` (branch targets / conditional entry);
 * after `else`, `catch`, `catch_all`, `delegate` and the `end` of an `if`, `try`, `try_table`, or of
 * a `block` that some branch targets (merge points) — the end of a `loop` or of an untargeted
 * `block` is reached only by falling through, so its code continues the segment; after the
 * conditional branches `br_if`, `br_on_null`, `br_on_non_null`. After the unconditional transfers
 * (`br`, `br_table`, `return`, `unreachable`, `throw`, `rethrow`, `throw_ref`, `return_call*`) the
 * code is dead until the next structural marker, so it is not charged. `block`, `try` and
 * `try_table` do not start a segment: their body is entered only by falling through. Calls do not
 * end a segment: a segment is paid in full on entry, so a completed call is charged exactly its
 * executed instruction count. The one inexactness: when a callee throws an exception that this
 * function catches, the remainder of the calling segment was already paid (still deterministic,
 * never undercharged).
 *
 * Memory: the limits of every defined and imported memory get `max = min(max, cap)`; a minimum
 * above the cap is an {@link OutOfMemoryError}. Each `memory.grow` is followed by code that sets the
 * exported i32 global `__ipvm_oom` to 1 when the grow failed (returned -1), so a guest that traps
 * after failing to allocate is classified as out of memory, not as a plain trap.
 *
 * Start functions run during instantiation on the initial fuel (2^62). With `deferStart` the start
 * section becomes an `__ipvm_start` export that the host calls under the task's budget instead.
 * With `fuelImport` the fuel global is imported (`"__ipvm" "fuel"`) rather than appended, so the
 * core instances of one component share a budget; the module's own globals are then renumbered.
 */
import { ByteReader, ByteWriter, WasmFormatError, binaryKind } from './binary.js'
import { InvalidLimitError, OutOfMemoryError } from './errors.js'
import type { Limits } from './limits.js'

/** Export name of the fuel global (mutable i64; negative after running out). */
export const FUEL_EXPORT = '__ipvm_fuel'
/** Export name of the out-of-memory flag (mutable i32; 1 once a `memory.grow` failed). */
export const OOM_EXPORT = '__ipvm_oom'
/**
 * Export name of a deferred start function (see {@link InstrumentOptions.deferStart}): the host
 * calls it once, right after instantiation, under the task's fuel budget.
 */
export const START_EXPORT = '__ipvm_start'
/**
 * Where a module instrumented with `fuelImport` imports its fuel global from: `(import "__ipvm" "fuel"
 * (global (mut i64)))`. Pass the same `WebAssembly.Global` to several instances to share one budget.
 */
export const FUEL_IMPORT_MODULE = '__ipvm'
export const FUEL_IMPORT_NAME = 'fuel'
/** Initial fuel: large enough for any start function, far from i64 overflow. */
export const DEFAULT_INITIAL_FUEL = 1n << 62n
/** Largest fuel budget the i64 global can hold. */
export const MAX_FUEL = (1n << 63n) - 1n
const PAGE = 65536
const MAX_PAGES_32 = 65536

export interface InstrumentOptions {
  /** Insert fuel metering and export the `__ipvm_fuel` global. */
  fuel?: boolean
  /** Cap every linear memory at this many bytes (rounded down to whole pages). */
  maxMemoryBytes?: number
  /** Initial value of the fuel global (what start functions run on). Default 2^62. */
  initialFuel?: bigint
  /**
   * Remove the start section and export the start function as `__ipvm_start` instead, so the host
   * runs it after instantiation, with the task's budget and with its failures classified (a trap
   * during instantiation leaves no instance to read the fuel and OOM globals from). Only for hosts
   * that call `__ipvm_start` themselves, as {@link runCoreExport} does.
   */
  deferStart?: boolean
  /**
   * Import the fuel global (`"__ipvm" "fuel"`, mutable i64) instead of defining it, so the core
   * instances of one component draw on one shared budget, and a start function runs on a budget the
   * host set beforehand. It is still exported as `__ipvm_fuel`. Costs a renumbering of the module's
   * own globals (code, constant expressions, exports, the name section).
   */
  fuelImport?: boolean
}

// Section ids, and their required order (custom sections, id 0, may sit anywhere).
const SEC_TYPE = 1
const SEC_IMPORT = 2
const SEC_FUNCTION = 3
const SEC_MEMORY = 5
const SEC_GLOBAL = 6
const SEC_EXPORT = 7
const SEC_START = 8
const SEC_ELEMENT = 9
const SEC_CODE = 10
const SEC_DATA = 11
const ORDER: Record<number, number> = { 1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13 }

// Static instruction costs of the one-byte opcodes (prefixed opcodes all cost 1).
const COST = new Uint8Array(256).fill(1)
// Zero: nop, drop, and the structural markers (block, loop, unreachable, return, else, end, as in
// wasmtime; and by the same logic try, try_table, catch, catch_all, delegate).
for (const op of [0x01, 0x1a, 0x02, 0x03, 0x00, 0x0f, 0x05, 0x0b, 0x06, 0x1f, 0x07, 0x19, 0x18]) COST[op] = 0

// Edit kinds recorded by the scan and applied by the copy.
const EDIT_NONE = 0
const EDIT_CHARGE = 1
const EDIT_OOM32 = 2
const EDIT_OOM64 = 3
const EDIT_GLOBAL = 4 // replace a global index immediate (arg: the new index)
const EDIT_ENTRY = 5 // function entry: load the fuel, charge the first segment (arg: cost), check
const EDIT_LOOP = 6 // loop header: charge the loop's first segment (arg: cost), check
const EDIT_CALL = 7 // before a call: spill the fuel local; arg 1: check (callee has no entry check)
const EDIT_RELOAD = 8 // after a call: reload the fuel local from the global
const EDIT_SPILL = 9 // before a return or trap: spill the fuel local to the global

/** Growable (offset, kind, arg) triples, reused across calls: instrument() is synchronous. */
let edits = new Int32Array(3 * 4096)
let editCount = 0
function pushEdit (at: number, kind: number, arg: number): number {
  if (3 * editCount + 3 > edits.length) {
    const next = new Int32Array(edits.length * 2)
    next.set(edits)
    edits = next
  }
  const i = 3 * editCount++
  edits[i] = at
  edits[i + 1] = kind
  edits[i + 2] = arg
  return i
}

function writeSleb (w: ByteWriter, n: number): void {
  for (;;) {
    const byte = n & 0x7f
    n = Math.floor(n / 128)
    if (n === 0 && (byte & 0x40) === 0) { w.u8(byte); return }
    w.u8(byte | 0x80)
  }
}

/** Unsigned LEB128 of a non-negative safe integer (memory64 limits exceed u32). */
function writeUleb (w: ByteWriter, n: number): void {
  do {
    let byte = n % 128
    n = Math.floor(n / 128)
    if (n !== 0) byte |= 0x80
    w.u8(byte)
  } while (n !== 0)
}

function uleb (n: number): Uint8Array {
  const w = new ByteWriter(8)
  writeUleb(w, n)
  return w.finish()
}

function concat (...parts: Array<Uint8Array | number[]>): Uint8Array {
  const w = new ByteWriter(32)
  for (const part of parts) w.bytes(part instanceof Uint8Array ? part : Uint8Array.from(part))
  return w.finish()
}

/** A value type; reference types with a heap type (0x63/0x64) carry an s33 after them. */
function skipValType (r: ByteReader): void {
  const b = r.u8()
  if (b === 0x63 || b === 0x64) r.skipLeb()
}

function skipBlockType (r: ByteReader): void {
  // 0x40, a one-byte value type (a negative s33), or a non-negative s33 type index.
  const b = r.peek()
  if (b === 0x63 || b === 0x64) { r.u8(); r.skipLeb(); return }
  r.skipLeb()
}

function skipMemarg (r: ByteReader): void {
  const align = r.u32()
  if ((align & 0x40) !== 0) r.u32() // multi-memory: memory index follows
  r.skipLeb() // offset: u32, or u64 for memory64
}

interface MemoryLimits {
  flags: number
  min: number
  max: number | undefined
}

function readLimits (r: ByteReader, what: string): MemoryLimits {
  const flags = r.u8()
  if ((flags & ~0x07) !== 0) r.fail(`unsupported ${what} limits flags 0x${flags.toString(16)}`)
  const is64 = (flags & 0x04) !== 0
  const read = (): number => is64 ? Number(r.u64()) : r.u32()
  const min = read()
  const max = (flags & 0x01) !== 0 ? read() : undefined
  return { flags, min, max }
}

/** Writes memory limits with the cap applied; throws when the memory's minimum is above it. */
function writeCappedMemory (w: ByteWriter, limits: MemoryLimits, capPages: number, capBytes: number, index: number): void {
  const is64 = (limits.flags & 0x04) !== 0
  const cap = is64 ? capPages : Math.min(capPages, MAX_PAGES_32)
  if (limits.min > cap) {
    throw new OutOfMemoryError(capBytes,
      `memory ${index} needs at least ${limits.min * PAGE} bytes, above the limit of ${capBytes} bytes`,
      { required: limits.min * PAGE, memory: index })
  }
  const max = limits.max === undefined ? cap : Math.min(limits.max, cap)
  w.u8(limits.flags | 0x01)
  writeUleb(w, limits.min)
  writeUleb(w, max)
}

/** What the rewrite needs to know about the module, gathered from its sections before the code. */
interface ModulePlan {
  fuel: boolean
  capPages: number | undefined
  capBytes: number
  importedGlobals: number
  definedGlobals: number
  /** 1 when the fuel global is imported: the module's own globals move up by one. */
  shift: number
  /** Per memory index: is it a 64-bit memory. */
  memory64: boolean[]
  fuelGlobal: number
  oomGlobal: number
  scratch32: number
  scratch64: number
  /** Imported functions come first in the function index space: calls to them are checked. */
  importedFuncs: number
  /** Per defined function: its parameter count (undefined: unknown, the fuel stays in the global). */
  funcParams: Array<number | undefined>
  /** The fuel global's index, encoded. */
  F: Uint8Array
  oom32: Uint8Array
  oom64: Uint8Array
}

/**
 * Rewrites a core module for fuel metering and/or a memory cap (see the module comment). With no
 * option that applies, returns `bytes` itself, unchanged.
 * @throws WasmFormatError when the bytes are malformed, are a component, or use GC or unknown opcodes.
 * @throws OutOfMemoryError when a memory's minimum size is above `maxMemoryBytes`.
 */
export function instrument (bytes: Uint8Array, options: InstrumentOptions = {}): Uint8Array {
  const fuel = options.fuel === true
  const capBytes = options.maxMemoryBytes
  if (capBytes !== undefined && (!Number.isFinite(capBytes) || capBytes < 0)) {
    throw new InvalidLimitError(`maxMemoryBytes must be a non-negative number, got ${capBytes}`, { maxMemoryBytes: capBytes })
  }
  if (!fuel && capBytes === undefined && options.deferStart !== true) return bytes
  if (binaryKind(bytes) !== 'module') {
    throw new WasmFormatError('instrument() rewrites core modules; meter the core modules inside a component instead', 0)
  }
  const initialFuel = options.initialFuel ?? DEFAULT_INITIAL_FUEL
  if (initialFuel < 0n || initialFuel > MAX_FUEL) throw new InvalidLimitError(`initialFuel out of range: ${initialFuel}`)

  // Pass 1 over the section headers: count imported globals and memories, find the defined ones.
  const sections: Array<{ id: number, start: number, end: number }> = []
  {
    const r = new ByteReader(bytes, 8)
    while (!r.done) {
      const id = r.u8()
      const size = r.u32()
      const start = r.pos
      r.take(size)
      sections.push({ id, start, end: start + size })
    }
  }
  const memory64: boolean[] = []
  let importedFuncs = 0
  // Parameter count of each function type, and the type of each defined function: the fuel local
  // goes after the parameters and declared locals. Undefined when a type is not a plain func type.
  let typeParams: number[] | undefined = []
  let funcTypes: number[] = []
  let importedGlobals = 0
  let definedGlobals = 0
  let lastRank = 0
  let startFunction: number | undefined
  for (const s of sections) {
    if (s.id === 0) continue
    const rank = ORDER[s.id]
    if (rank === undefined) throw new WasmFormatError(`unknown section id ${s.id}`, s.start)
    if (rank <= lastRank) throw new WasmFormatError(`section ${s.id} out of order or repeated`, s.start)
    lastRank = rank
    if (s.id === SEC_IMPORT) {
      const r = new ByteReader(bytes, s.start, s.end)
      for (let n = r.u32(); n > 0; n--) {
        r.name(); r.name()
        const kind = r.u8()
        if (kind === 0x00) { r.u32(); importedFuncs++ }
        else if (kind === 0x01) { skipValType(r); readLimits(r, 'table') }
        else if (kind === 0x02) memory64.push((readLimits(r, 'memory').flags & 0x04) !== 0)
        else if (kind === 0x03) { skipValType(r); r.u8(); importedGlobals++ }
        else if (kind === 0x04) { r.u8(); r.u32() }
        else r.fail(`unknown import kind ${kind}`)
      }
    } else if (s.id === SEC_TYPE && fuel) {
      const r = new ByteReader(bytes, s.start, s.end)
      const params: number[] = []
      typeParams = params
      for (let n = r.u32(); n > 0; n--) {
        if (r.u8() !== 0x60) { typeParams = undefined; break } // GC type forms: keep the fuel in the global
        const count = r.u32()
        for (let k = 0; k < count; k++) skipValType(r)
        for (let k = r.u32(); k > 0; k--) skipValType(r)
        params.push(count)
      }
    } else if (s.id === SEC_FUNCTION && fuel) {
      const r = new ByteReader(bytes, s.start, s.end)
      funcTypes = Array.from({ length: r.u32() }, () => r.u32())
    } else if (s.id === SEC_MEMORY) {
      const r = new ByteReader(bytes, s.start, s.end)
      for (let n = r.u32(); n > 0; n--) memory64.push((readLimits(r, 'memory').flags & 0x04) !== 0)
    } else if (s.id === SEC_GLOBAL) {
      definedGlobals = new ByteReader(bytes, s.start, s.end).u32()
    } else if (s.id === SEC_START && options.deferStart === true) {
      startFunction = new ByteReader(bytes, s.start, s.end).u32()
    }
  }
  if (!fuel && capBytes === undefined && startFunction === undefined) return bytes

  // The appended globals, in this order: fuel (unless imported), then oom flag and grow scratch
  // (when capped). An imported fuel global comes after the other imported globals.
  const capPages = capBytes === undefined ? undefined : Math.floor(capBytes / PAGE)
  const shift = fuel && options.fuelImport === true ? 1 : 0
  let next = importedGlobals + shift + definedGlobals
  const fuelGlobal = !fuel ? -1 : shift === 1 ? importedGlobals : next++
  const oomGlobal = capPages !== undefined ? next++ : -1
  const scratch32 = capPages !== undefined ? next++ : -1
  const scratch64 = capPages !== undefined && memory64.includes(true) ? next++ : -1
  const F = fuel ? uleb(fuelGlobal) : new Uint8Array(0)
  const O = oomGlobal >= 0 ? uleb(oomGlobal) : new Uint8Array(0)
  const S = scratch32 >= 0 ? uleb(scratch32) : new Uint8Array(0)
  const S64 = scratch64 >= 0 ? uleb(scratch64) : new Uint8Array(0)
  const plan: ModulePlan = {
    fuel,
    capPages,
    capBytes: capBytes ?? 0,
    importedGlobals,
    definedGlobals,
    shift,
    memory64,
    fuelGlobal,
    oomGlobal,
    scratch32,
    scratch64,
    importedFuncs,
    funcParams: funcTypes.map((t) => typeParams?.[t]),
    F,
    // After memory.grow: scratch = r; oom |= (r == -1); leave r on the stack.
    oom32: concat([0x24], S, [0x23], S, [0x23], S, [0x41, 0x7f, 0x46, 0x23], O, [0x72, 0x24], O),
    oom64: concat([0x24], S64, [0x23], S64, [0x23], S64, [0x42, 0x7f, 0x51, 0x23], O, [0x72, 0x24], O)
  }

  const out = new ByteWriter(Math.ceil(bytes.byteLength * 1.5) + 256)
  out.bytes(bytes.subarray(0, 8))
  let importsDone = false
  let globalsDone = false
  let exportsDone = false
  const emitGlobals = (r?: ByteReader): void => {
    globalsDone = true
    const w = new ByteWriter(64)
    const definesFuel = fuel && shift === 0
    const added = (definesFuel ? 1 : 0) + (capPages !== undefined ? 2 : 0) + (scratch64 >= 0 ? 1 : 0)
    if (added === 0 && r === undefined) return
    w.u32(definedGlobals + added)
    if (r !== undefined) {
      r.u32()
      if (shift === 0) w.bytes(r.bytes.subarray(r.pos, r.end))
      else {
        for (let n = definedGlobals; n > 0; n--) {
          const from = r.pos
          skipValType(r); r.u8()
          w.bytes(r.bytes.subarray(from, r.pos))
          copyConstExpr(r, w, plan)
        }
      }
    }
    if (definesFuel) { w.u8(0x7e).u8(0x01).u8(0x42).s64(initialFuel).u8(0x0b) }
    if (capPages !== undefined) {
      w.u8(0x7f).u8(0x01).u8(0x41).u8(0x00).u8(0x0b) // oom flag
      w.u8(0x7f).u8(0x01).u8(0x41).u8(0x00).u8(0x0b) // scratch32
      if (scratch64 >= 0) w.u8(0x7e).u8(0x01).u8(0x42).u8(0x00).u8(0x0b)
    }
    out.section(SEC_GLOBAL, w.finish())
  }
  const emitExports = (r?: ByteReader): void => {
    exportsDone = true
    const w = new ByteWriter(256)
    let count = 0
    let from = 0
    if (r !== undefined) {
      count = r.u32()
      from = r.pos
    }
    const added = (fuel ? 1 : 0) + (capPages !== undefined ? 1 : 0) + (startFunction !== undefined ? 1 : 0)
    w.u32(count + added)
    if (r !== undefined) {
      for (let n = count; n > 0; n--) {
        const name = r.name()
        if (name === FUEL_EXPORT || name === OOM_EXPORT || name === START_EXPORT) {
          throw new WasmFormatError(`module already exports ${name}: it was instrumented before`, r.pos)
        }
        const kind = r.u8()
        const indexAt = r.pos
        const index = r.u32()
        if (shift === 0 || kind !== 0x03) continue
        // Renumber an exported global: copy up to the index, then write the moved one.
        w.bytes(r.bytes.subarray(from, indexAt))
        w.u32(mapGlobal(plan, index))
        from = r.pos
      }
      w.bytes(r.bytes.subarray(from, r.pos))
    }
    if (fuel) w.name(FUEL_EXPORT).u8(0x03).u32(fuelGlobal)
    if (capPages !== undefined) w.name(OOM_EXPORT).u8(0x03).u32(oomGlobal)
    if (startFunction !== undefined) w.name(START_EXPORT).u8(0x00).u32(startFunction)
    out.section(SEC_EXPORT, w.finish())
  }

  let memoryIndex = 0
  const rewritesImports = capPages !== undefined || shift === 1
  for (const s of sections) {
    const rank = s.id === 0 ? 0 : ORDER[s.id]!
    if (rank > ORDER[SEC_IMPORT]! && !importsDone && shift === 1) {
      importsDone = true
      out.section(SEC_IMPORT, rewriteImports(undefined, plan, () => memoryIndex++))
    }
    if (rank > ORDER[SEC_GLOBAL]! && !globalsDone) emitGlobals()
    if (rank > ORDER[SEC_EXPORT]! && !exportsDone) emitExports()
    const r = new ByteReader(bytes, s.start, s.end)
    if (s.id === SEC_GLOBAL) emitGlobals(r)
    else if (s.id === SEC_EXPORT) emitExports(r)
    else if (s.id === SEC_IMPORT && rewritesImports) {
      importsDone = true
      out.section(s.id, rewriteImports(r, plan, () => memoryIndex++))
    }
    else if (s.id === SEC_MEMORY && capPages !== undefined) {
      const w = new ByteWriter(16)
      const n = r.u32()
      w.u32(n)
      for (let i = 0; i < n; i++) writeCappedMemory(w, readLimits(r, 'memory'), capPages, plan.capBytes, memoryIndex++)
      out.section(s.id, w.finish())
    } else if (s.id === SEC_START && startFunction !== undefined) {
      // Deferred: exported as __ipvm_start instead.
    } else if (s.id === SEC_CODE && (fuel || capPages !== undefined)) out.section(s.id, rewriteCode(r, plan))
    else if (s.id === SEC_ELEMENT && shift === 1) out.section(s.id, rewriteElements(r, plan))
    else if (s.id === SEC_DATA && shift === 1) out.section(s.id, rewriteData(r, plan))
    else if (s.id === 0 && shift === 1) out.section(0, rewriteCustom(bytes.subarray(s.start, s.end), plan))
    else out.section(s.id, bytes.subarray(s.start, s.end))
  }
  if (!globalsDone) emitGlobals()
  if (!exportsDone) emitExports()
  return out.finish()
}

/** A global index after the imported fuel global was inserted. */
function mapGlobal (plan: ModulePlan, index: number): number {
  return index >= plan.importedGlobals ? index + plan.shift : index
}

/** Rewrites the import section (absent: `r` undefined): memory caps, and the fuel import appended. */
function rewriteImports (r: ByteReader | undefined, plan: ModulePlan, nextMemory: () => number): Uint8Array {
  const w = new ByteWriter((r?.remaining ?? 0) + 32)
  if (r === undefined) r = new ByteReader(Uint8Array.of(0))
  const n = r.u32()
  w.u32(n + plan.shift)
  let from = r.pos
  for (let i = 0; i < n; i++) {
    r.name(); r.name()
    const kind = r.u8()
    if (kind === 0x02 && plan.capPages !== undefined) {
      w.bytes(r.bytes.subarray(from, r.pos))
      writeCappedMemory(w, readLimits(r, 'memory'), plan.capPages!, plan.capBytes, nextMemory())
      from = r.pos
    } else if (kind === 0x00) r.u32()
    else if (kind === 0x01) { skipValType(r); readLimits(r, 'table') }
    else if (kind === 0x03) { skipValType(r); r.u8() }
    else if (kind === 0x04) { r.u8(); r.u32() }
    else r.fail(`unknown import kind ${kind}`)
  }
  w.bytes(r.bytes.subarray(from, r.end))
  if (plan.shift === 1) w.name(FUEL_IMPORT_MODULE).name(FUEL_IMPORT_NAME).u8(0x03).u8(0x7e).u8(0x01)
  return w.finish()
}

/** Copies one constant expression (through its `end`), renumbering `global.get`. */
function copyConstExpr (r: ByteReader, w: ByteWriter, plan: ModulePlan): void {
  for (;;) {
    const from = r.pos
    const op = r.u8()
    switch (op) {
      case 0x0b: w.u8(op); return
      case 0x23: w.u8(op).u32(mapGlobal(plan, r.u32())); continue
      case 0x41: case 0x42: case 0xd0: case 0xd2: r.skipLeb(); break
      case 0x43: r.take(4); break
      case 0x44: r.take(8); break
      case 0xfd: if (r.u32() !== 12) r.fail('unsupported SIMD instruction in a constant expression'); r.take(16); break
      case 0x6a: case 0x6b: case 0x6c: case 0x7c: case 0x7d: case 0x7e: break // extended-const arithmetic
      default: throw new WasmFormatError(`unsupported instruction 0x${op.toString(16)} in a constant expression`, from)
    }
    w.bytes(r.bytes.subarray(from, r.pos))
  }
}

/** Element segments, with their offset and item expressions renumbered (all eight encodings). */
function rewriteElements (r: ByteReader, plan: ModulePlan): Uint8Array {
  const w = new ByteWriter(r.remaining + 16)
  const n = r.u32()
  w.u32(n)
  const copy = (from: number): void => { w.bytes(r.bytes.subarray(from, r.pos)) }
  for (let i = 0; i < n; i++) {
    const flags = r.u32()
    if (flags > 7) r.fail(`unknown element segment flags ${flags}`)
    w.u32(flags)
    if ((flags & 1) === 0) { // active
      if ((flags & 2) !== 0) { const from = r.pos; r.u32(); copy(from) } // explicit table index
      copyConstExpr(r, w, plan)
    }
    if ((flags & 3) !== 0) { const from = r.pos; if ((flags & 4) !== 0) skipValType(r); else r.u8(); copy(from) } // elemkind or reftype
    const count = r.u32()
    w.u32(count)
    for (let k = 0; k < count; k++) {
      if ((flags & 4) !== 0) copyConstExpr(r, w, plan)
      else { const from = r.pos; r.u32(); copy(from) }
    }
  }
  return w.finish()
}

/** Data segments, with their offset expressions renumbered. */
function rewriteData (r: ByteReader, plan: ModulePlan): Uint8Array {
  const w = new ByteWriter(r.remaining + 16)
  const n = r.u32()
  w.u32(n)
  for (let i = 0; i < n; i++) {
    const flags = r.u32()
    if (flags > 2) r.fail(`unknown data segment flags ${flags}`)
    w.u32(flags)
    if (flags === 2) w.u32(r.u32())
    if (flags !== 1) copyConstExpr(r, w, plan)
    const from = r.pos
    r.take(r.u32())
    w.bytes(r.bytes.subarray(from, r.pos))
  }
  return w.finish()
}

/** Custom sections are kept; in the name section the global names (subsection 7) are renumbered. */
function rewriteCustom (content: Uint8Array, plan: ModulePlan): Uint8Array {
  const r = new ByteReader(content)
  if (r.name() !== 'name') return content
  try {
    const w = new ByteWriter(content.byteLength + 16)
    w.bytes(content.subarray(0, r.pos))
    while (!r.done) {
      const id = r.u8()
      const sub = r.slice(r.u32())
      if (id !== 7) { w.u8(id).u32(sub.remaining).bytes(sub.bytes.subarray(sub.pos, sub.end)); continue }
      const sw = new ByteWriter(sub.remaining + 16)
      const count = sub.u32()
      sw.u32(count)
      for (let k = 0; k < count; k++) {
        sw.u32(mapGlobal(plan, sub.u32()))
        const from = sub.pos
        sub.name()
        sw.bytes(sub.bytes.subarray(from, sub.pos))
      }
      const renamed = sw.finish()
      w.u8(id).u32(renamed.byteLength).bytes(renamed)
    }
    return w.finish()
  } catch (err) {
    // Engines ignore a malformed name section; so do we, rather than keep wrong global names.
    if (err instanceof WasmFormatError) return new ByteWriter(8).name('name').finish()
    throw err
  }
}

/** Most locals a function may have (the JS API's limit); above it the fuel stays in the global. */
const MAX_LOCALS = 50000
/** Scratch writer for one function body at a time (instrument() is synchronous). */
const bodyWriter = new ByteWriter(1 << 16)

function rewriteCode (r: ByteReader, plan: ModulePlan): Uint8Array {
  const bytes = r.bytes
  const w = new ByteWriter(Math.ceil(r.remaining * 1.5) + 16)
  const count = r.u32()
  w.u32(count)
  const F = plan.F
  for (let f = 0; f < count; f++) {
    const size = r.u32()
    const bodyStart = r.pos
    const bodyEnd = bodyStart + size
    if (bodyEnd > r.end) r.fail('function body runs past the code section')
    const body = new ByteReader(bytes, bodyStart, bodyEnd)
    const groups = body.u32()
    const groupsEnd = body.pos
    let locals = plan.funcParams[f] ?? NaN
    for (let n = groups; n > 0; n--) { locals += body.u32(); skipValType(body) }
    const localsEnd = body.pos
    editCount = 0
    const eh = scanBody(body, plan)
    // Local mode: the fuel lives in an appended i64 local (a register in hot loops), spilled to the
    // global around calls and at exits. Functions with exception handling keep it in the global.
    const local = plan.fuel && !eh && locals + 1 <= MAX_LOCALS
    const fw = bodyWriter
    fw.length = 0
    let L: Uint8Array = new Uint8Array(0)
    if (local) {
      L = uleb(locals)
      fw.u32(groups + 1)
      fw.bytes(bytes.subarray(groupsEnd, localsEnd))
      fw.u8(0x01).u8(0x7e)
    } else fw.bytes(bytes.subarray(bodyStart, localsEnd))
    const check = (spill: boolean): void => {
      // i64.const 0; i64.lt_s; if; [local.get L; global.set F;] unreachable; end
      fw.u8(0x42).u8(0x00).u8(0x53).u8(0x04).u8(0x40)
      if (spill) fw.u8(0x20).bytes(L).u8(0x24).bytes(F)
      fw.u8(0x00).u8(0x0b)
    }
    const sub = (cost: number): void => { fw.u8(0x42); writeSleb(fw, cost); fw.u8(0x7d) }
    let copyFrom = localsEnd
    for (let e = 0; e < editCount; e++) {
      const i = 3 * e
      const kind = edits[i + 1]!
      if (kind === EDIT_NONE) continue
      const at = edits[i]!
      const arg = edits[i + 2]!
      fw.bytes(bytes.subarray(copyFrom, at))
      copyFrom = at
      switch (kind) {
        case EDIT_GLOBAL:
          fw.u32(arg)
          while ((bytes[copyFrom]! & 0x80) !== 0) copyFrom++
          copyFrom++
          break
        case EDIT_CHARGE:
          if (local) { fw.u8(0x20).bytes(L); sub(arg); fw.u8(0x21).bytes(L) }
          else { fw.u8(0x23).bytes(F); sub(arg); fw.u8(0x24).bytes(F) }
          break
        case EDIT_ENTRY:
          fw.u8(0x23).bytes(F)
          if (arg > 0) sub(arg)
          if (local) fw.u8(0x22).bytes(L)
          else if (arg > 0) fw.u8(0x24).bytes(F).u8(0x23).bytes(F)
          check(local)
          break
        case EDIT_LOOP:
          if (local) {
            fw.u8(0x20).bytes(L)
            if (arg > 0) { sub(arg); fw.u8(0x22).bytes(L) }
          } else {
            fw.u8(0x23).bytes(F)
            if (arg > 0) { sub(arg); fw.u8(0x24).bytes(F).u8(0x23).bytes(F) }
          }
          check(local)
          break
        case EDIT_CALL:
          if (local) fw.u8(0x20).bytes(L).u8(0x24).bytes(F)
          if (arg !== 0) { fw.u8(0x23).bytes(F); check(false) }
          break
        case EDIT_RELOAD:
          if (local) fw.u8(0x23).bytes(F).u8(0x21).bytes(L)
          break
        case EDIT_SPILL:
          if (local) fw.u8(0x20).bytes(L).u8(0x24).bytes(F)
          break
        case EDIT_OOM32: fw.bytes(plan.oom32); break
        default: fw.bytes(plan.oom64)
      }
    }
    fw.bytes(bytes.subarray(copyFrom, bodyEnd))
    w.u32(fw.length)
    w.bytes(fw.finish())
    r.pos = bodyEnd
  }
  if (!r.done) r.fail('trailing bytes after the last function body')
  return w.finish()
}

// Kinds of open constructs, for deciding whether an `end` starts a new segment.
const K_BLOCK = 0
const K_LOOP = 1
const K_OTHER = 2 // if, try, try_table: their end is a merge point
let kinds = new Uint8Array(256)
let targeted = new Uint8Array(256)

/**
 * Decodes one function body's instructions (from `r.pos` to `r.end`) and records the edits.
 * Returns whether the body uses exception handling (then the fuel is not cached in a local).
 */
function scanBody (r: ByteReader, plan: ModulePlan): boolean {
  const fuel = plan.fuel
  const capped = plan.capPages !== undefined
  let eh = false
  let depth = 0
  let cost = 0
  let live = true
  // Index of the current segment's charge edit (patched when the segment closes), or -1.
  let charge = fuel ? pushEdit(r.pos, EDIT_ENTRY, 0) : -1

  // Ends the current segment; the next one starts at r.pos (live, or dead code after a jump).
  // `loop` starts a segment that is checked (and so kept even when it costs nothing).
  const split = (nextLive: boolean, kind = EDIT_CHARGE): void => {
    if (!fuel) return
    if (edits[charge + 1] !== EDIT_CHARGE || (live && cost > 0)) edits[charge + 2] = cost
    else edits[charge + 1] = EDIT_NONE
    cost = 0
    live = nextLive
    charge = pushEdit(r.pos, kind, 0)
  }
  const open = (kind: number): void => {
    if (depth === kinds.length) {
      const k = new Uint8Array(depth * 2); k.set(kinds); kinds = k
      const t = new Uint8Array(depth * 2); t.set(targeted); targeted = t
    }
    kinds[depth] = kind
    targeted[depth] = 0
    depth++
  }
  // A branch to `label`: marks the construct targeted; to the function's own label it is a return.
  const branch = (label: number, at: number): void => {
    if (label < depth) targeted[depth - 1 - label] = 1
    else if (fuel && !(edits[3 * editCount - 3] === at && edits[3 * editCount - 2] === EDIT_SPILL)) pushEdit(at, EDIT_SPILL, 0)
  }
  const call = (at: number, checked: boolean, returns: boolean): void => {
    if (!fuel) return
    pushEdit(at, EDIT_CALL, checked ? 1 : 0)
    if (returns) pushEdit(r.pos, EDIT_RELOAD, 0)
  }

  for (;;) {
    const at = r.pos
    const op = r.u8()
    cost += COST[op]!
    switch (op) {
      case 0x00: case 0x0f: // unreachable, return
        if (fuel) pushEdit(at, EDIT_SPILL, 0)
        split(false); break
      case 0x0a: // throw_ref
        eh = true; split(false); break
      case 0x01: case 0x1a: case 0x1b: // nop, drop, select
        break
      case 0x02: // block
        skipBlockType(r); open(K_BLOCK); break
      case 0x06: // try
        eh = true; skipBlockType(r); open(K_OTHER); break
      case 0x03: // loop
        skipBlockType(r); open(K_LOOP); split(true, EDIT_LOOP); break
      case 0x04: // if
        skipBlockType(r); open(K_OTHER); split(true); break
      case 0x05: // else
        split(true); break
      case 0x19: // catch_all
        eh = true; split(true); break
      case 0x07: // catch tag
        eh = true; r.u32(); split(true); break
      case 0x08: case 0x09: // throw tag, rethrow depth
        eh = true; r.u32(); split(false); break
      case 0x0c: // br depth
        branch(r.u32(), at); split(false); break
      case 0x0b: { // end
        if (depth === 0) {
          if (fuel) pushEdit(at, EDIT_SPILL, 0)
          split(false)
          if (!r.done) r.fail('bytes after the end of a function body')
          // The last opened segment (after the final end) is empty.
          if (fuel) edits[charge + 1] = EDIT_NONE
          return eh
        }
        depth--
        // The end of a loop, or of a block no branch targets, is reached only by falling through:
        // the code after it belongs to the same segment.
        const kind = kinds[depth]!
        if (kind === K_LOOP || (kind === K_BLOCK && targeted[depth] === 0)) break
        split(true)
        break
      }
      case 0x0d: case 0xd5: case 0xd6: // br_if, br_on_null, br_on_non_null
        branch(r.u32(), at); split(true); break
      case 0x0e: { // br_table
        for (let n = r.u32(); n >= 0; n--) branch(r.u32(), at)
        split(false)
        break
      }
      case 0x10: { // call
        const index = r.u32()
        call(at, index < plan.importedFuncs, true)
        break
      }
      case 0x14: // call_ref
        r.u32(); call(at, true, true); break
      case 0x11: // call_indirect type table
        r.u32(); r.u32(); call(at, true, true); break
      case 0x12: { // return_call
        const index = r.u32()
        call(at, index < plan.importedFuncs, false)
        split(false)
        break
      }
      case 0x15: // return_call_ref
        r.u32(); call(at, true, false); split(false); break
      case 0x13: // return_call_indirect
        r.u32(); r.u32(); call(at, true, false); split(false); break
      case 0x18: // delegate: ends the try
        eh = true; r.u32(); depth--; split(true); break
      case 0x1c: // select with types
        for (let n = r.u32(); n > 0; n--) skipValType(r)
        break
      case 0x1f: { // try_table
        eh = true
        skipBlockType(r)
        for (let n = r.u32(); n > 0; n--) {
          const kind = r.u8()
          if (kind > 3) r.fail(`unknown try_table catch kind ${kind}`)
          if (kind < 2) r.u32() // tag
          r.u32() // label
        }
        // Its catch clauses may branch to any enclosing label: none of them is a plain fall-through.
        targeted.fill(1, 0, depth)
        open(K_OTHER)
        break
      }
      case 0x20: case 0x21: case 0x22: case 0x25: case 0x26: // locals, table.get/set
        r.u32(); break
      case 0x23: case 0x24: { // global.get/set: renumbered when the fuel global is imported
        const from = r.pos
        const index = r.u32()
        if (plan.shift !== 0 && index >= plan.importedGlobals) {
          pushEdit(from, EDIT_GLOBAL, index + plan.shift)
        }
        break
      }
      case 0x3f: // memory.size
        r.u32(); break
      case 0x40: { // memory.grow
        const memory = r.u32()
        if (capped) {
          const is64 = plan.memory64[memory]
          if (is64 === undefined) r.fail(`memory.grow of unknown memory ${memory}`)
          const edit = is64 ? EDIT_OOM64 : EDIT_OOM32
          pushEdit(r.pos, edit, 0)
        }
        break
      }
      case 0x41: case 0x42: // i32.const, i64.const
        r.skipLeb(); break
      case 0x43:
        r.take(4); break
      case 0x44:
        r.take(8); break
      case 0xd0: // ref.null heaptype
        r.skipLeb(); break
      case 0xd1: case 0xd3: case 0xd4: // ref.is_null, ref.eq, ref.as_non_null
        break
      case 0xd2: // ref.func
        r.u32(); break
      case 0xfb:
        throw new WasmFormatError('GC instructions (0xFB prefix) are not supported', at)
      case 0xfc:
        skipFC(r, at); break
      case 0xfd:
        skipSimd(r, at); break
      case 0xfe:
        skipAtomic(r, at); break
      default:
        if (op >= 0x28 && op <= 0x3e) { skipMemarg(r); break } // loads and stores
        if (op >= 0x45 && op <= 0xc4) break // numeric, incl. sign-extension
        throw new WasmFormatError(`unknown opcode 0x${op.toString(16).padStart(2, '0')}`, at)
    }
  }
}

function skipFC (r: ByteReader, at: number): void {
  const sub = r.u32()
  if (sub <= 7) return // saturating truncations
  switch (sub) {
    case 8: case 10: case 12: case 14: // memory.init, memory.copy, table.init, table.copy
      r.u32(); r.u32(); return
    case 9: case 11: case 13: case 15: case 16: case 17: // data.drop, memory.fill, elem.drop, table.grow/size/fill
      r.u32(); return
    default:
      throw new WasmFormatError(`unknown opcode 0xfc ${sub}`, at)
  }
}

function skipSimd (r: ByteReader, at: number): void {
  const sub = r.u32()
  if (sub <= 11 || sub === 92 || sub === 93) { skipMemarg(r); return } // v128 loads/stores, load_zero
  if (sub === 12 || sub === 13) { r.take(16); return } // v128.const, i8x16.shuffle
  if (sub >= 21 && sub <= 34) { r.u8(); return } // extract/replace lane
  if (sub >= 84 && sub <= 91) { skipMemarg(r); r.u8(); return } // load/store lane
  if (sub <= 0x113) return // arithmetic, comparisons, conversions, relaxed SIMD
  throw new WasmFormatError(`unknown opcode 0xfd ${sub}`, at)
}

function skipAtomic (r: ByteReader, at: number): void {
  const sub = r.u32()
  if (sub === 3) { r.u8(); return } // atomic.fence
  if (sub <= 2 || (sub >= 0x10 && sub <= 0x4e)) { skipMemarg(r); return }
  throw new WasmFormatError(`unknown opcode 0xfe ${sub}`, at)
}

/** The result of {@link meterCoreModule}. */
export interface MeteredModule {
  /** The rewritten module (the input itself when nothing applied). */
  bytes: Uint8Array
  /** Whether the module exports `__ipvm_fuel`. */
  fuel: boolean
  /** The memory cap baked into the module, in bytes, if any. */
  memoryCapBytes?: number
}

/**
 * Prepares a core module for a run under `limits`: fuel metering when `limits.fuel` is set, a
 * memory cap when `limits.memoryBytes` is set. The budget itself is set per run with {@link setFuel}.
 */
export function meterCoreModule (
  bytes: Uint8Array,
  limits: Pick<Limits, 'fuel' | 'memoryBytes'> = {},
  options: Pick<InstrumentOptions, 'deferStart'> = {}
): MeteredModule {
  const fuel = limits.fuel !== undefined
  const out = instrument(bytes, { fuel, maxMemoryBytes: limits.memoryBytes, deferStart: options.deferStart })
  const result: MeteredModule = { bytes: out, fuel }
  if (limits.memoryBytes !== undefined) result.memoryCapBytes = Math.floor(limits.memoryBytes / PAGE) * PAGE
  return result
}

function exportedGlobal (instance: WebAssembly.Instance, name: string): WebAssembly.Global | undefined {
  const value = instance.exports[name]
  return value instanceof WebAssembly.Global ? value : undefined
}

/** A fuel global for modules instrumented with `fuelImport`; share it between instances to share a budget. */
export function createFuelGlobal (fuel: bigint = DEFAULT_INITIAL_FUEL): WebAssembly.Global {
  return new WebAssembly.Global({ value: 'i64', mutable: true }, fuel)
}

/** Whether an instance came from a fuel-metered module. */
export function isMetered (instance: WebAssembly.Instance): boolean {
  return exportedGlobal(instance, FUEL_EXPORT) !== undefined
}

/** Sets the fuel budget of a metered instance (before a call). */
export function setFuel (instance: WebAssembly.Instance, fuel: bigint | number): void {
  const global = exportedGlobal(instance, FUEL_EXPORT)
  if (global === undefined) throw new InvalidLimitError(`the instance is not fuel-metered (no ${FUEL_EXPORT} export)`)
  const value = typeof fuel === 'bigint' ? fuel : BigInt(fuel)
  if (value < 0n || value > MAX_FUEL) throw new InvalidLimitError(`fuel must be between 0 and 2^63-1, got ${value}`, { fuel: value })
  global.value = value
}

/** Fuel left in a metered instance; negative after it ran out. */
export function fuelLeft (instance: WebAssembly.Instance): bigint {
  const global = exportedGlobal(instance, FUEL_EXPORT)
  if (global === undefined) throw new InvalidLimitError(`the instance is not fuel-metered (no ${FUEL_EXPORT} export)`)
  return global.value as bigint
}

/** Whether a `memory.grow` failed in this instance (only modules instrumented with a memory cap). */
export function memoryGrowFailed (instance: WebAssembly.Instance): boolean {
  const global = exportedGlobal(instance, OOM_EXPORT)
  return global !== undefined && global.value !== 0
}
