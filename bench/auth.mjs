// @ipvm/auth benchmark: receipt sign+verify and 3-link UCAN chain verification per second.
// Run: npx tsc -b packages/auth && node bench/auth.mjs [seconds-per-case]
// Prints a Markdown table (the figures in docs/BENCHMARKS.md, section "@ipvm/auth").
import os from 'node:os'
import { invocationCid } from '@ipvm/core'
import {
  createReplayCache, delegate, generateIdentity, ipvmCapability, signInvocation, signReceipt, verifyAuthority,
  verifyInvocation, verifyReceipt
} from '../packages/auth/dist/src/index.node.js'
import { setWebCryptoEd25519 } from '../packages/auth/dist/src/ed25519.js'

const seconds = Number(process.argv[2] ?? 2)

async function measure (name, fn) {
  for (let i = 0; i < 20; i++) await fn(i) // warm-up
  let n = 0
  const start = performance.now()
  const end = start + seconds * 1000
  while (performance.now() < end) { await fn(n); n++ }
  const elapsed = (performance.now() - start) / 1000
  return { name, ops: n / elapsed, us: (elapsed / n) * 1e6 }
}

async function setup () {
  const [executor, alice, bob, carol] = await Promise.all([1, 2, 3, 4].map(() => generateIdentity()))
  const cap = (can) => ipvmCapability(executor.did, can)
  const d1 = await delegate({ issuer: executor, audience: alice.did, capabilities: [cap('ipvm/*')], caveats: { fuel: 1e9 } })
  const d2 = await delegate({ issuer: alice, audience: bob.did, capabilities: [cap('wasm/*')], proofs: [d1], caveats: { fuel: 1e8 } })
  const d3 = await delegate({ issuer: bob, audience: carol.did, capabilities: [cap('wasm/run')], proofs: [d2], caveats: { fuel: 1e7, memory: 1 << 26 } })
  const invocation = {
    task: {
      run: { rsc: 'ipfs://bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku', op: 'wasm/run', input: { func: 'add', args: [1, 2] }, nnc: '' },
      cause: null, meta: { fuel: 1000, memory: 65536 }, prf: []
    }
  }
  const ran = await invocationCid(invocation)
  return { executor, carol, d3, invocation, ran }
}

async function run (label) {
  const { executor, carol, d3, invocation, ran } = await setup()
  const results = []
  const unsigned = { ran, out: { ok: 3 }, fx: { fork: [] }, meta: { fuel: 1000 }, prf: [] }
  results.push(await measure(`receipt sign (${label})`, () => signReceipt(unsigned, executor)))
  const signed = await signReceipt(unsigned, executor)
  results.push(await measure(`receipt verify (${label})`, () => verifyReceipt(signed, { expectedIssuer: executor.did, invocation: ran })))
  results.push(await measure(`receipt sign + verify (${label})`, async () => {
    const r = await signReceipt(unsigned, executor)
    await verifyReceipt(r, { expectedIssuer: executor.did, invocation: ran })
  }))
  const chainOpts = { holder: carol.did, can: 'wasm/run', roots: [executor.did], proofs: [d3.jwt] }
  results.push(await measure(`3-link chain verify, cold: parse + 3 signatures (${label})`, () => verifyAuthority({ ...chainOpts, cache: false })))
  results.push(await measure(`3-link chain verify, warm: signature cache hit (${label})`, () => verifyAuthority(chainOpts)))
  const invocations = []
  for (let i = 0; i < 64; i++) invocations.push(await signInvocation(invocation, carol, { audience: executor.did, proofs: [d3] }))
  results.push(await measure(`signed invocation + 3-link chain verify, cold (${label})`, (i) =>
    verifyInvocation(invocations[i % 64], { executor: executor.did, replay: false, cache: false })))
  const replay = createReplayCache()
  results.push(await measure(`invocation sign + verify incl. replay check, warm chain (${label})`, async () => {
    const s = await signInvocation(invocation, carol, { audience: executor.did, proofs: [d3] })
    await verifyInvocation(s, { executor: executor.did, replay })
  }))
  return results
}

const rows = [...await run('WebCrypto Ed25519')]
setWebCryptoEd25519(false)
rows.push(...await run('@noble/curves fallback'))
setWebCryptoEd25519(undefined)

console.log(`Node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} × ${os.cpus().length}, ${seconds} s per case\n`)
console.log('| operation | ops/s | µs/op |')
console.log('|---|---:|---:|')
for (const r of rows) console.log(`| ${r.name} | ${Math.round(r.ops).toLocaleString('en-US')} | ${r.us.toFixed(0)} |`)
