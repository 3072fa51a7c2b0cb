/** Shared test fixtures: identities, a fixed clock, tasks and a refusal matcher. */
import type { Invocation, IpldMap } from '@ipvm/core'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { expect } from 'vitest'
import { generateIdentity, type Signer } from '../src/index.js'

/** A fixed clock: 2027-01-15T08:00:00Z in milliseconds. */
export const T = 1_800_000_000_000
export const S = T / 1000
export const now = (): number => T

export async function moduleCid (text: string): Promise<string> {
  return CID.createV1(0x55, await sha256.digest(new TextEncoder().encode(text))).toString()
}

export interface People {
  executor: Signer
  operator: Signer
  alice: Signer
  bob: Signer
  carol: Signer
  mallory: Signer
}

export async function people (): Promise<People> {
  const [executor, operator, alice, bob, carol, mallory] = await Promise.all(
    Array.from({ length: 6 }, async () => await generateIdentity())
  )
  return { executor: executor!, operator: operator!, alice: alice!, bob: bob!, carol: carol!, mallory: mallory! }
}

export function task (module: string, meta: IpldMap = { fuel: 1000, memory: 65536 }, op = 'wasm/run'): Invocation {
  return {
    task: {
      run: { rsc: `ipfs://${module}`, op, input: { func: 'add', args: [1, 2] }, nnc: '' },
      cause: null,
      meta,
      prf: []
    }
  }
}

/** Awaits a refusal and checks its stable name, code and reason. */
export async function refused (promise: Promise<unknown>, name: string, reason?: string, details?: Record<string, unknown>): Promise<Error & { code: string, reason: string, details: Record<string, unknown> }> {
  let caught: unknown
  try {
    await promise
  } catch (err) {
    caught = err
  }
  expect(caught, `expected ${name}, but nothing was thrown`).toBeInstanceOf(Error)
  const err = caught as Error & { code: string, reason: string, details: Record<string, unknown> }
  expect(err.name, err.message).toBe(name)
  if (reason !== undefined) expect(err.reason).toBe(reason)
  if (details !== undefined) expect(err.details).toMatchObject(details)
  return err
}
