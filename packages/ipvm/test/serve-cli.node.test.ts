/**
 * The built `ipvm` binary (run `npm run build` first; CI does): `ipvm serve --json` prints its
 * addresses, answers on them, and exits 0 on SIGINT after stopping cleanly.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createIpvmNetwork } from '@ipvm/net'
import { MemoryBlockstore } from '@ipvm/store'
import { describe, expect, it } from 'vitest'

const BIN = fileURLToPath(new URL('../dist/bin/ipvm.js', import.meta.url))

describe('ipvm serve (built binary)', () => {
  it.skipIf(!existsSync(BIN))('starts, is reachable, and stops on SIGINT', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ipvm-serve-bin-'))
    const child = spawn(process.execPath, [BIN, 'serve', '--store', dir, '--pool', '1', '--json', '--affinity', 'gpu=true'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    const exited = new Promise<number | null>((resolve) => { child.on('exit', (code) => { resolve(code) }) })
    const client = await createIpvmNetwork({ blockstore: new MemoryBlockstore(), listen: [] })
    try {
      const ready = await new Promise<{ did: string, peerId: string, multiaddrs: string[], affinities: unknown }>((resolve, reject) => {
        const timer = setInterval(() => {
          const line = out.split('\n').find((l) => l.includes('"serve:ready"'))
          if (line !== undefined) { clearInterval(timer); resolve(JSON.parse(line)) }
        }, 25)
        void exited.then((code) => { clearInterval(timer); reject(new Error(`exited ${code}: ${err}`)) })
      })
      expect(ready.affinities).toEqual({ gpu: true })
      const { peerId } = await client.dial(ready.multiaddrs.find((a) => a.includes('/tcp/') && !a.includes('/ws'))!)
      expect(peerId).toBe(ready.peerId)
      // It speaks the receipts protocol (nothing stored yet).
      expect(await client.fetchReceipts(ready.peerId, [])).toEqual([])
      child.kill('SIGINT')
      expect(await exited).toBe(0)
      expect(out).toMatch(/"type":"serve:stopped"/)
    } finally {
      child.kill('SIGKILL')
      await client.stop()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
