/**
 * The receipts panel: the most recent receipts this page has seen (run or replayed), kept in
 * localStorage because "replayed" is a fact about a run, not about a receipt; plus storage use.
 */
import { formatBytes } from './images.js'

export interface ReceiptRow {
  at: number
  func: string
  instruction: string
  receipt: string
  outcome: 'ok' | 'error'
  replayed: boolean
  /** memory, store or local (ran here). */
  where: string
  ms: number
  message?: string
}

const KEY = 'ipvm-image-pipeline:receipts'
const MAX = 40

export function loadRows (): ReceiptRow[] {
  try {
    const parsed: unknown = JSON.parse(localStorage.getItem(KEY) ?? '[]')
    return Array.isArray(parsed) ? parsed as ReceiptRow[] : []
  } catch {
    return []
  }
}

export function saveRows (rows: ReceiptRow[]): void {
  try {
    localStorage.setItem(KEY, JSON.stringify(rows.slice(0, MAX)))
  } catch {
    // storage full or blocked: the panel just forgets
  }
}

export function short (cid: string): string {
  return cid.length > 16 ? `${cid.slice(0, 8)}…${cid.slice(-6)}` : cid
}

function td (text: string, title?: string, className?: string): HTMLTableCellElement {
  const cell = document.createElement('td')
  cell.textContent = text
  if (title !== undefined) cell.title = title
  if (className !== undefined) cell.className = className
  return cell
}

export function renderRows (body: HTMLTableSectionElement, rows: ReceiptRow[]): void {
  if (rows.length === 0) {
    const tr = document.createElement('tr')
    const cell = td('no receipts yet: run a pipeline')
    cell.colSpan = 6
    cell.className = 'empty'
    tr.append(cell)
    body.replaceChildren(tr)
    return
  }
  body.replaceChildren(...rows.slice(0, MAX).map((row) => {
    const tr = document.createElement('tr')
    tr.className = row.outcome === 'error' ? 'error' : ''
    tr.dataset.outcome = row.outcome
    tr.dataset.replayed = String(row.replayed)
    const outcome = row.outcome === 'ok' ? 'ok' : `error: ${row.message ?? ''}`
    tr.append(
      td(new Date(row.at).toLocaleTimeString()),
      td(row.func),
      td(short(row.instruction), row.instruction, 'cid'),
      td(outcome.length > 80 ? `${outcome.slice(0, 79)}…` : outcome, row.message),
      td(row.replayed ? `replayed (${row.where})` : `ran, ${Math.round(row.ms)} ms`),
      td(short(row.receipt), row.receipt, 'cid')
    )
    return tr
  }))
}

/** "12 receipts (9.1 kB) · this site uses 3.4 MB of 10 GB" */
export async function storageLine (stats: { count: number, bytes: number }): Promise<string> {
  let line = `${stats.count} receipt${stats.count === 1 ? '' : 's'} stored (${formatBytes(stats.bytes)})`
  try {
    const estimate = await navigator.storage.estimate()
    if (estimate.usage !== undefined) line += ` · this site uses ${formatBytes(estimate.usage)}${estimate.quota === undefined ? '' : ` of ${formatBytes(estimate.quota)}`}`
  } catch {
    // no StorageManager: receipts only
  }
  return line
}
