/** Planning: dependency order, batches for display, dataflow iteration, cycles. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { planGraph, WorkflowCycleError } from '../src/index.js'

describe('planGraph', () => {
  it("plans Homestar's mixed graph test [t6←t1, t1, t2←t1, t3←(t2,t1), t4, t5] by dependency level", () => {
    const plan = planGraph([[1], [], [1], [2, 1], [], []])
    expect(plan.batches).toEqual([[1, 4, 5], [0, 2], [3]])
    expect(plan.order).toEqual([1, 0, 2, 3, 4, 5])
    expect(plan.dependents[1]).toEqual([0, 2, 3])
    expect(plan.depth).toEqual([1, 0, 1, 2, 0, 0])
  })

  it('names the tasks on a cycle', () => {
    let caught: unknown
    try {
      planGraph([[], [3], [1], [2], [0]], ['a', 'b', 'c', 'd', 'e'])
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(WorkflowCycleError)
    const cycle = (caught as WorkflowCycleError).cycle
    expect([...cycle].sort()).toEqual([1, 2, 3])
    expect((caught as WorkflowCycleError).message).toMatch(/^workflow has a cycle: (b|c|d) → (b|c|d) → (b|c|d) → (b|c|d)$/)
    expect(() => planGraph([[0]])).toThrow(WorkflowCycleError)
  })

  it('ready-set: a task is handed out only after all its dependencies complete, in any finishing order', () => {
    const ready = planGraph([[], [], [0, 1], [2], [0]]).readySet()
    expect(ready.take()).toEqual([0, 1])
    expect(ready.complete(1)).toEqual([])
    expect(ready.complete(0)).toEqual([2, 4])
    expect(ready.take(1)).toEqual([2])
    expect(ready.peek()).toEqual([4])
    expect(ready.downstream(0)).toEqual([2, 3, 4])
    expect(() => ready.complete(3)).toThrow(/before its dependencies/)
    ready.complete(2)
    ready.complete(4)
    expect(ready.take()).toEqual([3])
    ready.complete(3)
    expect(ready.done).toBe(true)
  })

  // Random DAGs: edges only point from higher to lower indexes of a random permutation.
  const dagArbitrary = fc.integer({ min: 1, max: 40 }).chain((n) => fc.tuple(
    fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
    fc.array(fc.array(fc.nat(n - 1), { maxLength: 5 }), { minLength: n, maxLength: n })
  ).map(([perm, raw]) => {
    const rank = new Map(perm.map((node, r) => [node, r]))
    return raw.map((deps, node) => deps.filter((d) => rank.get(d)! < rank.get(node)!))
  }))

  it('property: every random DAG is planned in dependency order, batches and dataflow alike', () => {
    fc.assert(fc.property(dagArbitrary, fc.array(fc.nat(), { maxLength: 200 }), (deps, choices) => {
      const plan = planGraph(deps)
      const position = new Map(plan.order.map((node, i) => [node, i]))
      expect(plan.order).toHaveLength(deps.length)
      deps.forEach((ds, node) => {
        for (const d of ds) {
          expect(position.get(d)!).toBeLessThan(position.get(node)!)
          expect(plan.depth[d]!).toBeLessThan(plan.depth[node]!)
        }
      })
      expect(plan.batches.flat().sort((a, b) => a - b)).toEqual([...deps.keys()])
      // dataflow with a random completion order
      const ready = plan.readySet()
      const completed = new Set<number>()
      const running: number[] = []
      let step = 0
      while (!ready.done) {
        for (const node of ready.take()) {
          expect(deps[node]!.every((d) => completed.has(d))).toBe(true)
          running.push(node)
        }
        const pick = (choices[step++ % Math.max(1, choices.length)] ?? 0) % running.length
        const [node] = running.splice(pick, 1)
        ready.complete(node!)
        completed.add(node!)
      }
      expect(completed.size).toBe(deps.length)
    }))
  })

  it('property: adding a back edge to a random DAG is always reported as a cycle through it', () => {
    fc.assert(fc.property(dagArbitrary.filter((d) => d.some((ds) => ds.length > 0)), (deps) => {
      const node = deps.findIndex((ds) => ds.length > 0)
      const dep = deps[node]![0]!
      const cyclic = deps.map((ds) => [...ds])
      cyclic[dep]!.push(node)
      expect(() => planGraph(cyclic)).toThrow(WorkflowCycleError)
    }))
  })
})
