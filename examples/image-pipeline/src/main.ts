/**
 * The image-pipeline page: pick an image, compose steps, run them as an ipvm workflow and watch each
 * step run or replay from its receipt. Plain DOM; the workflow itself is built in pipeline.ts.
 */
import { loadOrCreateIdentity, type Signer } from '@ipvm/auth'
import type { IpvmNetwork } from '@ipvm/net'
import { type CID, createIpvm, type Ipvm, type RunEvent, type TaskOutcome } from 'ipvm'
import { componentBytes } from '../../functions/dist/index.js'
import { type DagNode, renderDag } from './dag.js'
import { formatBytes, outputBytes, pngSize, pngUrl, toPng } from './images.js'
import { createPeerPanel, shortId } from './peers.js'
import { buildPipeline, centreBox, describeStep, type Placement, type PresetName, preset, type Step, type StepOp } from './pipeline.js'
import { loadRows, type ReceiptRow, renderRows, saveRows, short, storageLine } from './receipts.js'

const LOCATION = 'ipvm-image-pipeline'
/** Outputs above this many bytes go to the blockstore; the receipt keeps their link. */
const OUTPUT_THRESHOLD = 16 * 1024

const $ = <T extends Element>(selector: string): T => {
  const found = document.querySelector<T>(selector)
  if (found === null) throw new Error(`missing ${selector}`)
  return found
}
const statusLine = $<HTMLParagraphElement>('#status')
const drop = $<HTMLDivElement>('#drop')
const fileInput = $<HTMLInputElement>('#file')
const inputPreview = $<HTMLImageElement>('#input-preview')
const inputInfo = $<HTMLParagraphElement>('#input-info')
const stepList = $<HTMLOListElement>('#steps')
const addOp = $<HTMLSelectElement>('#add-op')
const runButton = $<HTMLButtonElement>('#run')
const clearButton = $<HTMLButtonElement>('#clear')
const dag = $<SVGSVGElement>('#dag')
const summary = $<HTMLParagraphElement>('#summary')
const errorList = $<HTMLUListElement>('#errors')
const viewer = $<HTMLElement>('#viewer')
const viewerImg = $<HTMLImageElement>('#viewer-img')
const viewerCaption = $<HTMLElement>('#viewer-caption')
const storage = $<HTMLSpanElement>('#storage')
const receiptBody = $<HTMLTableSectionElement>('#receipts tbody')

interface Picture { url: string, bytes: number, width: number, height: number }
interface InputImage extends Picture { cid: CID, data: Uint8Array, name: string }

let ipvm: Ipvm | undefined
let moduleCid: CID | undefined
let image: InputImage | undefined
let steps: Step[] = []
let nodes: DagNode[] = []
let outputs: (Picture | undefined)[] = []
let selected: number | undefined
let busy = false
let rows: ReceiptRow[] = loadRows()

// --- peers --------------------------------------------------------------------------------------

const peerPanel = createPeerPanel({
  ipvm: () => ipvm,
  signer: async () => identity,
  attach: async (next, shared) => {
    // The node is rebuilt on the network (same stores and identity): content then also moves over bitswap.
    while (busy) await new Promise((resolve) => setTimeout(resolve, 100))
    busy = true
    updateButtons()
    try {
      await ipvm?.stop()
      ipvm = undefined
      network = next
      proofs = shared
      await startIpvm()
    } finally {
      busy = false
      updateButtons()
    }
  }
})
document.querySelector('#receipts-heading')?.closest('section')?.before(peerPanel.element)

const PLACEMENTS: Array<[Placement, string]> = [['auto', 'placement decides'], ['peer', 'on a peer'], ['gpu', 'needs a GPU']]

// --- startup ------------------------------------------------------------------------------------

let identity: Signer | undefined
let network: IpvmNetwork | undefined
let proofs: Record<string, string[]> = {}

async function startIpvm (): Promise<void> {
  // The same persisted identity createIpvm would load (`<location>-keys`): the peer panel delegates with it.
  identity ??= await loadOrCreateIdentity({ location: `${LOCATION}-keys` })
  ipvm = await createIpvm({
    location: LOCATION,
    outputThreshold: OUTPUT_THRESHOLD,
    signer: identity,
    ...(network === undefined ? {} : { network, remote: { proofs } })
  })
  moduleCid = await ipvm.add(componentBytes())
  if (image !== undefined) image.cid = await ipvm.add(image.data)
}

async function main (): Promise<void> {
  window.addEventListener('online', showOnline)
  window.addEventListener('offline', showOnline)
  renderRows(receiptBody, rows)
  renderSteps()
  try {
    await startIpvm()
    statusLine.textContent = `ready · module ${short(moduleCid!.toString())} · receipts signed by ${short(ipvm!.did ?? 'nobody (unsigned)')}`
    statusLine.dataset.ready = 'true'
    showOnline()
    await useSample()
  } catch (err) {
    statusLine.textContent = `ipvm could not start: ${message(err)}`
    statusLine.classList.add('errors')
  }
  updateButtons()
  void refreshStorage()
}

function showOnline (): void {
  statusLine.classList.toggle('offline', !navigator.onLine)
}

function message (err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}

// --- the input image ----------------------------------------------------------------------------

async function setImage (data: Uint8Array, name: string): Promise<void> {
  if (ipvm === undefined) return
  const { width, height } = pngSize(data)
  const cid = await ipvm.add(data)
  if (image !== undefined) URL.revokeObjectURL(image.url)
  image = { cid, data, name, url: pngUrl(data), bytes: data.byteLength, width, height }
  inputPreview.src = image.url
  inputPreview.hidden = false
  inputInfo.classList.remove('errors')
  inputInfo.textContent = `${name} · ${width}×${height} · ${formatBytes(data.byteLength)} · ${short(cid.toString())}`
  inputInfo.title = cid.toString()
  if (steps.length === 0) setSteps(preset('grayscale', width, height))
  updateButtons()
  drawDag()
}

async function useSample (): Promise<void> {
  const response = await fetch(new URL('./public/sample.png', document.baseURI))
  if (!response.ok) throw new Error(`the sample image did not load (HTTP ${response.status})`)
  await setImage(new Uint8Array(await response.arrayBuffer()), 'sample.png')
}

async function useFile (file: File): Promise<void> {
  try {
    inputInfo.textContent = `reading ${file.name}…`
    await setImage(await toPng(file), file.name)
  } catch (err) {
    inputInfo.textContent = `could not use ${file.name}: ${message(err)}`
    inputInfo.classList.add('errors')
  }
}

fileInput.addEventListener('change', () => {
  const file = fileInput.files?.[0]
  if (file !== undefined) void useFile(file)
  fileInput.value = ''
})
$<HTMLButtonElement>('#use-sample').addEventListener('click', () => {
  useSample().catch((err: unknown) => { inputInfo.textContent = message(err); inputInfo.classList.add('errors') })
})
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over') })
drop.addEventListener('dragleave', () => { drop.classList.remove('over') })
drop.addEventListener('drop', (e) => {
  e.preventDefault()
  drop.classList.remove('over')
  const file = e.dataTransfer?.files[0]
  if (file !== undefined) void useFile(file)
})

// --- composing steps ----------------------------------------------------------------------------

function newStep (op: StepOp): Step {
  switch (op) {
    case 'crop': return centreBox(image?.width ?? 1024, image?.height ?? 768)
    case 'blur': return { op: 'blur', sigma: 2.5 }
    default: return { op }
  }
}

function setSteps (next: Step[]): void {
  steps = next
  renderSteps()
  resetNodes()
  drawDag()
}

function numberField (li: HTMLLIElement, label: string, value: number, step: string, onChange: (v: number) => void): void {
  const wrap = document.createElement('label')
  wrap.textContent = `${label} `
  const input = document.createElement('input')
  input.type = 'number'
  input.name = label === 'σ' ? 'sigma' : label
  input.step = step
  input.value = String(value)
  input.addEventListener('change', () => {
    const v = Number(input.value)
    onChange(Number.isFinite(v) ? v : 0)
    resetNodes()
    drawDag()
  })
  wrap.append(input)
  li.append(wrap)
}

function renderSteps (): void {
  stepList.replaceChildren(...steps.map((step, i) => {
    const li = document.createElement('li')
    li.dataset.op = step.op
    const name = document.createElement('span')
    name.className = 'op'
    name.textContent = step.op
    li.append(name)
    if (step.op === 'crop') {
      for (const key of ['x', 'y', 'width', 'height'] as const) numberField(li, key, step[key], '1', (v) => { step[key] = Math.trunc(v) })
    } else if (step.op === 'blur') {
      numberField(li, 'σ', step.sigma, '0.1', (v) => { step.sigma = v })
    }
    const where = document.createElement('select')
    where.name = 'placement'
    where.setAttribute('aria-label', `where step ${i + 1} (${step.op}) runs`)
    for (const [value, text] of PLACEMENTS) where.append(new Option(text, value, false, (step.on ?? 'auto') === value))
    where.addEventListener('change', () => { step.on = where.value as Placement })
    li.append(where)
    const remove = document.createElement('button')
    remove.type = 'button'
    remove.className = 'remove'
    remove.textContent = '×'
    remove.setAttribute('aria-label', `remove step ${i + 1} (${step.op})`)
    remove.addEventListener('click', () => { setSteps(steps.filter((_, j) => j !== i)) })
    li.append(remove)
    return li
  }))
  updateButtons()
}

for (const name of ['grayscale', 'blur'] as PresetName[]) {
  $<HTMLButtonElement>(`#preset-${name}`).addEventListener('click', () => {
    setSteps(preset(name, image?.width ?? 1024, image?.height ?? 768))
  })
}
$<HTMLButtonElement>('#add-step').addEventListener('click', () => {
  setSteps([...steps, newStep(addOp.value as StepOp)])
})

function updateButtons (): void {
  runButton.disabled = busy || ipvm === undefined || image === undefined || steps.length === 0
  clearButton.disabled = busy || ipvm === undefined
}

// --- the DAG ------------------------------------------------------------------------------------

function resetNodes (): void {
  for (const out of outputs) if (out !== undefined) URL.revokeObjectURL(out.url)
  outputs = steps.map(() => undefined)
  nodes = steps.map((step) => ({ title: describeStep(step), state: 'waiting', detail: 'not run yet', hasOutput: false }))
  selected = undefined
  viewer.hidden = true
  summary.textContent = ''
  summary.classList.remove('failed')
  errorList.replaceChildren()
}

function drawDag (): void {
  const source: DagNode = image === undefined
    ? { title: 'input image', state: 'waiting', detail: 'no image yet', hasOutput: false }
    : { title: image.name, state: 'ran', detail: `${image.width}×${image.height} · ${formatBytes(image.bytes)}`, cid: short(image.cid.toString()), hasOutput: true }
  renderDag(dag, source, nodes, openOutput, selected)
}

function openOutput (index: number): void {
  const picture = index < 0 ? image : outputs[index]
  if (picture === undefined) return
  selected = index < 0 ? undefined : index
  viewerImg.src = picture.url
  const what = index < 0 ? `input · ${image?.name ?? ''}` : `step ${index + 1} · ${describeStep(steps[index]!)}`
  viewerCaption.replaceChildren(`${what} · ${picture.width}×${picture.height} · ${formatBytes(picture.bytes)} · `)
  const link = document.createElement('a')
  link.href = picture.url
  link.target = '_blank'
  link.rel = 'noopener'
  link.download = index < 0 ? 'input.png' : `step-${index + 1}-${steps[index]!.op}.png`
  link.textContent = 'open'
  viewerCaption.append(link)
  viewer.hidden = false
  viewer.dataset.index = String(index)
  drawDag()
}

// --- running ------------------------------------------------------------------------------------

/** Why a failed step failed, in a few words; dependents name the first failed step upstream. */
function reason (index: number, outcome: TaskOutcome): string {
  const error = outcome.error
  if (error === undefined) return 'failed'
  if (error.code === 'ERR_DEPENDENCY_FAILED' || error.code === 'ERR_BRANCH_MISMATCH') {
    const first = nodes.findIndex((n, i) => i < index && n.state === 'failed')
    const k = first < 0 ? index - 1 : first
    return `not run: step ${k + 1} (${steps[k]?.op ?? '?'}) failed`
  }
  return `${error.name}: ${error.message}${hint(index)}`
}

/**
 * The guest logs why it traps, but the receipt only says "unreachable": for a crop the page can say
 * what is wrong with the box, since it knows the input's size.
 */
function hint (index: number): string {
  const step = steps[index]
  const input = index === 0 ? image : outputs[index - 1]
  if (step?.op !== 'crop' || input === undefined) return ''
  if (step.x >= input.width || step.y >= input.height || step.width <= 0 || step.height <= 0) {
    return ` (the crop box at ${step.x},${step.y} is outside the ${input.width}×${input.height} input)`
  }
  return ''
}

function onEvent (event: RunEvent, pending: Promise<void>[]): void {
  if (!('index' in event)) return
  const i = event.index
  const node = nodes[i]
  if (node === undefined) return
  node.cid = short(event.instruction.toString())
  switch (event.type) {
    case 'task:started':
      node.state = 'running'
      node.detail = event.where === 'peer' && event.peer !== undefined ? `running on ${shortId(event.peer)}` : 'running here'
      break
    case 'task:ran':
    case 'task:replayed':
    case 'task:failed': {
      const outcome: TaskOutcome = { ...event, status: event.type === 'task:failed' ? 'failed' : event.replayed ? 'replayed' : 'ran' }
      if (event.type === 'task:failed') outcome.error = event.error
      node.state = event.type === 'task:failed' ? 'failed' : event.replayed ? 'replayed' : 'ran'
      node.detail = event.type === 'task:failed'
        ? reason(i, outcome)
        : event.replayed
          ? `receipt from ${event.where}${signedElsewhere(event.receipt.iss) ? ` · by ${shortId(event.receipt.iss!)}` : ''}`
          : event.where === 'peer' && event.peer !== undefined ? `${Math.round(event.durationMs)} ms on ${shortId(event.peer)}` : `${Math.round(event.durationMs)} ms`
      node.tooltip = event.type === 'task:failed' ? `${event.error.name}: ${event.error.message}\ninstruction ${event.instruction.toString()}` : `instruction ${event.instruction.toString()}\nreceipt ${event.receiptCid.toString()}\nsigned by ${event.receipt.iss ?? 'nobody'}${event.peer === undefined ? '' : `\nran on ${peerPanel.describePeer(event.peer)}`}`
      if (event.where === 'peer' && event.peer !== undefined) node.peer = event.peer
      rows.unshift({
        at: Date.now(),
        func: steps[i]?.op ?? event.label,
        instruction: event.instruction.toString(),
        receipt: event.receiptCid.toString(),
        outcome: event.type === 'task:failed' ? 'error' : 'ok',
        replayed: event.replayed,
        where: event.where,
        ms: event.durationMs,
        ...(event.type === 'task:failed' ? { message: `${event.error.name}: ${event.error.message}` } : {})
      })
      if ('ok' in event.out) {
        const value = event.out.ok
        pending.push((async () => {
          const bytes = await outputBytes(value, async (cid) => await ipvm!.content.get(cid))
          if (bytes === undefined) return
          const { width, height } = pngSize(bytes)
          outputs[i] = { url: pngUrl(bytes), bytes: bytes.byteLength, width, height }
          node.hasOutput = true
          drawDag()
        })())
      }
      break
    }
    default:
      return
  }
  drawDag()
}

/** A receipt signed by another node (a peer ran it, then it was stored here). */
function signedElsewhere (iss: string | null): boolean {
  return iss !== null && identity !== undefined && iss !== identity.did
}

function summarize (tasks: TaskOutcome[], ms: number): string {
  const replayed = tasks.filter((t) => t.replayed).length
  const ran = tasks.filter((t) => t.status === 'ran').length
  const onPeers = tasks.filter((t) => t.status === 'ran' && t.where === 'peer').length
  const failed = tasks.filter((t) => t.status === 'failed').length
  const n = tasks.length
  return `${replayed} of ${n} step${n === 1 ? '' : 's'} replayed, ${ran} ran${onPeers > 0 ? ` (${onPeers} on peers)` : ''}${failed > 0 ? `, ${failed} failed` : ''}, ${Math.round(ms)} ms`
}

async function run (): Promise<void> {
  if (ipvm === undefined || moduleCid === undefined || image === undefined || steps.length === 0 || busy) return
  busy = true
  updateButtons()
  resetNodes()
  drawDag()
  summary.textContent = 'running…'
  try {
    const built = await buildPipeline(moduleCid, image.cid, steps)
    built.tasks.forEach((t, i) => { nodes[i]!.cid = short(t.instruction.toString()) })
    const pending: Promise<void>[] = []
    const result = await ipvm.run(built.workflow, { onProgress: (event) => { onEvent(event, pending) } }).result
    await Promise.all(pending)
    summary.textContent = summarize(result.tasks, result.durationMs)
    summary.classList.toggle('failed', result.status !== 'completed')
    errorList.replaceChildren(...result.tasks.filter((t) => t.status === 'failed').map((t) => {
      const li = document.createElement('li')
      li.dataset.index = String(t.index)
      const own = t.error?.code !== 'ERR_DEPENDENCY_FAILED' && t.error?.code !== 'ERR_BRANCH_MISMATCH'
      const text = own ? `${t.error?.name ?? 'Error'}: ${t.error?.message ?? 'failed'}${hint(t.index)}` : `${nodes[t.index]?.detail ?? 'not run'} (${t.error?.name ?? 'Error'})`
      li.textContent = `step ${t.index + 1} (${steps[t.index]?.op ?? t.label}): ${text}${t.replayed ? ' · replayed error receipt' : ''}`
      li.title = `${t.error?.name ?? 'Error'}: ${t.error?.message ?? ''}\nreceipt ${t.receiptCid.toString()}`
      return li
    }))
    let last = -1
    outputs.forEach((o, i) => { if (o !== undefined) last = i })
    if (last >= 0) openOutput(last)
  } catch (err) {
    summary.textContent = `the run failed: ${message(err)}`
    summary.classList.add('failed')
  } finally {
    saveRows(rows)
    renderRows(receiptBody, rows)
    busy = false
    updateButtons()
    drawDag()
    void refreshStorage()
  }
}

runButton.addEventListener('click', () => { void run() })

// --- receipts panel -----------------------------------------------------------------------------

async function refreshStorage (): Promise<void> {
  if (ipvm === undefined) return
  try {
    storage.textContent = await storageLine(await ipvm.store.stats())
  } catch (err) {
    storage.textContent = `storage unavailable: ${message(err)}`
  }
}

clearButton.addEventListener('click', () => {
  void (async () => {
    if (ipvm === undefined || busy) return
    busy = true
    updateButtons()
    try {
      await ipvm.store.clear()
      // The runtime also keeps recent receipts in memory: a fresh node starts with an empty memo.
      await ipvm.stop()
      ipvm = undefined
      await startIpvm()
      rows = []
      saveRows(rows)
      renderRows(receiptBody, rows)
      resetNodes()
      summary.textContent = 'cache cleared: every step will run again'
    } catch (err) {
      summary.textContent = `could not clear the cache: ${message(err)}`
    } finally {
      busy = false
      updateButtons()
      drawDag()
      void refreshStorage()
    }
  })()
})

// --- offline ------------------------------------------------------------------------------------

if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  navigator.serviceWorker.register('./sw.js').catch((err: unknown) => { console.warn('service worker not registered', err) })
}

void main()
