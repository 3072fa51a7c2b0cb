/**
 * Planning: the dependency graph of a workflow, a dataflow order in which a task is ready as soon as
 * everything it awaits is done, and a batch view (dependency levels) for display.
 */
import { WorkflowCycleError } from './errors.js'
import type { ParsedWorkflow } from './workflow.js'

/** The dependency graph and the orders derived from it. */
export interface Plan {
  /** `dependencies[i]`: the tasks task i awaits. */
  readonly dependencies: readonly (readonly number[])[]
  /** `dependents[i]`: the tasks that await task i. */
  readonly dependents: readonly (readonly number[])[]
  /** `depth[i]`: length of the longest dependency chain ending at task i (0 for roots). */
  readonly depth: readonly number[]
  /** Tasks grouped by depth: every task's dependencies are in earlier batches. For display. */
  readonly batches: readonly (readonly number[])[]
  /** One dependency order (a topological sort, lowest index first among ready tasks). */
  readonly order: readonly number[]
  /** A fresh dataflow iterator over this plan. */
  readySet: () => ReadySet
}

/**
 * Plans a graph given as `dependencies[i]` = the nodes node i depends on. Throws
 * {@link WorkflowCycleError} naming the nodes of one cycle; `labels` name them in its message.
 */
export function planGraph (dependencies: readonly (readonly number[])[], labels?: readonly string[]): Plan {
  const n = dependencies.length
  const dependents: number[][] = Array.from({ length: n }, () => [])
  const indegree = new Array<number>(n).fill(0)
  dependencies.forEach((deps, node) => {
    const unique = new Set(deps)
    for (const dep of unique) {
      if (!Number.isInteger(dep) || dep < 0 || dep >= n) throw new RangeError(`node ${node} depends on ${dep}, which is not a node`)
      dependents[dep]!.push(node)
      indegree[node]!++
    }
  })
  // Kahn's algorithm with a min-ordered frontier so the order is deterministic.
  const remaining = indegree.slice()
  const depth = new Array<number>(n).fill(0)
  const frontier = new MinHeap()
  for (let i = 0; i < n; i++) if (remaining[i] === 0) frontier.push(i)
  const order: number[] = []
  while (frontier.size > 0) {
    const node = frontier.pop()
    order.push(node)
    for (const next of dependents[node]!) {
      depth[next] = Math.max(depth[next]!, depth[node]! + 1)
      if (--remaining[next]! === 0) frontier.push(next)
    }
  }
  if (order.length < n) {
    const cycle = findCycle(dependencies, remaining)
    throw new WorkflowCycleError(cycle, labels === undefined ? undefined : cycle.map((i) => labels[i] ?? `task ${i}`))
  }
  const batches: number[][] = []
  for (const node of order) {
    const level = depth[node]!
    batches[level] = batches[level] ?? []
    batches[level].push(node)
  }
  for (const batch of batches) batch.sort((a, b) => a - b)
  const deps = dependencies.map((d) => [...new Set(d)].sort((a, b) => a - b))
  return {
    dependencies: deps,
    dependents: dependents.map((d) => d.sort((a, b) => a - b)),
    depth,
    batches,
    order,
    readySet: () => new ReadySet(deps, dependents)
  }
}

/** Plans a parsed workflow (its in-workflow awaits; external awaits are not edges). */
export function planWorkflow (workflow: ParsedWorkflow): Plan {
  return planGraph(workflow.tasks.map((t) => t.dependencies), workflow.tasks.map((t) => `task ${t.index} (${t.instruction.toString()})`))
}

// Walks only the nodes Kahn's algorithm could not order; each has a dependency among them.
function findCycle (dependencies: readonly (readonly number[])[], remaining: readonly number[]): number[] {
  const stuck = (i: number): boolean => remaining[i]! > 0
  const start = remaining.findIndex((r) => r > 0)
  const seenAt = new Map<number, number>()
  const path: number[] = []
  let node = start
  while (!seenAt.has(node)) {
    seenAt.set(node, path.length)
    path.push(node)
    node = dependencies[node]!.find(stuck)!
  }
  // path[seenAt(node)..] is the cycle in "depends on" direction; report it in dataflow order.
  return path.slice(seenAt.get(node)).reverse()
}

/**
 * Dataflow iteration: `take()` hands out tasks whose dependencies are all complete, `complete(i)`
 * marks one done and returns the tasks it made ready. Independent of the order tasks finish in.
 */
export class ReadySet {
  private readonly waitingOn: number[]
  private readonly ready: number[] = []
  private readonly state: Uint8Array // 0 waiting, 1 ready, 2 taken, 3 done
  private doneCount = 0

  constructor (private readonly dependencies: readonly (readonly number[])[], private readonly dependents: readonly (readonly number[])[]) {
    this.waitingOn = dependencies.map((d) => new Set(d).size)
    this.state = new Uint8Array(dependencies.length)
    this.waitingOn.forEach((count, i) => {
      if (count === 0) {
        this.ready.push(i)
        this.state[i] = 1
      }
    })
  }

  /** Number of tasks in the plan. */
  get size (): number {
    return this.state.length
  }

  /** True when every task is complete. */
  get done (): boolean {
    return this.doneCount === this.state.length
  }

  /** Tasks ready and not yet taken. */
  peek (): readonly number[] {
    return this.ready
  }

  /** Takes every ready task (or at most `max`). */
  take (max = Number.POSITIVE_INFINITY): number[] {
    const taken = this.ready.splice(0, Math.min(max, this.ready.length))
    for (const i of taken) this.state[i] = 2
    return taken
  }

  /** Marks a task complete; returns the tasks that became ready because of it. */
  complete (task: number): number[] {
    if (this.state[task] === 3) throw new Error(`task ${task} is already complete`)
    if (this.state[task] === 0) throw new Error(`task ${task} completed before its dependencies`)
    if (this.state[task] === 1) this.ready.splice(this.ready.indexOf(task), 1)
    this.state[task] = 3
    this.doneCount++
    const newlyReady: number[] = []
    for (const next of this.dependents[task]!) {
      if (--this.waitingOn[next]! === 0) {
        this.state[next] = 1
        this.ready.push(next)
        newlyReady.push(next)
      }
    }
    return newlyReady
  }

  /** Tasks that transitively depend on `task` (what a failure of `task` blocks). */
  downstream (task: number): number[] {
    const seen = new Set<number>()
    const stack = [...this.dependents[task]!]
    while (stack.length > 0) {
      const next = stack.pop()!
      if (seen.has(next)) continue
      seen.add(next)
      stack.push(...this.dependents[next]!)
    }
    return [...seen].sort((a, b) => a - b)
  }

  isComplete (task: number): boolean {
    return this.state[task] === 3
  }

  /** The dependencies of `task`. */
  dependenciesOf (task: number): readonly number[] {
    return this.dependencies[task]!
  }
}

/** A binary min-heap of node indexes. */
class MinHeap {
  private readonly items: number[] = []

  get size (): number {
    return this.items.length
  }

  push (value: number): void {
    const items = this.items
    items.push(value)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (items[parent]! <= value) break
      items[i] = items[parent]!
      i = parent
    }
    items[i] = value
  }

  pop (): number {
    const items = this.items
    const top = items[0]!
    const last = items.pop()!
    if (items.length > 0) {
      let i = 0
      for (;;) {
        const left = 2 * i + 1
        const right = left + 1
        let smallest = i
        let smallestValue = last
        if (left < items.length && items[left]! < smallestValue) { smallest = left; smallestValue = items[left]! }
        if (right < items.length && items[right]! < smallestValue) { smallest = right; smallestValue = items[right]! }
        if (smallest === i) break
        items[i] = smallestValue
        i = smallest
      }
      items[i] = last
    }
    return top
  }
}
