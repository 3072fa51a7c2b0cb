/**
 * Serving invocations: a node (a `ipvm serve` process, or a browser page) runs tasks peers delegate
 * to it. Every invocation is verified first (signature, UCAN chain rooted here or at a trusted
 * provider, audience, time bounds, caveats against the task, replay); then the single task runs
 * here — never re-delegated — and the receipt this node signs goes back.
 */
import type { Auth } from '@ipvm/auth'
import { type Receipt, serializeError, type Task, taskToIpld } from '@ipvm/core'
import type { InvokeHandler, InvokeRequest } from '@ipvm/net'
import type { Ipvm } from './runtime.js'

/** What a provider reports about each invocation it receives. */
export type ProviderEvent =
  | { type: 'invoke:refused', peer: string, error: { name: string, code: string, message: string } }
  | { type: 'invoke:ran', peer: string, instruction: string, replayed: boolean, ok: boolean }

export interface ProviderOptions {
  onEvent?: (event: ProviderEvent) => void
}

/** The `/ipvm/invoke` handler for `ipvm`, verifying with `auth` (this node's identity and trust). */
export function invokeHandler (ipvm: Ipvm, auth: Auth, options: ProviderOptions = {}): InvokeHandler {
  return async (request: InvokeRequest, context): Promise<Receipt> => {
    const peer = context.peer.toString()
    let task: Task
    let caps: { fuel?: number | bigint, memory?: number | bigint }
    try {
      const verified = await auth.verifyInvocation(request.signed, { signal: context.signal })
      task = verified.invocation.task
      // The delegation's caveats bound the run even where the task states no limit.
      caps = verified.limits
    } catch (err) {
      const { name, code, message } = serializeError(err)
      options.onEvent?.({ type: 'invoke:refused', peer, error: { name, code, message } })
      throw err
    }
    context.progress({ type: 'invoke:accepted' })
    const run = ipvm.run({ tasks: [taskToIpld(task)] }, {
      signal: context.signal,
      placement: 'local',
      caps,
      awaited: request.awaited,
      onProgress: (event) => { if (event.type === 'task:started') context.progress({ type: 'invoke:started' }) }
    })
    const result = await run.result
    const outcome = result.tasks[0]!
    options.onEvent?.({ type: 'invoke:ran', peer, instruction: outcome.instruction.toString(), replayed: outcome.replayed, ok: outcome.status !== 'failed' })
    return outcome.receipt
  }
}
