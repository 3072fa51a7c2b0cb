/** Opening a node for a CLI command: `--store DIR` (default: the user's data directory). */
import { createIpvm } from '../create.js'
import type { Ipvm } from '../runtime.js'

export interface NodeFlags {
  store?: string
  memory?: boolean
  start?: boolean
  poolSize?: number
}

export async function openNode (flags: NodeFlags): Promise<Ipvm> {
  return await createIpvm({
    ...(flags.store === undefined ? {} : { location: flags.store }),
    ...(flags.memory === true ? { memory: true } : {}),
    ...(flags.poolSize === undefined ? {} : { poolSize: flags.poolSize }),
    start: flags.start !== false
  })
}
