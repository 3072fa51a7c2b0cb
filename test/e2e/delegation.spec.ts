/**
 * Delegation between browsers and to Node (issue 7), in Debian's Chromium:
 * - two pages reserved on a Node circuit relay (started here, in Playwright's process) connect directly
 *   with WebRTC; page A (no GPU) runs a three-task workflow whose middle task needs a GPU, so it runs on
 *   page B, authorized by B's UCAN; B signs the receipt, A verifies and stores it, and a rerun replays all;
 * - a page delegates a GPU task to `ipvm serve` in Node over WebSockets, with a UCAN from `ipvm delegate`;
 * - and to `ipvm serve` over direct WebRTC (the provider reserves a slot on the relay, the page dials its
 *   `/p2p-circuit/webrtc` address).
 *
 * Needs `--allow-loopback-in-peer-connection` and media permission (the `webrtc` project sets both) and is
 * meant for a loopback-only network namespace, as CI runs it:
 *   unshare -n bash -c 'ip link set lo up && npx playwright test --project webrtc'
 * It is not skipped outside one: no STUN/ICE servers are configured, so Chromium only offers host
 * candidates of this machine, and it passes on the host network namespace too (then ICE may also pick
 * a non-loopback interface address of this machine).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { type Browser, expect, type Page, test } from '@playwright/test'
import type { IpvmNetwork } from '@ipvm/net'
import type { IpvmPeer, PeerRunResult } from './pages/peer/main.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const CLI = join(ROOT, 'packages/ipvm/dist/bin/ipvm.js')
const SERVE_BUILT = existsSync(join(ROOT, 'packages/ipvm/dist/src/cli/serve.js'))

test.describe.configure({ mode: 'serial', timeout: 60_000 })

let relay: IpvmNetwork
let relayAddr: string

test.beforeAll(async () => {
  // Node 20 shims first (Promise.withResolvers, WebSocket), then the built packages.
  await import('ipvm/node20')
  const { createIpvmNetwork } = await import('@ipvm/net')
  const { MemoryBlockstore } = await import('@ipvm/store')
  relay = await createIpvmNetwork({ blockstore: new MemoryBlockstore(), listen: ['/ip4/127.0.0.1/tcp/0/ws'], relayServer: true, webRTC: false })
  relayAddr = relay.multiaddrs().map(String).find((a) => a.includes('/ws/'))!
  expect(relayAddr).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\/p2p\//)
})

test.afterAll(async () => {
  await relay?.stop()
})

type PeerCall = { [K in keyof IpvmPeer]: IpvmPeer[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never }

/** Opens the peer page in a context of its own (its own IndexedDB and identity); `peer.x(...)` calls `window.ipvmPeer.x(...)`. */
async function openPeer (browser: Browser, query: Record<string, string>): Promise<{ page: Page, did: string, peerId: string, peer: PeerCall }> {
  const context = await browser.newContext()
  const page = await context.newPage()
  page.on('pageerror', (e) => { console.error(`[page ${query.affinity ?? ''}] ${String(e)}`) })
  await page.goto(`/test/e2e/pages/peer/?${new URLSearchParams(query).toString()}`)
  await page.waitForFunction(() => window.ipvmPeer !== undefined || window.ipvmPeerError !== undefined, undefined, { timeout: 30_000 })
  const failed = await page.evaluate(() => window.ipvmPeerError)
  expect(failed, 'the peer page started').toBeUndefined()
  const { did, peerId } = await page.evaluate(() => ({ did: window.ipvmPeer!.did, peerId: window.ipvmPeer!.peerId }))
  const peer = new Proxy({}, {
    get: (_target, name: string) => async (...args: unknown[]) => await page.evaluate(
      async ([method, list]) => await (window.ipvmPeer as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!(...list),
      [name, args] as const)
  }) as PeerCall
  return { page, did, peerId, peer }
}

/** add-one three times; the middle one needs a GPU. Built in Node with @ipvm/core, run by the page as JSON. */
async function gpuChain (rsc: string, start: number, meta: Record<string, unknown> = { affinity: { gpu: true } }): Promise<string> {
  const { awaitOk, taskToIpld, toDagJson, wasmTask } = await import('@ipvm/core')
  const first = await wasmTask({ rsc, func: 'add-one', args: [start] })
  const middle = await wasmTask({ rsc, func: 'add-one', args: [awaitOk(first)], meta: meta as never })
  const last = await wasmTask({ rsc, func: 'add-one', args: [awaitOk(middle)] })
  return toDagJson({ tasks: [first, middle, last].map((t) => taskToIpld(t.task)) })
}

test('two pages through a Node relay: the GPU task runs on page B over direct WebRTC, signed by B, replayed on A', async ({ browser }) => {
  const t0 = Date.now()
  const b = await openPeer(browser, { relay: relayAddr, affinity: 'gpu=1' })
  const a = await openPeer(browser, { relay: relayAddr })
  const bAddrs = await b.peer.addresses()
  await a.peer.addresses()
  const bWebRTC = bAddrs.find((addr) => addr.includes('/p2p-circuit/webrtc'))!
  expect(bWebRTC).toContain(`/p2p/${b.peerId}`)

  // B delegates its compute to A's DID; A presents that UCAN when it invokes B.
  const ucan = await b.peer.delegateTo(a.did)
  await a.peer.setProofs({ [b.did]: [ucan] })
  const tDial = Date.now()
  await a.peer.dial(bWebRTC)
  const dialMs = Date.now() - tDial
  await a.peer.waitForPeer(b.did)
  // The connection A→B is direct WebRTC (the relay only carried the signalling).
  await expect.poll(async () => (await a.peer.connections()).filter((c) => c.peer === b.peerId && c.webrtc && !c.limited).length,
    { timeout: 10_000 }).toBeGreaterThan(0)
  console.log(`[delegation] A's connections: ${JSON.stringify(await a.peer.connections())}`)

  const rsc = await a.peer.moduleRsc() // only A holds the module: B fetches it over bitswap
  const workflow = await gpuChain(rsc, 1)
  const tRun = Date.now()
  const first: PeerRunResult = await a.peer.runWorkflow(workflow)
  const runMs = Date.now() - tRun
  expect(first.status).toBe('completed')
  expect(first.tasks.map((t) => t.out)).toEqual(['{"ok":2}', '{"ok":3}', '{"ok":4}'])
  expect(first.tasks.map((t) => t.where)).toEqual(['local', 'peer', 'local'])
  expect(first.tasks[1]!.peer).toBe(b.peerId)
  expect(first.tasks[1]!.iss).toBe(b.did) // signed by B, verified by A's runtime before it was stored
  expect(first.tasks[0]!.iss).toBe(a.did)
  expect(first.started.find((s) => s.index === 1)).toEqual({ index: 1, where: 'peer', peer: b.peerId })
  expect(await b.page.evaluate(() => window.ipvmPeer!.providerEvents.map((e) => e.type))).toEqual(['invoke:ran'])

  // Stored by A: a rerun replays every task, the delegated one with the receipt B signed.
  const again = await a.peer.runWorkflow(workflow)
  expect(again.tasks.map((t) => t.replayed)).toEqual([true, true, true])
  expect(again.tasks[1]!.receiptCid).toBe(first.tasks[1]!.receiptCid)
  expect(again.tasks[1]!.iss).toBe(b.did)
  expect(await b.page.evaluate(() => window.ipvmPeer!.providerEvents.length)).toBe(1) // B was not asked again
  console.log(`[delegation] pages up + relay reservations ${tDial - t0} ms, WebRTC dial ${dialMs} ms, first run ${runMs} ms`)
  await a.page.context().close()
  await b.page.context().close()
})

/** `ipvm serve --json` as a child process; resolves with its `serve:ready` line. */
async function startServe (store: string, extra: string[] = []): Promise<{ child: ChildProcess, ready: { did: string, peerId: string, multiaddrs: string[] } }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--store', store, '--listen', '/ip4/127.0.0.1/tcp/0/ws', '--affinity', 'gpu=true', '--pool', '1', '--json', ...extra],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (chunk) => { stderr += String(chunk) })
  const lines = createInterface({ input: child.stdout! })
  const ready = await new Promise<{ did: string, peerId: string, multiaddrs: string[] }>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`ipvm serve did not start in 20 s: ${stderr}`)) }, 20_000)
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`ipvm serve exited with ${code}: ${stderr}`)) })
    lines.on('line', (line) => {
      try {
        const event = JSON.parse(line) as { type?: string, did: string, peerId: string, multiaddrs: string[] }
        if (event.type === 'serve:ready') { clearTimeout(timer); resolve(event) }
      } catch { /* not JSON: ignore */ }
    })
  })
  return { child, ready }
}

async function cli (args: string[]): Promise<string> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', (c) => { out += String(c) })
  child.stderr!.on('data', (c) => { err += String(c) })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`ipvm ${args.join(' ')} exited with ${code}: ${err}`)
  return out
}

test('a page delegates its GPU task to `ipvm serve` in Node over WebSockets', async ({ browser }) => {
  test.skip(!SERVE_BUILT, '`ipvm serve` is not built (packages/ipvm/dist/src/cli/serve.js): run `npm run build`')
  const store = await mkdtemp(join(tmpdir(), 'ipvm-serve-e2e-'))
  let serve: ChildProcess | undefined
  try {
    const t0 = Date.now()
    const started = await startServe(store)
    serve = started.child
    const providerWs = started.ready.multiaddrs.find((m) => m.includes('/ws/'))!
    expect(providerWs).toBeTruthy()
    const a = await openPeer(browser, {})
    const delegation = JSON.parse(await cli(['delegate', '--to', a.did, '--store', store, '--expires', '10m', '--json'])) as { ucan: string, issuer: string }
    expect(delegation.issuer).toBe(started.ready.did)
    await a.peer.setProofs({ [started.ready.did]: [delegation.ucan] })
    await a.peer.dial(providerWs)
    await a.peer.waitForPeer(started.ready.did)
    const rsc = await a.peer.moduleRsc()
    const result = await a.peer.runWorkflow(await gpuChain(rsc, 10))
    expect(result.status).toBe('completed')
    expect(result.tasks.map((t) => t.out)).toEqual(['{"ok":11}', '{"ok":12}', '{"ok":13}'])
    expect(result.tasks.map((t) => t.where)).toEqual(['local', 'peer', 'local'])
    expect(result.tasks[1]!.iss).toBe(started.ready.did)
    expect(result.tasks[1]!.peer).toBe(started.ready.peerId)
    expect((await a.peer.connections()).some((c) => c.peer === started.ready.peerId && c.remoteAddr.includes('/ws'))).toBe(true)
    const again = await a.peer.runWorkflow(await gpuChain(rsc, 10))
    expect(again.tasks.map((t) => t.replayed)).toEqual([true, true, true])
    console.log(`[delegation] browser → ipvm serve over WebSockets: ${Date.now() - t0} ms incl. serve start`)
    await a.page.context().close()
  } finally {
    serve?.kill('SIGTERM')
    await rm(store, { recursive: true, force: true })
  }
})

test('a page delegates to `ipvm serve` over WebRTC, signalled through the relay', async ({ browser }) => {
  test.skip(!SERVE_BUILT, '`ipvm serve` is not built (packages/ipvm/dist/src/cli/serve.js): run `npm run build`')
  const store = await mkdtemp(join(tmpdir(), 'ipvm-serve-e2e-'))
  let serve: ChildProcess | undefined
  try {
    // The provider reserves a slot on the relay (a listen address `<relay>/p2p-circuit`) and listens on /webrtc.
    const started = await startServe(store, ['--listen', `${relayAddr}/p2p-circuit`, '--no-relay-server'])
    serve = started.child
    const a = await openPeer(browser, { relay: relayAddr })
    const delegation = JSON.parse(await cli(['delegate', '--to', a.did, '--store', store, '--expires', '10m', '--json'])) as { ucan: string }
    await a.peer.setProofs({ [started.ready.did]: [delegation.ucan] })
    const viaRelay = `${relayAddr}/p2p-circuit/webrtc/p2p/${started.ready.peerId}`
    // the reservation may still be under way when serve prints its addresses: retry the dial briefly
    await expect.poll(async () => await a.peer.dial(viaRelay).then(() => true, (e: unknown) => String(e)), { timeout: 15_000 }).toBe(true)
    await expect.poll(async () => (await a.peer.connections()).some((c) => c.peer === started.ready.peerId && c.webrtc && !c.limited), { timeout: 10_000 }).toBe(true)
    // only the WebRTC connection is left for the invocation: no WebSockets connection to the provider
    expect((await a.peer.connections()).filter((c) => c.peer === started.ready.peerId && !c.webrtc && !c.limited)).toEqual([])
    await a.peer.waitForPeer(started.ready.did)
    const rsc = await a.peer.moduleRsc()
    const result = await a.peer.runWorkflow(await gpuChain(rsc, 20))
    expect(result.status).toBe('completed')
    expect(result.tasks.map((t) => t.out)).toEqual(['{"ok":21}', '{"ok":22}', '{"ok":23}'])
    expect(result.tasks.map((t) => t.where)).toEqual(['local', 'peer', 'local'])
    expect(result.tasks[1]!.iss).toBe(started.ready.did)
    await a.page.context().close()
  } finally {
    serve?.kill('SIGTERM')
    await rm(store, { recursive: true, force: true })
  }
})

// The panel does not reserve a relay slot on the provider by default (see examples/image-pipeline/src/peers.ts).
test('examples/offload: the phone page offloads grayscale and blur to `ipvm serve`, as a person would click it', async ({ browser }) => {
  test.skip(!SERVE_BUILT, '`ipvm serve` is not built (packages/ipvm/dist/src/cli/serve.js): run `npm run build`')
  const store = await mkdtemp(join(tmpdir(), 'ipvm-serve-e2e-'))
  let serve: ChildProcess | undefined
  try {
    const started = await startServe(store)
    serve = started.child
    const context = await browser.newContext()
    const page = await context.newPage()
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') console.log(`[offload page] ${m.text()}`) })
    started.child.stdout!.on('data', (c) => { console.log(`[serve] ${String(c).trim()}`) })
    await page.goto('/examples/offload/')
    await expect(page.locator('#status')).toHaveAttribute('data-ready', 'true', { timeout: 30_000 })
    const did = /did:key:z\w+/.exec(await page.locator('#status').textContent() ?? '')![0]

    const { ucan } = JSON.parse(await cli(['delegate', '--to', did, '--store', store, '--expires', '10m', '--json'])) as { ucan: string }
    await page.locator('#peer-address').fill(started.ready.multiaddrs.find((m) => m.includes('/ws/'))!)
    await page.locator('#peer-relay').uncheck()
    await page.locator('#peer-connect').click()
    await expect(page.locator('#peer-status')).toContainText('connected to', { timeout: 15_000 })
    await page.locator('#peers-section details summary').click()
    await page.locator('#peer-ucan').fill(ucan)
    await page.locator('#peer-add-ucan').click()
    await expect(page.locator(`#peer-list li[data-did="${started.ready.did}"]`)).toContainText('gpu', { timeout: 15_000 })
    await expect(page.locator(`#peer-list li[data-did="${started.ready.did}"]`)).toContainText('authorized')
    await page.locator('#run').click()
    await expect(page.locator('#summary')).toHaveAttribute('data-status', 'completed', { timeout: 45_000 })
    await expect(page.locator('#summary')).toContainText('2 step(s) offloaded')
    await expect(page.locator('#steps li[data-where="peer"]')).toHaveCount(2)
    await expect(page.locator('#steps li[data-op="blur"]')).toHaveAttribute('data-peer', started.ready.peerId)
    await expect(page.locator('#viewer')).toBeVisible()
    await context.close()
  } finally {
    serve?.kill('SIGTERM')
    await rm(store, { recursive: true, force: true })
  }
})
