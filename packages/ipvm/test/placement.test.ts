/** Placement decisions: local first; affinities, data, explicit requests, saturation, anti-affinity. */
import type { Task } from '@ipvm/core'
import type { Capabilities } from '@ipvm/net'
import { describe, expect, it } from 'vitest'
import { decidePlacement, type PlacementInput, RunTimeEstimates } from '../src/placement.js'

const task = (meta: Task['meta'] = {}): Task => ({ run: { rsc: 'ipfs://bafkqaaa', op: 'wasm/run', input: { func: 'f', args: [] }, nnc: '' }, cause: null, meta, prf: [] })
const peer = (id: string, extra: Partial<Capabilities> = {}): Capabilities => ({
  did: `did:key:z${id}`, peerId: id, ops: ['wasm/run'], affinities: {}, workers: 2, freeWorkers: 2, modules: [], data: [], expires: Date.now() + 60_000, ...extra
})
const decide = (over: Partial<PlacementInput>): ReturnType<typeof decidePlacement> => decidePlacement({ task: task(), mode: 'auto', localAffinities: {}, peers: [], localSaturated: false, ...over })

describe('decidePlacement', () => {
  it('runs locally when nothing says otherwise, even with idle peers', () => {
    expect(decide({ peers: [peer('a')] })).toEqual({ where: 'local' })
  })

  it('sends a task needing an affinity to a peer that has it; none → no provider; local if this node has it', () => {
    const gpu = peer('gpu', { affinities: { gpu: true } })
    expect(decide({ task: task({ affinity: { gpu: true } }), peers: [peer('cpu'), gpu] })).toMatchObject({ where: 'remote', required: true, candidates: [gpu] })
    expect(decide({ task: task({ affinity: { gpu: true } }), peers: [peer('cpu')] })).toMatchObject({ where: 'none' })
    expect(decide({ task: task({ affinity: { gpu: true } }), peers: [gpu], localAffinities: { gpu: true } })).toEqual({ where: 'local' })
  })

  it('honours anti-affinity by peer id or DID', () => {
    const a = peer('a', { affinities: { gpu: true } })
    const b = peer('b', { affinities: { gpu: true } })
    expect(decide({ task: task({ affinity: { gpu: true }, not: 'a' }), peers: [a, b] })).toMatchObject({ candidates: [b] })
    expect(decide({ task: task({ affinity: { gpu: true }, not: [a.did, b.did] }), peers: [a, b] })).toMatchObject({ where: 'none' })
  })

  it('goes near the data, remote on request, and off a saturated pool only when worth it', () => {
    const holder = peer('h', { data: ['bafkdata'] })
    expect(decide({ task: task({ near: 'bafkdata' }), peers: [peer('x'), holder] })).toMatchObject({ where: 'remote', candidates: [holder] })
    expect(decide({ task: task({ remote: true }), peers: [peer('x', { freeWorkers: 0 }), peer('y')] })).toMatchObject({ where: 'remote', candidates: [{ peerId: 'y' }, { peerId: 'x' }] })
    expect(decide({ mode: 'remote', peers: [] })).toEqual({ where: 'local' })
    expect(decide({ localSaturated: true, estimateMs: 500, peers: [peer('busy', { freeWorkers: 0 }), peer('idle')] })).toMatchObject({ where: 'remote', candidates: [{ peerId: 'idle' }] })
    expect(decide({ localSaturated: true, estimateMs: 2, peers: [peer('idle')] })).toEqual({ where: 'local' })
    expect(decide({ mode: 'local', task: task({ remote: true }), peers: [peer('a')] })).toEqual({ where: 'local' })
  })

  it('learns run times as a moving average', () => {
    const estimates = new RunTimeEstimates()
    expect(estimates.get('blur')).toBeUndefined()
    estimates.record('blur', 100)
    estimates.record('blur', 200)
    expect(estimates.get('blur')).toBe(130)
  })
})
