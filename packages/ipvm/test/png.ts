/**
 * A deterministic RGB PNG built with stored (uncompressed) deflate blocks: no zlib needed, so tests
 * and test pages make real image inputs the same way in Node and in a browser.
 */
export function storedPng (width: number, height: number, pixel: (x: number, y: number) => [number, number, number] = (x, y) => [x & 255, y & 255, (x ^ y) & 255]): Uint8Array {
  const table = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0 })
  const crc = (bytes: number[]): number => { let c = ~0; for (const b of bytes) c = table[(c ^ b) & 0xff]! ^ (c >>> 8); return ~c >>> 0 }
  const u32 = (n: number): number[] => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]
  const chunk = (type: string, data: number[]): number[] => {
    const body = [...type].map((c) => c.charCodeAt(0)).concat(data)
    return [...u32(data.length), ...body, ...u32(crc(body))]
  }
  const raw: number[] = []
  for (let y = 0; y < height; y++) {
    raw.push(0) // filter: none
    for (let x = 0; x < width; x++) raw.push(...pixel(x, y))
  }
  const z: number[] = [0x78, 0x01]
  for (let i = 0; i < raw.length; i += 65535) {
    const block = raw.slice(i, i + 65535)
    z.push(i + 65535 >= raw.length ? 1 : 0, block.length & 255, block.length >>> 8, ~block.length & 255, (~block.length >>> 8) & 255, ...block)
  }
  let a = 1
  let b = 0
  for (const v of raw) { a = (a + v) % 65521; b = (b + a) % 65521 }
  z.push(...u32(((b << 16) | a) >>> 0))
  return Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...chunk('IHDR', [...u32(width), ...u32(height), 8, 2, 0, 0, 0]), ...chunk('IDAT', z), ...chunk('IEND', [])])
}
