/**
 * Running a task on a peer: sign the invocation for the provider (with the delegations that authorize
 * it), send it with the results the task awaits, verify the provider's signed receipt. A failed or
 * silent provider is replaced by the next candidate; a slow one is hedged (the next starts while the
 * first keeps going) and the first verified receipt wins, so a task never runs twice to completion
 * when its first receipt does arrive.
 */
import type { Auth } from '@ipvm/auth'
import { AbortError, type Invocation, type IpldValue, type Receipt, type Task } from '@ipvm/core'
import type { AwaitedResult, Capabilities, IpvmNetwork } from '@ipvm/net'
import { RemoteExecutionError } from './errors.js'
import { decidePlacement, type PlacementDecision, type PlacementMode } from './placement.js'

export interface RemoteInit {
  network: IpvmNetwork
  /** Signs invocations as this node and verifies providers' receipts. */
  auth: Auth
  /** UCANs (JWT) to present, by provider DID; `'*'` for any provider. */
  proofs?: Record<string, string[]>
  /** Affinities this node has itself. */
  affinities?: Record<string, IpldValue>
  /** Placement of runs that do not say (default `auto`). */
  mode?: PlacementMode
  /** A provider silent for this long gets a hedge: the next candidate starts too (default 20 s). */
  hedgeAfterMs?: number
  /** Tasks estimated shorter than this are not moved for load alone (default 50 ms). */
  minOffloadMs?: number
  /** Peers whose DID this says is bad (proven liars) are never chosen. */
  reputation?: { isBad: (did: string) => boolean }
}

export interface RemoteAttemptEvents {
  onAttempt?: (peer: Capabilities) => void
}

export class RemoteExecution {
  readonly mode: PlacementMode

  private readonly proofs: Record<string, string[]>

  constructor (private readonly init: RemoteInit) {
    this.mode = init.mode ?? 'auto'
    // The caller's object is kept (not copied): adding to it later still counts.
    this.proofs = init.proofs ?? {}
  }

  /** Adds UCANs (JWT) to present to a provider (`'*'`: to any provider). */
  addProofs (provider: string, jwts: string[]): void {
    this.proofs[provider] = [...new Set([...(this.proofs[provider] ?? []), ...jwts])]
  }

  get network (): IpvmNetwork {
    return this.init.network
  }

  decide (task: Task, context: { mode?: PlacementMode, localSaturated: boolean, estimateMs?: number }): PlacementDecision {
    return decidePlacement({
      task,
      mode: context.mode ?? this.mode,
      localAffinities: this.init.affinities ?? {},
      peers: this.init.reputation === undefined ? this.init.network.peers() : this.init.network.peers().filter((p) => !this.init.reputation!.isBad(p.did)),
      localSaturated: context.localSaturated,
      ...(context.estimateMs === undefined ? {} : { estimateMs: context.estimateMs }),
      ...(this.init.minOffloadMs === undefined ? {} : { minOffloadMs: this.init.minOffloadMs })
    })
  }

  private async attempt (peer: Capabilities, task: Task, awaited: AwaitedResult[], signal: AbortSignal): Promise<Receipt> {
    const invocation: Invocation = { task }
    const proofs = this.proofs[peer.did] ?? this.proofs['*'] ?? []
    const signed = await this.init.auth.signInvocation(invocation, { audience: peer.did, proofs, signal })
    const receipt = await this.init.network.invoke(peer.peerId, { signed, awaited }, { signal })
    // Only the provider we asked may answer, and only for this invocation.
    return await this.init.auth.verifyReceipt(receipt, { expectedIssuer: peer.did, invocation, signal })
  }

  /** Runs `task` on the first candidate that returns a verified receipt. */
  async invoke (task: Task, awaited: AwaitedResult[], candidates: readonly Capabilities[], options: { signal: AbortSignal } & RemoteAttemptEvents): Promise<{ receipt: Receipt, peer: Capabilities }> {
    const hedgeAfter = this.init.hedgeAfterMs ?? 20_000
    return await new Promise((resolve, reject) => {
      const attempts: Array<{ peer: string, error: string }> = []
      const running = new Map<Capabilities, AbortController>()
      let next = 0
      let settled = false
      const finish = (fn: () => void): void => {
        if (settled) return
        settled = true
        for (const controller of running.values()) controller.abort(new AbortError('another provider answered'))
        options.signal.removeEventListener('abort', onAbort)
        fn()
      }
      const onAbort = (): void => { finish(() => { reject(new AbortError()) }) }
      options.signal.addEventListener('abort', onAbort, { once: true })
      const start = (): void => {
        if (settled) return
        if (next >= candidates.length) {
          if (running.size === 0) {
            finish(() => {
              reject(new RemoteExecutionError(`no provider returned a receipt: ${attempts.map((a) => `${a.peer}: ${a.error}`).join('; ')}`, { attempts }))
            })
          }
          return
        }
        const peer = candidates[next++]!
        const controller = new AbortController()
        running.set(peer, controller)
        options.onAttempt?.(peer)
        const hedge = setTimeout(start, hedgeAfter)
        this.attempt(peer, task, awaited, AbortSignal.any([controller.signal, options.signal])).then((receipt) => {
          clearTimeout(hedge)
          running.delete(peer)
          finish(() => { resolve({ receipt, peer }) })
        }, (err: unknown) => {
          clearTimeout(hedge)
          running.delete(peer)
          attempts.push({ peer: peer.peerId, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) })
          start()
        })
      }
      start()
    })
  }
}
