import { createAuth, signInvocation } from '@ipvm/auth'
import { invocationCid, IpvmError, type Receipt } from '@ipvm/core'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import * as dagCbor from '@ipld/dag-cbor'
import { afterEach, describe, expect, it } from 'vitest'
import { INVOKE_PROTOCOL, type InvokeProgress, MalformedMessageError, MessageTooLargeError, PeerUnreachableError, ProtocolNotSupportedError, RemoteError } from '../src/index.js'
import { addInvocation, Nodes, signedPair, tcpAddress } from './helpers.js'

const nodes = new Nodes()
afterEach(async () => { await nodes.stopAll() })

describe('/ipvm/invoke/1.0.0 between two Node nodes over TCP', () => {
  it('sends a signed invocation, streams progress, returns the signed receipt', async () => {
    const { executor, signed } = await signedPair()
    const auth = createAuth({ signer: executor })
    const provider = await nodes.create()
    const invoker = await nodes.create()
    let seenAwaited = -1
    let seenPeer = ''
    provider.handleInvoke(async (request, { peer, progress }) => {
      const verified = await auth.verifyInvocation(request.signed)
      seenAwaited = request.awaited.length
      seenPeer = peer.toString()
      progress({ type: 'invoke:accepted' })
      progress({ type: 'invoke:started' })
      return await auth.signReceipt({ ran: verified.cid, out: { ok: 3 }, fx: { fork: [] }, meta: { fuel: 12 }, prf: [] })
    })
    const events: InvokeProgress[] = []
    const awaited = [{ instruction: await invocationCid(addInvocation(0, 0)), out: { ok: 7 } }]
    const receipt = await invoker.invoke(tcpAddress(provider), { signed, awaited }, { onProgress: (p) => { events.push(p) } })
    expect(events.map((e) => e.type)).toEqual(['invoke:accepted', 'invoke:started'])
    expect(receipt.out).toEqual({ ok: 3 })
    expect(receipt.iss).toBe(executor.did)
    expect(receipt.ran.equals(await invocationCid(signed.invocation))).toBe(true)
    await auth.verifyReceipt(receipt, { expectedIssuer: executor.did, invocation: signed.invocation })
    expect(seenAwaited).toBe(1)
    expect(seenPeer).toBe(invoker.peerId)
    // Now connected: invoke by peer id string works too (same verification → a replay this time).
    await expect(invoker.invoke(provider.peerId, { signed, awaited: [] })).rejects.toMatchObject({ name: 'ReplayError', code: 'ERR_REPLAY' })
  })

  it('carries typed remote errors with name, code and details', async () => {
    const { executor } = await signedPair()
    const auth = createAuth({ signer: executor })
    const stranger = await (await import('@ipvm/auth')).generateIdentity()
    const provider = await nodes.create()
    const invoker = await nodes.create()
    provider.handleInvoke(async (request) => {
      await auth.verifyInvocation(request.signed)
      throw new Error('unreachable')
    })
    // Signed by a stranger with no delegation: refused with the UCAN error, typed.
    const signed = await signInvocation(addInvocation(1, 2), stranger, { audience: executor.did })
    const err = await invoker.invoke(tcpAddress(provider), { signed, awaited: [] }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IpvmError)
    expect(err).toMatchObject({ name: 'UnknownIssuerError', code: 'ERR_UNKNOWN_ISSUER' })
    expect((err as IpvmError).details).toMatchObject({ reason: 'unknown-issuer', remotePeer: provider.peerId })
    // The class itself is rebuilt (registered by @ipvm/auth).
    const { UnknownIssuerError, AuthError } = await import('@ipvm/auth')
    expect(err).toBeInstanceOf(UnknownIssuerError)
    expect(err).toBeInstanceOf(AuthError)
  })

  it('refuses oversized frames both ways, with a typed error', async () => {
    const { executor, signed } = await signedPair()
    const auth = createAuth({ signer: executor })
    const provider = await nodes.create({ maxMessageBytes: 4096 })
    const invoker = await nodes.create({ maxMessageBytes: 4096 })
    let ran = 0
    provider.handleInvoke(async (request) => {
      ran++
      const verified = await auth.verifyInvocation(request.signed)
      return await auth.signReceipt({ ran: verified.cid, out: { ok: new Uint8Array(8000) }, fx: { fork: [] }, meta: {}, prf: [] })
    })
    // The invoker refuses to send a frame above its own limit.
    const big = [{ instruction: await invocationCid(addInvocation(0, 0)), out: { ok: new Uint8Array(5000) } }]
    await expect(invoker.invoke(tcpAddress(provider), { signed, awaited: big })).rejects.toBeInstanceOf(MessageTooLargeError)
    expect(ran).toBe(0)
    // The provider's receipt is above the limit: the provider refuses to send it and says so.
    await expect(invoker.invoke(tcpAddress(provider), { signed, awaited: [] })).rejects.toMatchObject({ name: 'MessageTooLargeError' })
    expect(ran).toBe(1)
  })

  it('a provider refuses a frame above its limit (sent raw) and resets the stream', async () => {
    const provider = await nodes.create({ maxMessageBytes: 2048 })
    const raw = await nodes.create()
    let ran = 0
    provider.handleInvoke(async () => { ran++; throw new Error('not reached') })
    const stream = await raw.libp2p.dialProtocol(multiaddr(tcpAddress(provider)), INVOKE_PROTOCOL)
    const lp = lpStream(stream)
    await lp.write(dagCbor.encode({ signed: {}, awaited: [], pad: new Uint8Array(10_000) }))
    const reply = dagCbor.decode<{ error: { name: string } }>((await lp.read()).subarray())
    expect(reply.error.name).toBe('MessageTooLargeError')
    await expect(lp.read()).rejects.toThrow()
    expect(ran).toBe(0)
  })

  it('a malformed request is refused with MalformedMessageError', async () => {
    const provider = await nodes.create()
    const raw = await nodes.create()
    provider.handleInvoke(async () => { throw new Error('not reached') })
    for (const bytes of [new Uint8Array([0xff, 0x00, 0x13]), dagCbor.encode({ signed: 'nope', awaited: [] })]) {
      const stream = await raw.libp2p.dialProtocol(multiaddr(tcpAddress(provider)), INVOKE_PROTOCOL)
      const lp = lpStream(stream)
      await lp.write(bytes)
      const reply = dagCbor.decode<{ error: { name: string, code: string } }>((await lp.read()).subarray())
      expect(reply.error).toMatchObject({ name: 'MalformedMessageError', code: 'ERR_MALFORMED_MESSAGE' })
    }
  })

  it('cuts off a request that trickles in slower than requestTimeoutMs', async () => {
    const provider = await nodes.create({ requestTimeoutMs: 300 })
    const raw = await nodes.create()
    let ran = 0
    provider.handleInvoke(async () => { ran++; throw new Error('not reached') })
    const stream = await raw.libp2p.dialProtocol(multiaddr(tcpAddress(provider)), INVOKE_PROTOCOL)
    const closed = new Promise<void>((resolve) => { stream.addEventListener('close', () => { resolve() }) })
    // A length prefix announcing 100 bytes, then only 10 of them.
    stream.send(Uint8Array.from([100, ...new Uint8Array(10)]))
    // Only the request timeout closes this stream (a hang fails on the test's own timeout).
    await closed
    expect(ran).toBe(0)
  }, 10_000)

  it('an invoker refuses a malformed reply', async () => {
    const { signed } = await signedPair()
    const provider = await nodes.create()
    const invoker = await nodes.create()
    await provider.libp2p.handle('/ipvm/invoke/1.0.0', async (stream) => {
      const lp = lpStream(stream)
      await lp.read()
      await lp.write(dagCbor.encode({ receipt: { ran: 'not a link' } }))
      await stream.close()
    }, { force: true })
    await expect(invoker.invoke(tcpAddress(provider), { signed, awaited: [] })).rejects.toBeInstanceOf(MalformedMessageError)
  })

  it('says when a peer is unreachable, does not speak the protocol, or goes away mid-task', async () => {
    const { signed } = await signedPair()
    const provider = await nodes.create()
    const invoker = await nodes.create()
    await expect(invoker.invoke('/ip4/127.0.0.1/tcp/1/p2p/' + provider.peerId, { signed, awaited: [] })).rejects.toBeInstanceOf(PeerUnreachableError)
    const plain = await nodes.create()
    await plain.libp2p.unhandle(INVOKE_PROTOCOL)
    await expect(invoker.invoke(tcpAddress(plain), { signed, awaited: [] })).rejects.toBeInstanceOf(ProtocolNotSupportedError)
    // A provider that dies mid-task.
    let started!: () => void
    const running = new Promise<void>((resolve) => { started = resolve })
    provider.handleInvoke(async (_request, { progress, signal }) => {
      progress({ type: 'invoke:started' })
      started()
      await new Promise((resolve) => signal.addEventListener('abort', resolve))
      return undefined as unknown as Receipt
    })
    const pending = invoker.invoke(tcpAddress(provider), { signed, awaited: [] })
    await running
    await provider.stop()
    await expect(pending).rejects.toBeInstanceOf(RemoteError)
  })

  it('aborts through the signal', async () => {
    const { signed } = await signedPair()
    const provider = await nodes.create()
    const invoker = await nodes.create()
    let aborted = false
    provider.handleInvoke(async (_request, { signal }) => {
      await new Promise((resolve) => signal.addEventListener('abort', resolve))
      aborted = true
      throw new Error('aborted')
    })
    const controller = new AbortController()
    const pending = invoker.invoke(tcpAddress(provider), { signed, awaited: [] }, { signal: controller.signal })
    setTimeout(() => { controller.abort() }, 200)
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(aborted).toBe(true)
  })
})
