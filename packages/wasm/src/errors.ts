/**
 * Typed failures of running Wasm: shared by the core-module executor and the component runtime, so
 * they describe the outcome (fuel, memory, trap, bad module, bad argument) and not the ABI that saw it.
 * Each class is registered with `@ipvm/core`, so `deserializeError` rebuilds it after `postMessage`.
 */
import { IpvmError, registerError } from '@ipvm/core'

/** The task consumed its whole fuel budget. `details.used` counts the block that could not be paid for. */
export class OutOfFuelError extends IpvmError {
  static override readonly name = 'OutOfFuelError'
  static override readonly code = 'ERR_OUT_OF_FUEL'
  constructor (limit: bigint, used: bigint, message = `out of fuel: all ${limit} units consumed`) {
    super(message, { limit, used })
  }
}

/** The guest needed more linear memory than its limit (a failed `memory.grow`, or a minimum above the cap). */
export class OutOfMemoryError extends IpvmError {
  static override readonly name = 'OutOfMemoryError'
  static override readonly code = 'ERR_OUT_OF_MEMORY'
  constructor (limit: number | undefined, message?: string, details: Record<string, unknown> = {}) {
    super(message ?? (limit === undefined ? 'out of memory' : `out of memory: limit is ${limit} bytes`), { limit, ...details })
  }
}

/** The guest trapped (unreachable, division by zero, out-of-bounds access, stack overflow, …). */
export class WasmTrapError extends IpvmError {
  static override readonly name = 'WasmTrapError'
  static override readonly code = 'ERR_WASM_TRAP'
}

/** The bytes are not a module this runtime can run (malformed, invalid, unsupported feature, link failure). */
export class InvalidModuleError extends IpvmError {
  static override readonly name = 'InvalidModuleError'
  static override readonly code = 'ERR_INVALID_MODULE'
}

/** An argument does not fit the parameter's declared type (or the argument count is wrong). */
export class ArgumentTypeError extends IpvmError {
  static override readonly name = 'ArgumentTypeError'
  static override readonly code = 'ERR_ARGUMENT_TYPE'
}

/** The module exports no function under the requested name or any of its case variants. */
export class FunctionNotFoundError extends IpvmError {
  static override readonly name = 'FunctionNotFoundError'
  static override readonly code = 'ERR_FUNCTION_NOT_FOUND'
  constructor (name: string, available: string[]) {
    const list = available.length === 0 ? 'it exports no functions' : `available: ${available.join(', ')}`
    super(`no exported function named ${JSON.stringify(name)}; ${list}`, { name, available })
  }
}

/** A resource limit (fuel, memory, time) in task metadata is not a non-negative integer. */
export class InvalidLimitError extends IpvmError {
  static override readonly name = 'InvalidLimitError'
  static override readonly code = 'ERR_INVALID_LIMIT'
}

/** A result the guest returned cannot be represented as IPLD (NaN, ±Infinity, a reference, v128). */
export class ResultTypeError extends IpvmError {
  static override readonly name = 'ResultTypeError'
  static override readonly code = 'ERR_RESULT_TYPE'
}

for (const ErrorClass of [OutOfFuelError, OutOfMemoryError, WasmTrapError, InvalidModuleError,
  ArgumentTypeError, FunctionNotFoundError, InvalidLimitError, ResultTypeError]) {
  registerError(ErrorClass as unknown as Parameters<typeof registerError>[0])
}
