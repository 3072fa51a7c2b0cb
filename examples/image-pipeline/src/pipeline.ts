/**
 * Image pipelines as ipvm workflows: a list of steps (crop, rotate90, grayscale, blur) becomes a chain
 * of `wasm/run` tasks, each awaiting the previous one. Two pipelines that share a prefix share its
 * instruction CIDs, so the second replays the prefix from receipts and runs only what is new.
 * No DOM here: this module is what another web app embeds.
 */
import { awaitOk, type BuiltTask, type CID, type IpldMap, type IpldValue, taskToIpld, wasmTask } from 'ipvm'

/**
 * Where a step should run: `auto` lets placement decide (here, unless the node is saturated and a peer
 * is idle), `peer` asks for a peer (`meta.remote`), `gpu` needs the `gpu` affinity (a peer that
 * declares it, when this node does not). Task meta is not part of the instruction CID: changing it
 * keeps every receipt.
 */
export type Placement = 'auto' | 'peer' | 'gpu'

export type Step = (
  | { op: 'crop', x: number, y: number, width: number, height: number }
  | { op: 'rotate90' }
  | { op: 'grayscale' }
  | { op: 'blur', sigma: number }
) & { on?: Placement }

export type StepOp = Step['op']

/** Limits of every task: metered fuel, a memory cap, and wall time as a backstop. Not part of any CID. */
export const LIMITS: IpldMap = { fuel: 4_000_000_000, memory: 256 * 1024 * 1024, time: 60_000 }

/** The crop box both presets use: the centre of the image, half its width and height (deterministic in its size). */
export function centreBox (width: number, height: number): Extract<Step, { op: 'crop' }> {
  return { op: 'crop', x: Math.round(width / 4), y: Math.round(height / 4), width: Math.round(width / 2), height: Math.round(height / 2) }
}

export type PresetName = 'grayscale' | 'blur'

/** crop → rotate90 → grayscale, and crop → rotate90 → blur(2.5). */
export function preset (name: PresetName, width: number, height: number): Step[] {
  const head: Step[] = [centreBox(width, height), { op: 'rotate90' }]
  return name === 'grayscale' ? [...head, { op: 'grayscale' }] : [...head, { op: 'blur', sigma: 2.5 }]
}

/** A short human description of a step: `crop 128,64 512×384`, `blur σ2.5`. */
export function describeStep (step: Step): string {
  switch (step.op) {
    case 'crop': return `crop ${step.x},${step.y} ${step.width}×${step.height}`
    case 'blur': return `blur σ${step.sigma}`
    default: return step.op
  }
}

/** The task meta of a placement. */
export function placementMeta (on: Placement | undefined): IpldMap {
  if (on === 'peer') return { remote: true }
  if (on === 'gpu') return { affinity: { gpu: true } }
  return {}
}

function argsOf (step: Step, input: IpldValue): IpldValue[] {
  switch (step.op) {
    case 'crop': return [input, step.x, step.y, step.width, step.height]
    case 'blur': return [input, step.sigma]
    default: return [input]
  }
}

export interface BuiltPipeline {
  /** Homestar's workflow JSON shape, ready for `ipvm.run`. */
  workflow: { name: string, workflow: { tasks: IpldMap[] } }
  /** One task per step, in order, with its instruction CID. */
  tasks: BuiltTask[]
}

/** Builds the workflow of `steps` over `image` with the guest `module` (both CIDs from `ipvm.add`). */
export async function buildPipeline (module: CID, image: CID, steps: Step[], name = 'image-pipeline'): Promise<BuiltPipeline> {
  const tasks: BuiltTask[] = []
  let input: IpldValue = image
  for (const step of steps) {
    const built = await wasmTask({ rsc: module, func: step.op, args: argsOf(step, input), meta: { ...LIMITS, ...placementMeta(step.on) } })
    tasks.push(built)
    input = awaitOk(built)
  }
  return { workflow: { name, workflow: { tasks: tasks.map((t) => taskToIpld(t.task)) } }, tasks }
}
