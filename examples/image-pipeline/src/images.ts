/** Image bytes in and out of the page: PNG detection, conversion of other formats, output values. */
import { CID, type IpldValue } from 'ipvm'

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]

export function isPng (bytes: Uint8Array): boolean {
  return bytes.byteLength > 24 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)
}

/** Width and height from a PNG's IHDR. */
export function pngSize (bytes: Uint8Array): { width: number, height: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return { width: view.getUint32(16), height: view.getUint32(20) }
}

/** The bytes of a picked or dropped file as PNG: PNGs as they are, anything the browser decodes re-encoded. */
export async function toPng (file: Blob): Promise<Uint8Array> {
  const bytes = new Uint8Array(await file.arrayBuffer())
  if (isPng(bytes)) return bytes
  let bitmap: ImageBitmap
  try {
    bitmap = await createImageBitmap(file)
  } catch {
    throw new Error(`this file is not an image the browser can decode (${file.type || 'unknown type'})`)
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height)
  const context = canvas.getContext('2d')
  if (context === null) throw new Error('no 2D canvas context to convert the image')
  context.drawImage(bitmap, 0, 0)
  bitmap.close()
  const png = await canvas.convertToBlob({ type: 'image/png' })
  return new Uint8Array(await png.arrayBuffer())
}

/** The bytes a task's ok value stands for: inline bytes, or a link to content (outputs above the threshold). */
export async function outputBytes (value: IpldValue | undefined, get: (cid: CID) => Promise<Uint8Array>): Promise<Uint8Array | undefined> {
  if (value instanceof Uint8Array) return value
  const cid = CID.asCID(value)
  return cid === null ? undefined : await get(cid)
}

/** A blob URL for PNG bytes (copied, so a transferred buffer never detaches it). */
export function pngUrl (bytes: Uint8Array): string {
  return URL.createObjectURL(new Blob([bytes.slice()], { type: 'image/png' }))
}

export function formatBytes (n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} kB`
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`
  return `${(n / 1024 ** 3).toFixed(1)} GB`
}
