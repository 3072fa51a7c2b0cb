/**
 * Placement: local first; a task goes to a peer when it needs an affinity this node lacks
 * (`meta.affinity`), data a peer holds (`meta.near`), when the caller asks (`meta.remote` or the run's
 * `placement: 'remote'`), or when the local pool is saturated, a peer is idle and the task is long
 * enough to be worth the transfer. `meta.not` (a peer id or DID, or a list) is anti-affinity.
 */
import { type IpldValue, ipldEquals, isIpldMap, type Task } from '@ipvm/core'
import type { Capabilities } from '@ipvm/net'

/** How a run places its tasks. */
export type PlacementMode = 'auto' | 'local' | 'remote'

export type PlacementDecision =
  | { where: 'local' }
  | { where: 'remote', candidates: Capabilities[], required: boolean }
  | { where: 'none', reason: string }

export interface PlacementInput {
  task: Task
  mode: PlacementMode
  /** Affinities this node has (e.g. `{ gpu: false }`). */
  localAffinities: Record<string, IpldValue>
  peers: readonly Capabilities[]
  /** Whether every local worker is busy and tasks are queued. */
  localSaturated: boolean
  /** Learned run time of this function here, in ms, if known. */
  estimateMs?: number
  /** A task shorter than this is never moved for load alone (transfer would cost more). */
  minOffloadMs?: number
}

function listOf (value: IpldValue | undefined): string[] {
  if (value === undefined || value === null) return []
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string')
  return typeof value === 'string' ? [value] : []
}

/** Whether affinities `have` meet every key of `want`. */
export function satisfiesAffinity (have: Record<string, IpldValue>, want: Record<string, IpldValue>): boolean {
  return Object.entries(want).every(([key, value]) => have[key] !== undefined && ipldEquals(have[key], value))
}

/** Decides where one task runs. Pure: the runtime supplies what it knows. */
export function decidePlacement (input: PlacementInput): PlacementDecision {
  const { task, mode } = input
  const meta = task.meta
  const excluded = new Set(listOf(meta.not))
  const peers = input.peers.filter((p) => p.ops.includes(task.run.op) && !excluded.has(p.peerId) && !excluded.has(p.did))
  const byFree = (a: Capabilities, b: Capabilities): number => b.freeWorkers - a.freeWorkers
  const affinity = isIpldMap(meta.affinity) ? meta.affinity : undefined
  if (affinity !== undefined && Object.keys(affinity).length > 0) {
    if (mode !== 'remote' && satisfiesAffinity(input.localAffinities, affinity)) return { where: 'local' }
    const able = peers.filter((p) => satisfiesAffinity(p.affinities, affinity)).sort(byFree)
    if (able.length === 0) return { where: 'none', reason: `no connected peer offers ${JSON.stringify(affinity)} and this node does not` }
    return { where: 'remote', candidates: able, required: !satisfiesAffinity(input.localAffinities, affinity) }
  }
  if (mode === 'local') return { where: 'local' }
  const near = listOf(meta.near)
  if (near.length > 0 && mode !== 'remote') {
    const holders = peers.filter((p) => near.every((cid) => p.data.includes(cid) || p.modules.includes(cid))).sort(byFree)
    if (holders.length > 0) return { where: 'remote', candidates: holders, required: false }
  }
  if (mode === 'remote' || meta.remote === true) {
    const candidates = [...peers].sort(byFree)
    return candidates.length > 0 ? { where: 'remote', candidates, required: false } : { where: 'local' }
  }
  const idle = peers.filter((p) => p.freeWorkers > 0).sort(byFree)
  const worthIt = (input.estimateMs ?? 0) >= (input.minOffloadMs ?? 50)
  if (input.localSaturated && idle.length > 0 && worthIt) return { where: 'remote', candidates: idle, required: false }
  return { where: 'local' }
}

/** Exponential moving averages of run times per function, to judge what is worth moving. */
export class RunTimeEstimates {
  private readonly averages = new Map<string, number>()

  record (func: string, ms: number): void {
    const previous = this.averages.get(func)
    this.averages.set(func, previous === undefined ? ms : previous * 0.7 + ms * 0.3)
  }

  get (func: string): number | undefined {
    return this.averages.get(func)
  }
}
