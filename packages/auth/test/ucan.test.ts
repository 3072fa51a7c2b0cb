/**
 * The authorization matrix: valid chains of length 0–3, and one case (at least) per refusal.
 * Every delegation and invocation is made on a fixed clock, so nothing here depends on real time.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import {
  abilityCovers, type Capability, type Caveats, createReplayCache, delegate, type Delegation, ipvmCapability,
  parseDelegation, type Signer, signInvocation, verifyAuthority, verifyInvocation
} from '../src/index.js'
import { moduleCid, now, type People, people, refused, S, T, task } from './fixtures.js'

let p: People
let M1: string
let M2: string

beforeAll(async () => {
  p = await people()
  M1 = await moduleCid('module one')
  M2 = await moduleCid('module two')
})

interface Link { from: Signer, to: Signer, can?: string, caveats?: Caveats, expiration?: number, notBefore?: number, resource?: string }

/** Builds a chain of delegations, each carrying the previous one as its proof. */
async function chain (links: Link[]): Promise<Delegation> {
  let previous: Delegation | undefined
  for (const link of links) {
    const capability: Capability = { with: link.resource ?? `ipvm:${p.executor.did}`, can: link.can ?? 'wasm/run' }
    const options: Parameters<typeof delegate>[0] = {
      issuer: link.from, audience: link.to.did, capabilities: [capability], now, proofs: previous === undefined ? [] : [previous]
    }
    if (link.caveats !== undefined) options.caveats = link.caveats
    if (link.expiration !== undefined) options.expiration = link.expiration
    if (link.notBefore !== undefined) options.notBefore = link.notBefore
    previous = await delegate(options)
  }
  return previous!
}

async function invoke (invoker: Signer, proofs: Array<Delegation | string>, inv = task(M1), opts: { audience?: string, iat?: number, lifetime?: number } = {}) {
  return await signInvocation(inv, invoker, {
    audience: opts.audience ?? p.executor.did, proofs, now: () => opts.iat ?? T, lifetime: opts.lifetime ?? 300
  })
}

async function verify (signed: Awaited<ReturnType<typeof invoke>>, extra: { trusted?: string[], at?: number } = {}) {
  return await verifyInvocation(signed, {
    executor: p.executor.did, trusted: extra.trusted ?? [], replay: createReplayCache(), now: () => extra.at ?? T, cache: false
  })
}

describe('ability semantics', () => {
  it('narrows ipvm/* and ns/* and refuses widening', () => {
    expect(abilityCovers('ipvm/*', 'wasm/run')).toBe(true)
    expect(abilityCovers('*', 'ipvm/*')).toBe(true)
    expect(abilityCovers('wasm/*', 'wasm/run')).toBe(true)
    expect(abilityCovers('wasm/run', 'wasm/run')).toBe(true)
    expect(abilityCovers('wasm/run', 'wasm/*')).toBe(false)
    expect(abilityCovers('wasm/run', 'ipvm/*')).toBe(false)
    expect(abilityCovers('ipvm/*', '*')).toBe(false)
    expect(abilityCovers('wasm/*', 'store/put')).toBe(false)
  })
})

describe('valid chains', () => {
  it('length 0: the executor invokes on its own compute without proofs', async () => {
    const v = await verify(await invoke(p.executor, []))
    expect(v.authority.root).toBe(p.executor.did)
    expect(v.authority.chain).toHaveLength(0)
  })

  it('length 1: executor → alice', async () => {
    const leaf = await chain([{ from: p.executor, to: p.alice, caveats: { modules: [M1], fuel: 5000, memory: 1 << 20 } }])
    const v = await verify(await invoke(p.alice, [leaf]))
    expect(v.issuer).toBe(p.alice.did)
    expect(v.authority.root).toBe(p.executor.did)
    expect(v.authority.chain.map((d) => d.issuer)).toEqual([p.executor.did])
    expect(v.authority.caveats).toEqual({ modules: [M1], fuel: 5000, memory: 1 << 20 })
    expect(v.limits).toEqual({ fuel: 1000, memory: 65536 })
    expect(v.cid.toString()).toMatch(/^bafyrmi/)
  })

  it('length 2: executor → alice (ipvm/*) → bob (wasm/run), narrowing ipvm/* to wasm/run', async () => {
    const leaf = await chain([{ from: p.executor, to: p.alice, can: 'ipvm/*' }, { from: p.alice, to: p.bob, can: 'wasm/run' }])
    const v = await verify(await invoke(p.bob, [leaf]))
    expect(v.authority.chain.map((d) => d.issuer)).toEqual([p.alice.did, p.executor.did])
    expect(v.authority.capability).toEqual({ with: `ipvm:${p.executor.did}`, can: 'wasm/run' })
  })

  it('length 3: executor (*) → alice (ipvm/*) → bob (wasm/*) → carol (wasm/run), caveats narrowing', async () => {
    const leaf = await chain([
      { from: p.executor, to: p.alice, can: '*', caveats: { fuel: 10_000 } },
      { from: p.alice, to: p.bob, can: 'ipvm/*', caveats: { modules: [M1, M2], fuel: 5000 } },
      { from: p.bob, to: p.carol, can: 'wasm/*', caveats: { modules: [M1], memory: 1 << 20 } }
    ])
    const v = await verify(await invoke(p.carol, [leaf], task(M1, {})))
    expect(v.authority.chain).toHaveLength(3)
    expect(v.authority.caveats).toEqual({ modules: [M1], fuel: 5000, memory: 1 << 20 })
    // the task states no limits: the caveats are the limits
    expect(v.limits).toEqual({ fuel: 5000, memory: 1 << 20 })
  })

  it('a root the executor trusts (its operator)', async () => {
    const leaf = await chain([{ from: p.operator, to: p.alice, resource: `ipvm:${p.operator.did}` }])
    const v = await verify(await invoke(p.alice, [leaf]), { trusted: [p.operator.did] })
    expect(v.authority.root).toBe(p.operator.did)
  })

  it('verifyAuthority alone, with a delegation passed as its JWT string', async () => {
    const leaf = await chain([{ from: p.executor, to: p.alice }])
    const a = await verifyAuthority({ holder: p.alice.did, can: 'wasm/run', roots: [p.executor.did], proofs: [leaf.jwt], now, cache: false })
    expect(a.root).toBe(p.executor.did)
    expect(parseDelegation(leaf.jwt)).toEqual(leaf)
  })
})

describe('refusals', () => {
  it('expired: a delegation past its exp', async () => {
    const leaf = await chain([{ from: p.executor, to: p.alice, expiration: S - 1 }])
    await refused(verify(await invoke(p.alice, [leaf])), 'ExpiredError', 'expired')
  })

  it('expired: a delegation deeper in the chain', async () => {
    const leaf = await chain([{ from: p.executor, to: p.alice, expiration: S - 60 }, { from: p.alice, to: p.bob, expiration: S - 120 }])
    await refused(verify(await invoke(p.bob, [leaf])), 'ExpiredError', 'expired')
  })

  it('expired: the invocation itself', async () => {
    const leaf = await chain([{ from: p.executor, to: p.alice }])
    const signed = await invoke(p.alice, [leaf], task(M1), { lifetime: 60 })
    await refused(verify(signed, { at: T + 61_000 }), 'ExpiredError', 'expired')
  })

  it('not yet valid: a delegation with nbf in the future', async () => {
    const leaf = await chain([{ from: p.executor, to: p.alice, notBefore: S + 3600 }])
    await refused(verify(await invoke(p.alice, [leaf])), 'NotYetValidError', 'not-yet-valid')
  })

  it('not yet valid: an invocation issued in the future', async () => {
    const leaf = await chain([{ from: p.executor, to: p.alice }])
    await refused(verify(await invoke(p.alice, [leaf], task(M1), { iat: T + 3_600_000 })), 'NotYetValidError', 'not-yet-valid')
  })

  it('wrong audience: an invocation addressed to another executor', async () => {
    const leaf = await chain([{ from: p.executor, to: p.alice }])
    await refused(verify(await invoke(p.alice, [leaf], task(M1), { audience: p.mallory.did })), 'WrongAudienceError', 'wrong-audience')
  })

  it('escalation of ability: alice got wasm/run and delegates ipvm/*', async () => {
    const leaf = await chain([{ from: p.executor, to: p.alice, can: 'wasm/run' }, { from: p.alice, to: p.bob, can: 'ipvm/*' }])
    await refused(verify(await invoke(p.bob, [leaf])), 'EscalationError', 'escalation', { what: 'ability' })
  })

  it('escalation of ability: ipvm/* does not give *', async () => {
    const leaf = await chain([{ from: p.executor, to: p.alice, can: 'ipvm/*' }, { from: p.alice, to: p.bob, can: '*' }])
    await refused(verify(await invoke(p.bob, [leaf])), 'EscalationError', 'escalation', { what: 'ability' })
  })

  it('escalation of ability: invoking an op no delegation grants', async () => {
    const leaf = await chain([{ from: p.executor, to: p.alice, can: 'wasm/run' }])
    await refused(verify(await invoke(p.alice, [leaf], task(M1, {}, 'store/put'))), 'EscalationError', 'escalation', { what: 'ability' })
  })

  it('escalation of resource: delegating a resource the proof does not cover', async () => {
    const leaf = await chain([{ from: p.executor, to: p.alice }, { from: p.alice, to: p.bob, resource: `ipvm:${p.operator.did}` }])
    await refused(verify(await invoke(p.bob, [leaf]), { trusted: [p.operator.did] }), 'EscalationError', 'escalation', { what: 'resource' })
  })

  it('escalation of caveats: fuel', async () => {
    const leaf = await chain([{ from: p.executor, to: p.alice, caveats: { fuel: 1000 } }, { from: p.alice, to: p.bob, caveats: { fuel: 2000 } }])
    await refused(verify(await invoke(p.bob, [leaf])), 'EscalationError', 'escalation', { what: 'fuel' })
  })

  it('escalation of caveats: modules', async () => {
    const leaf = await chain([{ from: p.executor, to: p.alice, caveats: { modules: [M1] } }, { from: p.alice, to: p.bob, caveats: { modules: [M1, M2] } }])
    await refused(verify(await invoke(p.bob, [leaf])), 'EscalationError', 'escalation', { what: 'modules' })
  })

  it('escalation of caveats: memory, three links deep', async () => {
    const leaf = await chain([
      { from: p.executor, to: p.alice, caveats: { memory: 1 << 20 } },
      { from: p.alice, to: p.bob },
      { from: p.bob, to: p.carol, caveats: { memory: 1 << 21 } }
    ])
    await refused(verify(await invoke(p.carol, [leaf])), 'EscalationError', 'escalation', { what: 'memory' })
  })

  it('escalation of caveats: expiry beyond the proof', async () => {
    const leaf = await chain([{ from: p.executor, to: p.alice, expiration: S + 600 }, { from: p.alice, to: p.bob, expiration: S + 6000 }])
    await refused(verify(await invoke(p.bob, [leaf])), 'EscalationError', 'escalation', { what: 'expiry' })
  })

  it('broken chain: the proof is addressed to alice, but bob delegates with it', async () => {
    const toAlice = await chain([{ from: p.executor, to: p.alice }])
    const leaf = await delegate({ issuer: p.bob, audience: p.carol.did, capabilities: [ipvmCapability(p.executor.did, 'wasm/run')], proofs: [toAlice], now })
    await refused(verify(await invoke(p.carol, [leaf])), 'BrokenChainError', 'broken-chain')
  })

  it('broken chain: the invoker shows a delegation addressed to someone else', async () => {
    const toAlice = await chain([{ from: p.executor, to: p.alice }])
    await refused(verify(await invoke(p.mallory, [toAlice])), 'BrokenChainError', 'broken-chain')
  })

  it('broken chain: an intermediate delegates without any proof', async () => {
    const leaf = await delegate({ issuer: p.alice, audience: p.bob.did, capabilities: [ipvmCapability(p.executor.did, 'wasm/run')], now })
    await refused(verify(await invoke(p.bob, [leaf])), 'BrokenChainError', 'broken-chain')
  })

  it('bad signature: a delegation whose payload was changed after signing', async () => {
    const leaf = await chain([{ from: p.executor, to: p.alice, caveats: { fuel: 10 } }])
    const [h, payload, sig] = leaf.jwt.split('.') as [string, string, string]
    const json = JSON.parse(new TextDecoder().decode(base64urlDecode(payload))) as { fct: Array<Record<string, { fuel: number }>> }
    json.fct[0]!['ipvm/caveats']!.fuel = 1_000_000
    const tampered = `${h}.${base64urlEncode(new TextEncoder().encode(JSON.stringify(json)))}.${sig}`
    expect(parseDelegation(tampered).caveats.fuel).toBe(1_000_000)
    await refused(verify(await invoke(p.alice, [tampered])), 'BadSignatureError', 'bad-signature')
  })

  it('bad signature: a tampered proof deeper in the chain', async () => {
    const root = await chain([{ from: p.executor, to: p.alice, caveats: { fuel: 10 } }])
    const [h, , sig] = root.jwt.split('.') as [string, string, string]
    const forged = await delegate({ issuer: p.mallory, audience: p.alice.did, capabilities: [ipvmCapability(p.executor.did, '*')], now })
    const tampered = `${h}.${forged.jwt.split('.')[1]!}.${sig}`
    const leaf = await delegate({ issuer: p.alice, audience: p.bob.did, capabilities: [ipvmCapability(p.executor.did, 'wasm/run')], proofs: [tampered], now })
    await refused(verify(await invoke(p.bob, [leaf])), 'BadSignatureError', 'bad-signature')
  })

  it('bad signature: the task was changed after the invocation was signed', async () => {
    const leaf = await chain([{ from: p.executor, to: p.alice, caveats: { fuel: 1000 } }])
    const signed = await invoke(p.alice, [leaf])
    signed.invocation.task.meta = { fuel: 1 }
    await refused(verify(signed), 'BadSignatureError', 'bad-signature')
  })

  it('bad signature: mallory claims alice signed', async () => {
    const leaf = await chain([{ from: p.executor, to: p.alice }])
    const signed = await invoke(p.mallory, [leaf])
    await refused(verify({ ...signed, iss: p.alice.did }), 'BadSignatureError', 'bad-signature')
  })

  it('replay: the same signed invocation twice with one cache', async () => {
    const leaf = await chain([{ from: p.executor, to: p.alice }])
    const signed = await invoke(p.alice, [leaf])
    const replay = createReplayCache()
    const options = { executor: p.executor.did, replay, now }
    await verifyInvocation(signed, options)
    await refused(verifyInvocation(signed, options), 'ReplayError', 'replay')
    // the same task with a fresh nonce is a new invocation
    await verifyInvocation(await invoke(p.alice, [leaf]), options)
    // after it expired, it is refused as expired rather than remembered forever
    await refused(verifyInvocation(signed, { ...options, now: () => T + 301_000 }), 'ExpiredError')
  })

  it('replay: a refused invocation does not use up its nonce', async () => {
    const leaf = await chain([{ from: p.executor, to: p.alice, caveats: { fuel: 10 } }])
    const replay = createReplayCache()
    const signed = await invoke(p.alice, [leaf])
    await refused(verifyInvocation(signed, { executor: p.executor.did, replay, now }), 'CaveatExceededError')
    expect(replay.size).toBe(0)
  })

  it('replay: a full cache forgets the soonest-expiring entries but never allows replaying them', async () => {
    const replay = createReplayCache({ maxEntries: 2 })
    expect(replay.add('a', S + 10, S)).toBe(true)
    expect(replay.add('b', S + 20, S)).toBe(true)
    expect(replay.add('c', S + 30, S)).toBe(true) // forgets 'a'
    expect(replay.size).toBe(2)
    expect(replay.add('a', S + 10, S)).toBe(false)
    expect(replay.add('b', S + 20, S)).toBe(false)
    expect(replay.add('d', S + 40, S)).toBe(true)
    expect(replay.add('e', S + 100, S + 25)).toBe(true) // 'b' expired by now and is pruned
  })

  it('caveat exceeded: the task asks for more fuel', async () => {
    const leaf = await chain([{ from: p.executor, to: p.alice, caveats: { fuel: 500 } }])
    await refused(verify(await invoke(p.alice, [leaf], task(M1, { fuel: 501 }))), 'CaveatExceededError', 'caveat-exceeded', { caveat: 'fuel' })
  })

  it('caveat exceeded: the task asks for more memory (bigint)', async () => {
    const leaf = await chain([{ from: p.executor, to: p.alice, caveats: { memory: 65536 } }])
    await refused(verify(await invoke(p.alice, [leaf], task(M1, { memory: 65537n }))), 'CaveatExceededError', 'caveat-exceeded', { caveat: 'memory' })
  })

  it('caveat exceeded: a module not allowed (by an inner link)', async () => {
    const leaf = await chain([{ from: p.executor, to: p.alice, caveats: { modules: [M1, M2] } }, { from: p.alice, to: p.bob, caveats: { modules: [M1] } }])
    await verify(await invoke(p.bob, [leaf], task(M1)))
    await refused(verify(await invoke(p.bob, [leaf], task(M2))), 'CaveatExceededError', 'caveat-exceeded', { caveat: 'modules' })
  })

  it('unknown issuer: a root the executor does not trust', async () => {
    const leaf = await chain([{ from: p.operator, to: p.alice, resource: `ipvm:${p.operator.did}` }])
    await refused(verify(await invoke(p.alice, [leaf])), 'UnknownIssuerError', 'unknown-issuer')
  })

  it('unknown issuer: a stranger invokes without proofs', async () => {
    await refused(verify(await invoke(p.mallory, [])), 'UnknownIssuerError', 'unknown-issuer')
  })

  it('broken chain: mallory issues authority over the executor\'s compute she does not own', async () => {
    const leaf = await delegate({ issuer: p.mallory, audience: p.alice.did, capabilities: [ipvmCapability(p.executor.did)], now })
    await refused(verify(await invoke(p.alice, [leaf])), 'BrokenChainError', 'broken-chain')
  })

  it('broken chain: a proof fan-out beyond the link budget is refused', async () => {
    const wrong = await Promise.all(Array.from({ length: 5 }, async () => await delegate({ issuer: p.executor, audience: p.mallory.did, capabilities: [ipvmCapability(p.executor.did)], now })))
    const good = await chain([{ from: p.executor, to: p.alice }])
    const leaf = await delegate({ issuer: p.alice, audience: p.bob.did, capabilities: [ipvmCapability(p.executor.did, 'wasm/run')], proofs: [...wrong, good], now })
    await verify(await invoke(p.bob, [leaf]))
    const options = { holder: p.bob.did, can: 'wasm/run', roots: [p.executor.did], proofs: [leaf], now, cache: false as const }
    await verifyAuthority(options)
    await refused(verifyAuthority({ ...options, maxLinks: 4 }), 'BrokenChainError', 'broken-chain')
    await refused(verifyAuthority({ ...options, maxDepth: 1 }), 'BrokenChainError', 'broken-chain')
  })

  it('wrong audience cannot be fixed up by editing aud', async () => {
    const leaf = await chain([{ from: p.executor, to: p.alice }])
    const signed = await invoke(p.alice, [leaf], task(M1), { audience: p.mallory.did })
    await refused(verify({ ...signed, aud: p.executor.did }), 'BadSignatureError', 'bad-signature')
  })

  it('malformed: garbage instead of a UCAN', async () => {
    const signed = await invoke(p.alice, [])
    await refused(verify({ ...signed, prf: ['not.a.jwt'] }), 'MalformedError', 'malformed')
  })

  it('abort: an aborted signal stops verification', async () => {
    const signed = await invoke(p.executor, [])
    const controller = new AbortController()
    controller.abort()
    await refused(verifyInvocation(signed, { executor: p.executor.did, replay: false, now, signal: controller.signal }), 'AbortError')
  })
})

function base64urlDecode (text: string): Uint8Array {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4)
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))
}

function base64urlEncode (bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}
