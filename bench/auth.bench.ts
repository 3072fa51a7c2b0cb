// @ipvm/auth in vitest bench (Node and Chromium): receipt sign+verify, 3-link chain verification.
// Run: npx vitest bench --run --project node bench/auth.bench.ts
//      VITEST_BROWSER_PORT=63404 npx vitest bench --run --project browser bench/auth.bench.ts
import { type Invocation, invocationCid } from '@ipvm/core'
import { bench, describe } from 'vitest'
import {
  delegate, type Delegation, generateIdentity, ipvmCapability, type Signer, signReceipt, verifyAuthority, verifyReceipt
} from '../packages/auth/src/index.js'

const [executor, alice, bob, carol] = await Promise.all([1, 2, 3, 4].map(async () => await generateIdentity())) as [Signer, Signer, Signer, Signer]
const cap = (can: string) => ipvmCapability(executor.did, can)
const d1: Delegation = await delegate({ issuer: executor, audience: alice.did, capabilities: [cap('ipvm/*')], caveats: { fuel: 1e9 } })
const d2 = await delegate({ issuer: alice, audience: bob.did, capabilities: [cap('wasm/*')], proofs: [d1], caveats: { fuel: 1e8 } })
const d3 = await delegate({ issuer: bob, audience: carol.did, capabilities: [cap('wasm/run')], proofs: [d2], caveats: { fuel: 1e7 } })
const invocation: Invocation = {
  task: {
    run: { rsc: 'ipfs://bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku', op: 'wasm/run', input: { func: 'add', args: [1, 2] }, nnc: '' },
    cause: null, meta: { fuel: 1000 }, prf: []
  }
}
const ran = await invocationCid(invocation)
const unsigned = { ran, out: { ok: 3 }, fx: { fork: [] }, meta: {}, prf: [] }

const options = { time: 3000, warmupTime: 500 }

describe('@ipvm/auth', () => {
  bench('receipt sign + verify', async () => {
    const r = await signReceipt(unsigned, executor)
    await verifyReceipt(r, { expectedIssuer: executor.did, invocation: ran })
  }, options)
  bench('3-link chain verify (cold: no signature cache)', async () => {
    await verifyAuthority({ holder: carol.did, can: 'wasm/run', roots: [executor.did], proofs: [d3], cache: false })
  }, options)
})
