/** The typed events of a workflow run, in `noun:verb` style. */
import type { CID, IpldValue, Receipt, Result, SerializedError } from '@ipvm/core'

interface TaskEventBase {
  /** The task's index in the workflow. */
  index: number
  /** The task's instruction CID. */
  instruction: CID
  /** A display name: the task's label or its function. */
  label: string
}

/** How a task's receipt came to be. */
export type TaskOutcomeKind = 'ran' | 'replayed' | 'failed'

export interface TaskFinished extends TaskEventBase {
  receipt: Receipt
  receiptCid: CID
  out: Result
  /** True when the receipt was found (memoized), not produced by running. */
  replayed: boolean
  /** Milliseconds from start to receipt (0 when replayed). */
  durationMs: number
  /** Where the receipt came from: run here, run on a peer, or found in the store / the memo. */
  where: 'local' | 'peer' | 'store' | 'memory'
  /** The peer that ran it, when `where` is `peer`. */
  peer?: string
  fuelUsed?: bigint
}

export type RunEvent =
  | { type: 'workflow:started', workflow: CID, name?: string, tasks: number }
  | ({ type: 'task:ready' } & TaskEventBase)
  | ({ type: 'task:started' } & TaskEventBase & { where: 'local' | 'peer', peer?: string })
  | ({ type: 'task:log' } & TaskEventBase & { message: string })
  | ({ type: 'task:replayed' } & TaskFinished)
  | ({ type: 'task:ran' } & TaskFinished)
  | ({ type: 'task:failed' } & TaskFinished & { error: SerializedError })
  | { type: 'store:warning', operation: string, message: string }
  | { type: 'workflow:finished', workflow: CID, status: WorkflowStatus, durationMs: number, ran: number, replayed: number, failed: number }

/** completed: every task succeeded; partial: some failed; failed: none succeeded; */
export type WorkflowStatus = 'completed' | 'partial' | 'failed'

/** One task's final state in a {@link WorkflowResult}. */
export interface TaskOutcome extends TaskFinished {
  status: TaskOutcomeKind
  error?: SerializedError
}

export interface WorkflowResult {
  workflow: CID
  name?: string
  status: WorkflowStatus
  /** Outcomes by task index. */
  tasks: TaskOutcome[]
  durationMs: number
}

/** The ok value of a task, for convenience (`undefined` when it failed). */
export function okValue (outcome: TaskOutcome): IpldValue | undefined {
  return 'ok' in outcome.out ? outcome.out.ok : undefined
}
