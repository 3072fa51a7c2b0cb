/** Errors keep their name, code and details across postMessage, JSON and the wire. */
import { describe, expect, it } from 'vitest'
import { decode, DuplicateTaskError, deserializeError, encode, IpvmError, registerError, serializeError, type SerializedError, WorkflowCycleError, WorkflowValidationError } from '../src/index.js'

describe('typed errors', () => {
  it('have a stable name and code', () => {
    const err = new WorkflowCycleError([2, 3])
    expect(err.name).toBe('WorkflowCycleError')
    expect(err.code).toBe('ERR_WORKFLOW_CYCLE')
    expect(err.message).toBe('workflow has a cycle: task 2 → task 3 → task 2')
    expect(err).toBeInstanceOf(IpvmError)
  })

  it('survive structuredClone, JSON and DAG-CBOR as plain data', () => {
    const err = new WorkflowValidationError([{ task: 1, path: 'run.op', expected: 'a string', got: 'an integer' }])
    const data = serializeError(err)
    for (const copy of [structuredClone(data), JSON.parse(JSON.stringify(data)) as SerializedError, decode<SerializedError>(encode(data))]) {
      const back = deserializeError(copy)
      expect(back).toBeInstanceOf(WorkflowValidationError)
      expect(back.name).toBe('WorkflowValidationError')
      expect(back.code).toBe('ERR_INVALID_WORKFLOW')
      expect(back.message).toBe(err.message)
      expect((back as WorkflowValidationError).issues).toEqual(err.issues)
    }
  })

  it('keeps the fields of known classes and the identity of unknown ones', () => {
    const back = deserializeError(serializeError(new DuplicateTaskError([0, 3], 'bafyrmi...')))
    expect((back as DuplicateTaskError).tasks).toEqual([0, 3])
    const unknown = deserializeError({ name: 'SomePeerError', code: 'ERR_PEER', message: 'from elsewhere' })
    expect(unknown).toBeInstanceOf(IpvmError)
    expect(unknown.name).toBe('SomePeerError')
    expect(unknown.code).toBe('ERR_PEER')
    expect(serializeError(new TypeError('plain'))).toEqual({ name: 'TypeError', code: 'ERR_UNKNOWN', message: 'plain' })
    expect(serializeError('a string')).toEqual({ name: 'Error', code: 'ERR_UNKNOWN', message: 'a string' })
  })

  it('lets other packages register their classes', () => {
    class CustomError extends IpvmError {
      static override readonly name = 'CustomError'
      static override readonly code = 'ERR_CUSTOM'
    }
    registerError(CustomError)
    const back = deserializeError(serializeError(new CustomError('x', { limit: 5n })))
    expect(back).toBeInstanceOf(CustomError)
    expect(back.details).toEqual({ limit: '5' })
  })
})
