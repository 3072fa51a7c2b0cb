/**
 * The workflow as an SVG picture: the input image, then one node per step, each showing its state
 * (waiting, running, replayed, ran, failed), its time, and why it failed. Nodes with an output open it.
 */
export type NodeState = 'waiting' | 'running' | 'replayed' | 'ran' | 'failed'

export interface DagNode {
  title: string
  state: NodeState
  /** Line under the title: time, where the receipt came from, or a short reason. */
  detail: string
  /** Full text for the tooltip (e.g. an error message with CIDs). */
  tooltip?: string
  /** Short instruction CID. */
  cid?: string
  hasOutput: boolean
  /** The peer that ran this step, when one did (the node is drawn as remote). */
  peer?: string
}

const SVG = 'http://www.w3.org/2000/svg'
const W = 184
const H = 84
const GAP = 40
const PAD = 8

function el<K extends keyof SVGElementTagNameMap> (name: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, name)
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v))
  if (text !== undefined) node.textContent = text
  return node
}

function clip (text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

/** Draws `source` and `nodes` left to right into `svg`; `onOpen(i)` when step i (0-based) is activated. */
export function renderDag (svg: SVGSVGElement, source: DagNode, nodes: DagNode[], onOpen: (index: number) => void, selected?: number): void {
  const all = [source, ...nodes]
  const width = PAD * 2 + all.length * W + (all.length - 1) * GAP
  const height = PAD * 2 + H
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`)
  svg.setAttribute('width', String(width))
  svg.setAttribute('height', String(height))
  const defs = el('defs', {})
  const marker = el('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' })
  marker.append(el('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' }))
  defs.append(marker)
  const children: SVGElement[] = [defs]
  all.forEach((node, i) => {
    const x = PAD + i * (W + GAP)
    const y = PAD
    if (i > 0) {
      const from = node.state === 'failed' && node.detail.startsWith('not run') ? 'edge broken' : 'edge'
      children.push(el('line', { x1: x - GAP, y1: y + H / 2, x2: x - 2, y2: y + H / 2, class: from, 'marker-end': 'url(#arrow)' }))
    }
    const step = i - 1
    const g = el('g', { class: `node ${node.state}${node.hasOutput ? ' openable' : ''}${selected === step && i > 0 ? ' selected' : ''}${node.peer === undefined ? '' : ' remote'}`, transform: `translate(${x} ${y})` })
    g.dataset.state = node.state
    if (node.peer !== undefined) g.dataset.peer = node.peer
    if (i === 0) g.dataset.source = ''
    else g.dataset.index = String(step)
    if (node.tooltip !== undefined) g.append(el('title', {}, node.tooltip))
    g.append(el('rect', { width: W, height: H, rx: 10, ry: 10 }))
    g.append(el('text', { x: 12, y: 22, class: 'title' }, clip(node.title, 24)))
    g.append(el('text', { x: 12, y: 42, class: 'state' }, node.state === 'running' ? 'running…' : node.state))
    g.append(el('text', { x: 12, y: 60, class: 'detail' }, clip(node.detail, 29)))
    if (node.cid !== undefined) g.append(el('text', { x: 12, y: 76, class: 'cid' }, node.cid))
    if (node.hasOutput && i > 0) {
      g.setAttribute('role', 'button')
      g.setAttribute('tabindex', '0')
      g.setAttribute('aria-label', `open the output of step ${step + 1}, ${node.title}`)
      g.addEventListener('click', () => { onOpen(step) })
      g.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); onOpen(step) } })
    } else if (i === 0 && node.hasOutput) {
      g.setAttribute('role', 'button')
      g.setAttribute('tabindex', '0')
      g.setAttribute('aria-label', 'open the input image')
      g.addEventListener('click', () => { onOpen(-1) })
    }
    children.push(g)
  })
  svg.replaceChildren(...children)
}
