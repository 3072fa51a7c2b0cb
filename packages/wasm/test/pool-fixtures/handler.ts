/**
 * Test handler for the pool: calls an export of a posted WebAssembly.Module, plus jobs that
 * misbehave on purpose (throw, crash, exhaust memory) and jobs that expose worker state.
 */
import { InvalidCIDError } from '@ipvm/core'
import type { JobContext } from '../../src/pool/protocol.js'

export type TestJob =
  | { kind: 'call', module: WebAssembly.Module, export: string, args: number[] }
  | { kind: 'log', tag: number }
  | { kind: 'sleep', ms: number }
  | { kind: 'bytes', bytes: Uint8Array }
  | { kind: 'held-bytes' }
  | { kind: 'throw-typed' }
  | { kind: 'exit' }
  | { kind: 'throw-async' }
  | { kind: 'oom' }
  | { kind: 'options' }

const log: number[] = []
let held: Uint8Array | undefined
let initOptions: unknown

export function init (options: unknown): void {
  initOptions = options
}

export async function run (job: TestJob, ctx: JobContext): Promise<unknown> {
  switch (job.kind) {
    case 'call': {
      const instance = await WebAssembly.instantiate(job.module)
      const fn = instance.exports[job.export] as (...args: number[]) => unknown
      return fn(...job.args)
    }
    case 'log':
      log.push(job.tag)
      return [...log]
    case 'sleep':
      await new Promise((resolve) => setTimeout(resolve, job.ms))
      return job.ms
    case 'bytes': {
      // Reply with a buffer of our own, transferred back; keep a view to check it was detached.
      const sum = job.bytes.reduce((a, b) => a + b, 0)
      const out = new Uint8Array(job.bytes.byteLength).fill(7)
      held = out
      ctx.transfer(out.buffer)
      return { sum, received: job.bytes.byteLength, out }
    }
    case 'held-bytes':
      return held?.byteLength
    case 'throw-typed':
      throw new InvalidCIDError('not a CID: bafy-nope', { cid: 'bafy-nope', where: ['input', 0] })
    case 'exit': {
      const proc = (globalThis as { process?: { exit: (code: number) => never } }).process
      if (proc !== undefined) proc.exit(3)
      else (globalThis as unknown as { close: () => void }).close()
      return await new Promise(() => {})
    }
    case 'throw-async':
      setTimeout(() => { throw new Error('boom from a timer') }, 0)
      return await new Promise(() => {})
    case 'oom': {
      const hog: number[][] = []
      for (;;) hog.push(new Array(1_000_000).fill(Math.random()))
    }
    case 'options':
      return initOptions
  }
}
