/** `ipvm add <file>`: stores a file (a module, an image) and prints its `ipfs://` URI. */
import { readFile } from 'node:fs/promises'
import { type CliIO, EXIT_OK, UsageError } from './io.js'
import { type NodeFlags, openNode } from './node.js'

export async function addCommand (args: { files: string[], json: boolean } & NodeFlags, io: CliIO): Promise<number> {
  if (args.files.length === 0) throw new UsageError('add needs a file: ipvm add <file> [--store DIR]')
  const contents = await Promise.all(args.files.map(async (file) => {
    try {
      return await readFile(file)
    } catch (err) {
      throw new UsageError(`${file}: ${(err as { code?: string }).code === 'ENOENT' ? 'no such file' : (err as Error).message}`)
    }
  }))
  const node = await openNode({ ...args, start: false })
  try {
    for (const [i, bytes] of contents.entries()) {
      const cid = await node.add(bytes)
      io.stdout.write(args.json
        ? JSON.stringify({ file: args.files[i], cid: cid.toString(), uri: `ipfs://${cid.toString()}`, size: bytes.byteLength }) + '\n'
        : `ipfs://${cid.toString()}${args.files.length > 1 ? `  ${args.files[i]}` : ''}\n`)
    }
  } finally {
    await node.stop()
  }
  return EXIT_OK
}
