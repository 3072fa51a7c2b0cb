#!/usr/bin/env node
// Receipt sharing across a network (issue 8): N libp2p nodes in one process on the memory
// transport (@libp2p/memory), gossipsub (+ kad-dht unless --no-dht), each running overlapping random workflows of
// cheap pure Wasm tasks (the example component's add-one, chained) over shared inputs.
// Run against the built packages (`npm run build`, or `npx tsc -b packages/core packages/wasm
// packages/auth packages/store packages/net packages/ipvm`):
//
//   node bench/sim.mjs [--nodes=50] [--workflows=2] [--inputs=24] [--depth=3] [--liars=0.2] [--late=5]
//                      [--no-dht | --dht-defaults] [--json]
//
// On this 2-core machine 50 nodes take about 2.5 min for both scenarios with --no-dht and about 7 min
// with the DHT (figures in docs/BENCHMARKS.md, "network").
//
// Two scenarios, each on a fresh network:
//   honest  every node accepts receipts under { confirmations: 1 } (any verified signature)
//   liars   20% of the nodes sign wrong results (out + 1000·k, a different lie per liar);
//           every honest node uses { confirmations: 2, referee: true }
// Each node runs its workflows one after another, all nodes at once (phase 1), then — receipts
// having propagated — the same number again (phase 2); then --late honest nodes join, each dialling
// 6 random others, having missed every announcement, and run theirs (late). Reported: executions,
// duplicate executions avoided (a task is "avoidable" when its instruction had been executed
// somewhere before the task's workflow started), network-lookup latency percentiles, messages per
// lookup (receipt requests + every RPC of DHT queries), and for liars whether any honest node
// accepted a wrong result and how many extra executions verification cost.
import { monitorEventLoopDelay } from 'node:perf_hooks'
import '../packages/ipvm/dist/src/node20.js'
import { componentBytes } from '../examples/functions/dist/index.js'
import { generateIdentity } from '../packages/auth/dist/src/index.node.js'
import { awaitOk, createIpvm, taskToIpld, toDagJson, wasmTask } from '../packages/ipvm/dist/src/index.js'
import { createIpvmNetwork } from '../packages/net/dist/src/index.js'
import { MemoryBlockstore } from '../packages/store/dist/src/index.js'
import { createWasmExecutor } from '../packages/wasm/dist/src/index.js'
import { machine, quantile, table } from './lib.mjs'

const argv = process.argv.slice(2)
const opt = (name, dflt) => {
  const hit = argv.find((a) => a.startsWith(`--${name}=`))
  return hit === undefined ? dflt : Number(hit.slice(name.length + 3))
}
const NODES = opt('nodes', 50)
const WORKFLOWS = opt('workflows', 2)
const INPUTS = opt('inputs', 24)
const DEPTH = opt('depth', 3)
const LIAR_SHARE = opt('liars', 0.2)
const DEGREE = opt('degree', 6)
const LATE = opt('late', 5)
const DHT = !argv.includes('--no-dht')
// kad-dht's defaults (k 20, alpha 10, 10 disjoint paths) with --dht-defaults; otherwise the tuning
// @ipvm/net documents for networks of tens of peers (k 8, alpha 3, one path).
const DHT_OPTIONS = argv.includes('--dht-defaults') ? true : { kBucketSize: 8, alpha: 3, disjointPaths: 1 }
const JSON_OUT = argv.includes('--json')
const log = (...a) => { if (!JSON_OUT) console.log(...a) }

let seed = 42
const random = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 }
const pick = (n) => Math.floor(random() * n)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// One pool of workers for every node: each node gets a counting (and, for a liar, lying) view of it.
const pool = createWasmExecutor({ size: 2 })
await pool.start?.()

function executorFor (liarIndex) {
  const view = {
    runs: 0,
    concurrency: 1,
    start: () => {},
    stop: () => {},
    run: async (request, options) => {
      view.runs++
      const result = await pool.run(request, options)
      return liarIndex === undefined || typeof result.value !== 'number' ? result : { ...result, value: result.value + 1000 * (liarIndex + 1) }
    }
  }
  return view
}

async function createNode (scenario, i, liar) {
  const network = await createIpvmNetwork({ blockstore: new MemoryBlockstore(), listen: [`/memory/ipvm-sim-${scenario}-${i}`], webRTC: false, dht: DHT ? DHT_OPTIONS : false })
  const executor = executorFor(liar)
  const ipvm = await createIpvm({
    memory: true,
    signer: await generateIdentity(),
    network,
    executor,
    serve: false,
    remote: { mode: 'local' },
    verification: liar !== undefined ? 'own' : scenario === 'liars' ? { confirmations: 2, referee: true } : { confirmations: 1 },
    sharing: { askPeers: 3 }
  })
  const node = { i, network, ipvm, executor, liar: liar !== undefined, lookups: [] }
  // Time every network lookup (hits and misses).
  const sharing = ipvm.sharing
  const lookup = sharing.lookup.bind(sharing)
  sharing.lookup = async (...args) => {
    const t = performance.now()
    const answer = await lookup(...args)
    node.lookups.push({ ms: performance.now() - t, hit: answer !== undefined })
    return answer
  }
  return node
}

/** Dials DEGREE random others of `nodes` (not itself). */
async function dialRandom (node, nodes) {
  const targets = new Set()
  while (targets.size < Math.min(DEGREE, nodes.length - 1)) { const j = pick(nodes.length); if (nodes[j] !== node) targets.add(j) }
  for (const j of targets) await node.network.dial(nodes[j].network.multiaddrs()[0]).catch(() => {})
}

async function buildNetwork (scenario) {
  const liarCount = scenario === 'liars' ? Math.round(NODES * LIAR_SHARE) : 0
  const nodes = []
  for (let i = 0; i < NODES; i++) nodes.push(await createNode(scenario, i, i < liarCount ? i : undefined))
  // A random graph: each node dials DEGREE others.
  await Promise.all(nodes.map(async (node) => { await dialRandom(node, nodes) }))
  const rsc = `ipfs://${(await Promise.all(nodes.map((n) => n.ipvm.add(componentBytes()))))[0].toString()}`
  await sleep(1500) // gossipsub meshes and DHT routing tables form
  return { nodes, rsc }
}

/** A random workflow: 1–2 chains of add-one of DEPTH over a shared input. */
async function randomWorkflow (rsc) {
  const tasks = []
  const expected = []
  const chains = 1 + pick(2)
  for (let c = 0; c < chains; c++) {
    const x = pick(INPUTS)
    let previous = await wasmTask({ rsc, func: 'add-one', args: [x] })
    tasks.push(previous); expected.push(x + 1)
    for (let d = 1; d < DEPTH; d++) {
      previous = await wasmTask({ rsc, func: 'add-one', args: [awaitOk(previous)] })
      tasks.push(previous); expected.push(x + 1 + d)
    }
  }
  const seen = new Set()
  const unique = tasks.map((t, k) => ({ t, e: expected[k] })).filter(({ t }) => !seen.has(t.instruction.toString()) && seen.add(t.instruction.toString()))
  return { text: toDagJson({ tasks: unique.map(({ t }) => taskToIpld(t.task)) }), expected: unique.map(({ e }) => e) }
}

async function scenario (name) {
  const started = performance.now()
  // All nodes share one event loop here: its delay is part of every latency below (in a real
  // deployment each node has its own).
  const loop = monitorEventLoopDelay({ resolution: 10 })
  loop.enable()
  const { nodes, rsc } = await buildNetwork(name)
  log(`${name}: ${NODES} nodes up in ${((performance.now() - started) / 1000).toFixed(1)} s`)
  const executedAt = new Map() // instruction → time of first execution anywhere
  const counts = Object.fromEntries(['phase1', 'phase2', 'late'].map((p) => [p, { tasks: 0, executions: 0, avoidable: 0, avoided: 0 }]))
  let wrongAccepted = 0
  let honestTasks = 0
  const runPhase = async (phase, runners = nodes) => {
    await Promise.all(runners.map(async (node) => {
      await sleep(pick(200))
      for (let w = 0; w < WORKFLOWS; w++) {
        const { text, expected } = await randomWorkflow(rsc)
        const startedAt = performance.now()
        const result = await node.ipvm.run(text).result
        const c = counts[phase]
        result.tasks.forEach((t, k) => {
          const key = t.instruction.toString()
          const ran = t.where === 'local' && !t.replayed
          const avoidable = (executedAt.get(key) ?? Infinity) < startedAt
          c.tasks++
          if (ran) c.executions++
          if (avoidable) { c.avoidable++; if (!ran) c.avoided++ }
          if (ran && !executedAt.has(key)) executedAt.set(key, performance.now())
          if (!node.liar) {
            honestTasks++
            if (t.out.ok !== expected[k]) wrongAccepted++
          }
        })
      }
    }))
  }
  await runPhase('phase1')
  await sleep(3000) // let announcements, fetches and DHT puts finish ("once receipts propagate")
  await runPhase('phase2')
  // Late joiners: honest nodes that missed every announcement; what they can avoid they must get by
  // asking the peers they connect to (and the DHT).
  const late = []
  for (let k = 0; k < LATE; k++) late.push(await createNode(name, NODES + k, undefined))
  for (const node of late) await dialRandom(node, nodes)
  await Promise.all(late.map((n) => n.ipvm.add(componentBytes())))
  await sleep(1000)
  nodes.push(...late)
  if (late.length > 0) await runPhase('late', late)
  const all = nodes.flatMap((n) => n.lookups)
  const lookups = all.map((l) => l.ms)
  const hitMs = all.filter((l) => l.hit).map((l) => l.ms)
  const missMs = all.filter((l) => !l.hit).map((l) => l.ms)
  const stats = nodes.reduce((s, n) => {
    for (const [k, v] of Object.entries(n.ipvm.sharing.stats)) s[k] = (s[k] ?? 0) + v
    return s
  }, {})
  const announcements = nodes.reduce((s, n) => { const a = n.network.announcementStats(); s.accepted += a.accepted; s.rateLimited += a.rateLimited; return s }, { accepted: 0, rateLimited: 0 })
  const unique = executedAt.size
  const honest = nodes.filter((n) => !n.liar)
  const out = {
    scenario: name,
    nodes: NODES,
    liars: nodes.filter((n) => n.liar).length,
    workflowsPerNode: WORKFLOWS * 2,
    uniqueInstructions: unique,
    ...counts,
    executionsByHonest: honest.reduce((s, n) => s + n.executor.runs, 0),
    avoidedPhase1: counts.phase1.avoided / Math.max(1, counts.phase1.avoidable),
    avoidedPhase2: counts.phase2.avoided / Math.max(1, counts.phase2.avoidable),
    avoidedLate: counts.late.avoided / Math.max(1, counts.late.avoidable),
    lookupMs: { p50: quantile(lookups, 0.5), p90: quantile(lookups, 0.9), p99: quantile(lookups, 0.99), n: lookups.length },
    hitMs: { p50: quantile(hitMs, 0.5), p90: quantile(hitMs, 0.9), p99: quantile(hitMs, 0.99), n: hitMs.length },
    missMs: { p50: quantile(missMs, 0.5), p90: quantile(missMs, 0.9), p99: quantile(missMs, 0.99), n: missMs.length },
    messagesPerLookup: stats.messages / Math.max(1, stats.lookups),
    backgroundMessagesPerPublished: stats.backgroundMessages / Math.max(1, stats.published),
    dhtSkipped: stats.dhtSkipped,
    networkHits: stats.hits,
    lookups: stats.lookups,
    rejected: stats.rejected,
    dropped: stats.dropped,
    disputes: stats.disputes,
    liarsCaught: stats.liars,
    announcements,
    wrongAccepted,
    honestTasks,
    eventLoopDelayMs: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
    seconds: (performance.now() - started) / 1000
  }
  loop.disable()
  await Promise.all(nodes.map(async (n) => { await n.ipvm.stop(); await n.network.stop() }))
  return out
}

const results = { machine: machine(), dht: DHT, nodes: NODES, workflows: WORKFLOWS, inputs: INPUTS, depth: DEPTH, scenarios: [] }
for (const name of ['honest', ...(LIAR_SHARE > 0 ? ['liars'] : [])]) results.scenarios.push(await scenario(name))
await pool.stop?.()

if (JSON_OUT) {
  console.log(JSON.stringify(results, null, 2))
} else {
  const pct = (x) => `${(100 * x).toFixed(1)} %`
  const ms = (x) => x === undefined ? '–' : `${x.toFixed(1)} ms`
  table(`receipt sharing: ${NODES} nodes, memory transport, ${DHT ? `kad-dht (${DHT_OPTIONS === true ? 'defaults' : 'k 8, alpha 3, 1 path'}) + ` : ''}gossipsub; ${WORKFLOWS}+${WORKFLOWS} workflows per node, ${INPUTS} shared inputs, chains of ${DEPTH} add-one`,
    ['scenario', 'tasks (ph1 / ph2 / late)', 'executions (ph1 / ph2 / late)', 'unique instr.', 'dup. avoided ph1', 'dup. avoided ph2', `dup. avoided late (${LATE})`, 'hit lookup p50 / p90 / p99', 'miss lookup p50 / p90', 'msgs / lookup', 'bg msgs / receipt', 'wrong accepted', 'liars caught', 'loop delay p50 / p99 / max', 's'],
    results.scenarios.map((s) => [s.scenario + (s.liars > 0 ? ` (${s.liars} liars)` : ''), `${s.phase1.tasks} / ${s.phase2.tasks} / ${s.late.tasks}`, `${s.phase1.executions} / ${s.phase2.executions} / ${s.late.executions}`, s.uniqueInstructions,
      pct(s.avoidedPhase1), pct(s.avoidedPhase2), pct(s.avoidedLate), `${ms(s.hitMs.p50)} / ${ms(s.hitMs.p90)} / ${ms(s.hitMs.p99)} (${s.hitMs.n})`, `${ms(s.missMs.p50)} / ${ms(s.missMs.p90)} (${s.missMs.n})`, s.messagesPerLookup.toFixed(2), s.backgroundMessagesPerPublished.toFixed(1),
      `${s.wrongAccepted} of ${s.honestTasks}`, s.liarsCaught, `${ms(s.eventLoopDelayMs.p50)} / ${ms(s.eventLoopDelayMs.p99)} / ${ms(s.eventLoopDelayMs.max)}`, s.seconds.toFixed(0)]))
  const honest = results.scenarios.find((s) => s.scenario === 'honest')
  const liars = results.scenarios.find((s) => s.scenario === 'liars')
  if (honest !== undefined && liars !== undefined) {
    console.log(`\nverification cost (N = 2, referee): honest nodes executed ${liars.executionsByHonest} tasks with liars vs ${honest.executionsByHonest} without: ${liars.executionsByHonest - honest.executionsByHonest} extra (${pct((liars.executionsByHonest - honest.executionsByHonest) / Math.max(1, honest.executionsByHonest))})`)
  }
}
process.exit(0)
