/**
 * `ipvm serve` end to end, in-process: a provider on loopback; a client node (its own libp2p, its own
 * blockstore holding the guest module) gets a delegation from `ipvm delegate`, invokes add-one on the
 * provider, which fetches the module from the client over bitswap and returns a receipt it signed.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AuthError, createAuth, generateIdentity, signInvocation } from '@ipvm/auth'
import { invocationCid, type Invocation, instructionCid } from '@ipvm/core'
import { createIpvmNetwork, type IpvmNetwork } from '@ipvm/net'
import { addContent, createBlockstore, MemoryBlockstore } from '@ipvm/store'
import { afterEach, describe, expect, it } from 'vitest'
import { parseExpiry } from '../src/cli/delegate.js'
import { main } from '../src/cli/main.js'
import { parseAffinities, serveCommand } from '../src/cli/serve.js'

const GUEST = new URL('../../../examples/functions/dist/functions.wasm', import.meta.url)

interface Captured { out: string, err: string, io: { stdout: { write: (t: string) => void }, stderr: { write: (t: string) => void } } }
function capture (): Captured {
  const c: Captured = { out: '', err: '', io: { stdout: { write: (t) => { c.out += t } }, stderr: { write: (t) => { c.err += t } } } }
  return c
}

async function until<T> (check: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const start = Date.now()
  for (;;) {
    const value = check()
    if (value !== undefined) return value
    if (Date.now() - start > timeoutMs) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

function lines (text: string): Array<Record<string, unknown>> {
  return text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)
}

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

describe('ipvm delegate', () => {
  it('prints a UCAN issued by the store\'s identity, with caveats', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ipvm-delegate-'))
    cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
    const user = await generateIdentity()
    const module = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'
    const c = capture()
    const code = await main(['delegate', '--store', dir, '--to', user.did, '--can', 'wasm/run', '--fuel', '1000000', '--memory', '67108864', '--module', `ipfs://${module}`, '--expires', '2h', '--json'], c.io)
    expect(c.err).toBe('')
    expect(code).toBe(0)
    const printed = JSON.parse(c.out) as { ucan: string, issuer: string, audience: string, expires: string, caveats: unknown }
    expect(printed.audience).toBe(user.did)
    expect(printed.issuer).toMatch(/^did:key:z6Mk/)
    expect(printed.ucan.split('.')).toHaveLength(3)
    expect(Date.parse(printed.expires) - Date.now()).toBeGreaterThan(7000_000)
    expect(printed.caveats).toEqual({ fuel: 1_000_000, memory: 67_108_864, modules: [module] })
    // Same identity on a second call; plain output is the JWT alone.
    const again = capture()
    expect(await main(['delegate', '--store', dir, '--to', user.did], again.io)).toBe(0)
    expect(again.out.trim().split('.')).toHaveLength(3)
    const bad = capture()
    expect(await main(['delegate', '--store', dir, '--to', user.did, '--can', 'wasm/rn'], bad.io)).toBe(2)
    expect(bad.err).toMatch(/--can must be one of/)
    expect(await main(['delegate', '--store', dir, '--to', 'did:web:nope'], capture().io)).toBe(2)
  })

  it('parses expiries and affinities', () => {
    const now = Date.UTC(2026, 0, 1)
    expect(parseExpiry('1h', now)).toBe(now / 1000 + 3600)
    expect(parseExpiry('7d', now)).toBe(now / 1000 + 7 * 86400)
    expect(parseExpiry('2026-01-02T00:00:00Z', now)).toBe(now / 1000 + 86400)
    expect(() => parseExpiry('2020-01-01', now)).toThrow(/past/)
    expect(() => parseExpiry('soon', now)).toThrow(/duration/)
    expect(parseAffinities(['gpu=true', 'vram=24', 'region=eu', 'fast'])).toEqual({ gpu: true, vram: 24, region: 'eu', fast: true })
    expect(() => parseAffinities(['=x'])).toThrow(/key=value/)
  })
})

describe('ipvm serve', () => {
  it('runs a delegated task whose module it fetches from the invoker, refuses one without a delegation', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ipvm-serve-'))
    cleanups.push(async () => { await rm(dir, { recursive: true, force: true }) })
    const stop = new AbortController()
    const served = capture()
    const serving = serveCommand({ store: dir, poolSize: 1, json: true, signal: stop.signal }, served.io)
    cleanups.push(async () => { stop.abort(); await serving.catch(() => {}) })
    const ready = await until(() => lines(served.out).find((l) => l.type === 'serve:ready')) as { did: string, peerId: string, multiaddrs: string[] }
    expect(ready.did).toMatch(/^did:key:z6Mk/)
    const tcp = ready.multiaddrs.find((a) => /\/tcp\/\d+\/p2p\//.test(a))!
    expect(tcp).toMatch(/^\/ip4\/127\.0\.0\.1\//)
    expect(ready.multiaddrs.some((a) => a.includes('/ws/'))).toBe(true)

    // The client: its own node and blockstore; only it holds the guest module.
    const clientBlocks = new MemoryBlockstore()
    const client: IpvmNetwork = await createIpvmNetwork({ blockstore: clientBlocks, listen: ['/ip4/127.0.0.1/tcp/0'] })
    cleanups.push(async () => { await client.stop() })
    const module = await addContent(clientBlocks, new Uint8Array(await readFile(GUEST)))
    const user = await generateIdentity()

    const delegation = capture()
    expect(await main(['delegate', '--store', dir, '--to', user.did, '--can', 'wasm/run', '--expires', '10m', '--json'], delegation.io)).toBe(0)
    const { ucan, issuer } = JSON.parse(delegation.out) as { ucan: string, issuer: string }
    expect(issuer).toBe(ready.did)

    const invocation: Invocation = {
      task: { run: { rsc: `ipfs://${module.toString()}`, op: 'wasm/run', input: { func: 'add-one', args: [41] }, nnc: '' }, cause: null, meta: {}, prf: [] }
    }
    const signed = await signInvocation(invocation, user, { audience: ready.did, proofs: [ucan] })
    const progress: string[] = []
    const receipt = await client.invoke(tcp, { signed, awaited: [] }, { onProgress: (p) => { progress.push(p.type) }, signal: AbortSignal.timeout(30_000) })
    expect(receipt.out).toEqual({ ok: 42 })
    expect(receipt.iss).toBe(ready.did)
    expect(progress).toContain('invoke:accepted')
    await createAuth({ signer: user }).verifyReceipt(receipt, { expectedIssuer: ready.did, invocation })
    expect(receipt.ran.equals(await invocationCid(invocation))).toBe(true)

    // The receipt is also served by instruction CID.
    const instruction = await instructionCid(invocation.task.run)
    const exchanged = await client.fetchReceipts(ready.peerId, [instruction])
    expect(exchanged).toHaveLength(1)
    expect(exchanged[0]!.receipt.out).toEqual({ ok: 42 })

    // No delegation: refused with the typed UCAN error.
    const stranger = await generateIdentity()
    const unauthorized = await signInvocation(invocation, stranger, { audience: ready.did })
    const err = await client.invoke(tcp, { signed: unauthorized, awaited: [] }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AuthError)
    expect((err as AuthError).name).toMatch(/^(UnknownIssuerError|BrokenChainError)$/)
    expect((err as AuthError).details.remotePeer).toBe(ready.peerId)

    stop.abort()
    expect(await serving).toBe(0)
    const events = lines(served.out)
    expect(events.filter((e) => e.type === 'invoke:ran')).toHaveLength(1)
    expect(events.filter((e) => e.type === 'invoke:refused')).toHaveLength(1)
    expect(events.at(-1)).toMatchObject({ type: 'serve:stopped', counters: { ran: 1, refused: 1, receiptsServed: 1 } })
    // The module came over bitswap into the provider's own blockstore.
    const providerBlocks = await createBlockstore({ location: join(dir, 'blocks') })
    try {
      expect(await providerBlocks.has(module)).toBe(true)
    } finally {
      await providerBlocks.close()
    }
  })
})
