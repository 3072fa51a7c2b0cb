// A handler bundled into its own worker entry (custom-worker.*.ts), as the executor does.
import { InvalidIpldError } from '@ipvm/core'

let factor = 1

export function init (options: { factor: number }): void {
  factor = options.factor
}

export function run (job: number): number {
  if (!Number.isFinite(job)) throw new InvalidIpldError('not a finite number', { got: String(job) })
  return job * factor
}
