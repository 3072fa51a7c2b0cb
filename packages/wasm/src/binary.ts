/**
 * Reading and writing the WebAssembly binary format: LEB128 integers, names, sections. Shared by the
 * fuel/memory rewriter and the component parser.
 */

/** The bytes are not a well-formed Wasm (or component) binary. */
export class WasmFormatError extends Error {
  static readonly code = 'ERR_WASM_FORMAT'
  readonly code = 'ERR_WASM_FORMAT'
  constructor (message: string, readonly offset?: number) {
    super(offset === undefined ? message : `${message} (at byte ${offset})`)
    this.name = 'WasmFormatError'
  }
}

const textDecoder = new TextDecoder('utf-8', { fatal: true })
const textEncoder = new TextEncoder()

/** A cursor over bytes. Every read checks bounds and throws {@link WasmFormatError}. */
export class ByteReader {
  pos: number
  readonly end: number

  constructor (readonly bytes: Uint8Array, start = 0, end = bytes.byteLength) {
    this.pos = start
    this.end = end
  }

  get done (): boolean {
    return this.pos >= this.end
  }

  get remaining (): number {
    return this.end - this.pos
  }

  fail (message: string): never {
    throw new WasmFormatError(message, this.pos)
  }

  u8 (): number {
    if (this.pos >= this.end) this.fail('unexpected end of data')
    return this.bytes[this.pos++]!
  }

  peek (): number {
    if (this.pos >= this.end) this.fail('unexpected end of data')
    return this.bytes[this.pos]!
  }

  /** Unsigned LEB128 up to 32 bits. */
  u32 (): number {
    let result = 0
    let shift = 0
    for (;;) {
      const byte = this.u8()
      if (shift === 28 && (byte & 0x70) !== 0) this.fail('u32 LEB128 out of range')
      result |= (byte & 0x7f) << shift
      if ((byte & 0x80) === 0) return result >>> 0
      shift += 7
      if (shift > 28) this.fail('u32 LEB128 too long')
    }
  }

  /** Signed LEB128 up to 32 bits. */
  s32 (): number {
    let result = 0
    let shift = 0
    let byte: number
    do {
      byte = this.u8()
      result |= (byte & 0x7f) << shift
      shift += 7
      if (shift > 35) this.fail('s32 LEB128 too long')
    } while ((byte & 0x80) !== 0)
    if (shift < 32 && (byte & 0x40) !== 0) result |= -1 << shift
    return result | 0
  }

  /** Signed LEB128 up to 64 bits (also used for the s33 block types). */
  s64 (): bigint {
    let result = 0n
    let shift = 0n
    let byte: number
    do {
      byte = this.u8()
      result |= BigInt(byte & 0x7f) << shift
      shift += 7n
      if (shift > 70n) this.fail('s64 LEB128 too long')
    } while ((byte & 0x80) !== 0)
    if ((byte & 0x40) !== 0) result -= 1n << shift
    return BigInt.asIntN(64, result)
  }

  /** Unsigned LEB128 up to 64 bits. */
  u64 (): bigint {
    let result = 0n
    let shift = 0n
    let byte: number
    do {
      byte = this.u8()
      result |= BigInt(byte & 0x7f) << shift
      shift += 7n
      if (shift > 70n) this.fail('u64 LEB128 too long')
    } while ((byte & 0x80) !== 0)
    return BigInt.asUintN(64, result)
  }

  /** Skips one LEB128 of any width. */
  skipLeb (): void {
    while ((this.u8() & 0x80) !== 0) { /* continuation */ }
  }

  take (length: number): Uint8Array {
    if (length < 0 || this.pos + length > this.end) this.fail(`needs ${length} bytes, ${this.end - this.pos} left`)
    const out = this.bytes.subarray(this.pos, this.pos + length)
    this.pos += length
    return out
  }

  f32 (): number {
    const b = this.take(4)
    return new DataView(b.buffer, b.byteOffset, 4).getFloat32(0, true)
  }

  f64 (): number {
    const b = this.take(8)
    return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true)
  }

  /** A length-prefixed UTF-8 name. */
  name (): string {
    const bytes = this.take(this.u32())
    try {
      return textDecoder.decode(bytes)
    } catch {
      this.fail('name is not valid UTF-8')
    }
  }

  /** A sub-reader over the next `length` bytes; this reader skips past them. */
  slice (length: number): ByteReader {
    const start = this.pos
    this.take(length)
    return new ByteReader(this.bytes, start, start + length)
  }
}

/** A growable byte buffer with the writers matching {@link ByteReader}. */
export class ByteWriter {
  private buf: Uint8Array
  length = 0

  constructor (capacity = 1024) {
    this.buf = new Uint8Array(capacity)
  }

  private ensure (extra: number): void {
    if (this.length + extra <= this.buf.byteLength) return
    let size = this.buf.byteLength * 2
    while (size < this.length + extra) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.length))
    this.buf = next
  }

  u8 (byte: number): this {
    this.ensure(1)
    this.buf[this.length++] = byte & 0xff
    return this
  }

  bytes (data: Uint8Array): this {
    this.ensure(data.byteLength)
    this.buf.set(data, this.length)
    this.length += data.byteLength
    return this
  }

  u32 (value: number): this {
    value >>>= 0
    do {
      let byte = value & 0x7f
      value >>>= 7
      if (value !== 0) byte |= 0x80
      this.u8(byte)
    } while (value !== 0)
    return this
  }

  s32 (value: number): this {
    return this.s64(BigInt(value | 0))
  }

  s64 (value: bigint): this {
    value = BigInt.asIntN(64, value)
    for (;;) {
      const byte = Number(value & 0x7fn)
      value >>= 7n
      if ((value === 0n && (byte & 0x40) === 0) || (value === -1n && (byte & 0x40) !== 0)) {
        this.u8(byte)
        return this
      }
      this.u8(byte | 0x80)
    }
  }

  name (text: string): this {
    const encoded = textEncoder.encode(text)
    this.u32(encoded.byteLength)
    return this.bytes(encoded)
  }

  /** Writes `id`, then the length-prefixed `content`. */
  section (id: number, content: Uint8Array): this {
    this.u8(id)
    this.u32(content.byteLength)
    return this.bytes(content)
  }

  finish (): Uint8Array {
    return this.buf.slice(0, this.length)
  }
}

export const WASM_MAGIC = Uint8Array.of(0x00, 0x61, 0x73, 0x6d)
/** Version/layer word of a core module: 1, layer 0. */
export const CORE_VERSION = Uint8Array.of(0x01, 0x00, 0x00, 0x00)

/** One top-level section of a module or component. */
export interface RawSection {
  id: number
  /** Offset of the section's content (after id and size). */
  start: number
  end: number
  content: Uint8Array
}

/** What a binary's preamble says it is. */
export type BinaryKind = 'module' | 'component'

/** Reads the 8-byte preamble: a core module (version 1, layer 0) or a component (layer 1). */
export function binaryKind (bytes: Uint8Array): BinaryKind {
  if (bytes.byteLength < 8 || bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new WasmFormatError('not a WebAssembly binary (missing \\0asm magic)', 0)
  }
  const layer = bytes[6]! | (bytes[7]! << 8)
  if (layer === 0 && bytes[4] === 1 && bytes[5] === 0) return 'module'
  if (layer === 1) return 'component'
  throw new WasmFormatError(`unsupported WebAssembly version/layer ${bytes[4]}.${bytes[5]} layer ${layer}`, 4)
}

/** Splits a module or component into its top-level sections (the contents are views, not copies). */
export function readSections (bytes: Uint8Array): RawSection[] {
  binaryKind(bytes)
  const reader = new ByteReader(bytes, 8)
  const sections: RawSection[] = []
  while (!reader.done) {
    const id = reader.u8()
    const size = reader.u32()
    const start = reader.pos
    const content = reader.take(size)
    sections.push({ id, start, end: start + size, content })
  }
  return sections
}

/** Reads the name and payload of a custom section's content. */
export function readCustomSection (content: Uint8Array): { name: string, payload: Uint8Array } {
  const reader = new ByteReader(content)
  const name = reader.name()
  return { name, payload: content.subarray(reader.pos) }
}

/**
 * A core module with its exports renamed by `rename` (the export section rewritten, every other
 * section kept byte for byte). Build scripts use it: AssemblyScript cannot spell `-` or `#` in
 * export names, which the component model's names need.
 */
export function renameExports (bytes: Uint8Array, rename: (name: string) => string): Uint8Array {
  if (binaryKind(bytes) !== 'module') throw new WasmFormatError('renameExports needs a core module')
  const out = new ByteWriter(bytes.byteLength + 256).bytes(bytes.subarray(0, 8))
  for (const section of readSections(bytes)) {
    if (section.id !== 7) {
      out.u8(section.id).u32(section.content.byteLength).bytes(section.content)
      continue
    }
    const reader = new ByteReader(section.content)
    const body = new ByteWriter(section.content.byteLength + 256)
    const count = reader.u32()
    body.u32(count)
    for (let i = 0; i < count; i++) {
      const name = reader.name()
      const kind = reader.u8()
      body.name(rename(name)).u8(kind).u32(reader.u32())
    }
    out.section(7, body.finish())
  }
  return out.finish()
}
