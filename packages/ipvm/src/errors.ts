/** Errors of the runtime. Each becomes the `error` of a receipt or a rejected promise, never a silent skip. */
import { IpvmError, registerError } from '@ipvm/core'

/** An await points at an instruction that has no receipt here: not in this workflow and not in the store. */
export class UnresolvedAwaitError extends IpvmError {
  static override readonly name = 'UnresolvedAwaitError'
  static override readonly code = 'ERR_UNRESOLVED_AWAIT'
}

/** `await/ok` on a failed task, or `await/error` on a successful one (UCAN Promise: "branch mismatch"). */
export class BranchMismatchError extends IpvmError {
  static override readonly name = 'BranchMismatchError'
  static override readonly code = 'ERR_BRANCH_MISMATCH'
}

/** A task this one awaits failed in a way that says nothing about this task's own result. */
export class DependencyFailedError extends IpvmError {
  static override readonly name = 'DependencyFailedError'
  static override readonly code = 'ERR_DEPENDENCY_FAILED'
}

/** The op has no handler on this node. */
export class UnsupportedOpError extends IpvmError {
  static override readonly name = 'UnsupportedOpError'
  static override readonly code = 'ERR_UNSUPPORTED_OP'
}

/** A workflow with more than one mutation, run without `force`. */
export class MutationPolicyError extends IpvmError {
  static override readonly name = 'MutationPolicyError'
  static override readonly code = 'ERR_MUTATION_POLICY'
}

/** A mutation was not run because a pure task or query of its workflow did not succeed. */
export class MutationSkippedError extends IpvmError {
  static override readonly name = 'MutationSkippedError'
  static override readonly code = 'ERR_MUTATION_SKIPPED'
}

/** A task needs what no reachable peer offers (an affinity this node lacks). */
export class NoProviderError extends IpvmError {
  static override readonly name = 'NoProviderError'
  static override readonly code = 'ERR_NO_PROVIDER'
}

/** Every provider tried failed or refused; `details.attempts` says how. */
export class RemoteExecutionError extends IpvmError {
  static override readonly name = 'RemoteExecutionError'
  static override readonly code = 'ERR_REMOTE_FAILED'
}

/** The node is not started (or was stopped). */
export class NotStartedError extends IpvmError {
  static override readonly name = 'NotStartedError'
  static override readonly code = 'ERR_NOT_STARTED'
}

for (const E of [UnresolvedAwaitError, BranchMismatchError, DependencyFailedError, UnsupportedOpError,
  MutationPolicyError, MutationSkippedError, NoProviderError, RemoteExecutionError, NotStartedError]) registerError(E)

/**
 * Error codes of failures that are the instruction's deterministic answer: running it again with the
 * same inputs fails the same way, so the error receipt is memoized like a success. Everything else
 * (limits, missing content, crashes, aborts, failed dependencies) is recorded but never replayed.
 */
export const DETERMINISTIC_ERROR_CODES: ReadonlySet<string> = new Set([
  'ERR_WASM_TRAP', 'ERR_ARGUMENT_TYPE', 'ERR_FUNCTION_NOT_FOUND', 'ERR_INVALID_MODULE', 'ERR_BRANCH_MISMATCH',
  'ERR_RESULT_TYPE'
])
