/**
 * The offload page: a "phone" with no local capacity for heavy steps. Grayscale and blur need the
 * `gpu` affinity, which this node does not declare, so placement sends them to a connected provider
 * that does (`ipvm serve --affinity gpu=true`). Before the first connection the node has no network:
 * those steps then fail with NoProviderError (this phone has no GPU) — connect first.
 * The peer panel (connect, UCANs) is the image pipeline's.
 */
import { generateIdentity, type Signer } from '@ipvm/auth'
import type { IpvmNetwork } from '@ipvm/net'
import { type CID, createIpvm, type Ipvm, type TaskOutcome } from 'ipvm'
import { componentBytes } from '../../functions/dist/index.js'
import { outputBytes, pngUrl } from '../../image-pipeline/src/images.js'
import { createPeerPanel, shortId } from '../../image-pipeline/src/peers.js'
import { buildPipeline, centreBox, describeStep, type Step } from '../../image-pipeline/src/pipeline.js'

const $ = <T extends Element>(selector: string): T => document.querySelector<T>(selector)!
const status = $<HTMLParagraphElement>('#status')
const runButton = $<HTMLButtonElement>('#run')
const stepList = $<HTMLOListElement>('#steps')
const summary = $<HTMLParagraphElement>('#summary')
const viewer = $<HTMLElement>('#viewer')
const viewerImg = $<HTMLImageElement>('#viewer-img')

let ipvm: Ipvm | undefined
let identity: Signer | undefined
let moduleCid: CID | undefined
let image: CID | undefined
let size = { width: 1024, height: 768 }
let busy = false

/** Light steps here, heavy steps only where there is a GPU. */
function steps (): Step[] {
  return [centreBox(size.width, size.height), { op: 'rotate90' }, { op: 'grayscale', on: 'gpu' }, { op: 'blur', sigma: 2.5, on: 'gpu' }]
}

async function start (network?: IpvmNetwork, proofs?: Record<string, string[]>): Promise<void> {
  identity ??= await generateIdentity()
  // In memory: every visit is a fresh phone (its own identity: the provider's UCAN names this DID).
  ipvm = await createIpvm({ memory: true, poolSize: 1, signer: identity, ...(network === undefined ? {} : { network, remote: { proofs: proofs ?? {} } }) })
  moduleCid = await ipvm.add(componentBytes())
  const sample = new Uint8Array(await (await fetch('/examples/image-pipeline/public/sample.png')).arrayBuffer())
  size = { width: new DataView(sample.buffer).getUint32(16), height: new DataView(sample.buffer).getUint32(20) }
  image = await ipvm.add(sample)
}

function show (outcomes: TaskOutcome[] = []): void {
  stepList.replaceChildren(...steps().map((step, i) => {
    const li = document.createElement('li')
    const t = outcomes[i]
    li.dataset.op = step.op
    if (t !== undefined) {
      li.dataset.where = t.where
      if (t.peer !== undefined) li.dataset.peer = t.peer
    }
    const where = t === undefined
      ? (step.on === 'gpu' ? 'needs a GPU: a provider' : 'here')
      : t.status === 'failed' ? `failed: ${t.error?.name ?? 'Error'}: ${t.error?.message ?? ''}`
        : t.where === 'peer' ? `ran on ${panel.describePeer(t.peer!)} · signed by ${shortId(t.receipt.iss ?? '?')}`
          : t.replayed ? `replayed (receipt signed by ${shortId(t.receipt.iss ?? '?')})` : 'ran here'
    li.textContent = `${describeStep(step)} — ${where}`
    return li
  }))
}

const panel = createPeerPanel({
  ipvm: () => ipvm,
  signer: async () => identity,
  attach: async (network, proofs) => {
    await ipvm?.stop()
    await start(network, proofs)
  }
}, { heading: 'Provider' })
$('main').prepend(panel.element)

runButton.addEventListener('click', () => {
  if (busy || ipvm === undefined || moduleCid === undefined || image === undefined) return
  busy = true
  runButton.disabled = true
  summary.textContent = 'running…'
  void (async () => {
    try {
      const built = await buildPipeline(moduleCid!, image!, steps(), 'offload')
      const result = await ipvm!.run(built.workflow).result
      show(result.tasks)
      const offloaded = result.tasks.filter((t) => t.where === 'peer').length
      summary.textContent = `${result.status}: ${offloaded} step(s) offloaded, ${result.tasks.filter((t) => t.replayed).length} replayed, ${Math.round(result.durationMs)} ms`
      summary.dataset.status = result.status
      const last = result.tasks.at(-1)
      const bytes = last !== undefined && 'ok' in last.out ? await outputBytes(last.out.ok, async (cid) => await ipvm!.content.get(cid)) : undefined
      viewer.hidden = bytes === undefined
      if (bytes !== undefined) viewerImg.src = pngUrl(bytes)
    } catch (err) {
      summary.textContent = `the run failed: ${String(err)}`
    } finally {
      busy = false
      runButton.disabled = false
    }
  })()
})

try {
  await start()
  show()
  status.textContent = `ready · this phone is ${identity!.did} · no GPU here`
  status.dataset.ready = 'true'
  runButton.disabled = false
} catch (err) {
  status.textContent = `ipvm could not start: ${String(err)}`
}
