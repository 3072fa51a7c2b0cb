/** Every refusal keeps its name, code, reason and details across serialization and structured clone. */
import { deserializeError, IpvmError, serializeError } from '@ipvm/core'
import { describe, expect, it } from 'vitest'
import { AUTH_ERRORS, AuthError, CaveatExceededError, EscalationError } from '../src/index.js'

describe('errors', () => {
  for (const ErrorClass of AUTH_ERRORS) {
    it(`${ErrorClass.name} survives serializeError → structuredClone / JSON → deserializeError`, () => {
      const err = new ErrorClass('refused', { issuer: 'did:key:z6Mk', depth: 2 })
      expect(err).toBeInstanceOf(IpvmError)
      expect(err.name).toBe(ErrorClass.name)
      for (const data of [structuredClone(serializeError(err)), JSON.parse(JSON.stringify(err))]) {
        const back = deserializeError(data)
        expect(back).toBeInstanceOf(ErrorClass)
        expect(back.name).toBe(err.name)
        expect(back.code).toBe(err.code)
        expect(back.message).toBe('refused')
        expect(back.details).toEqual(err.details)
        if (err instanceof AuthError) expect((back as AuthError).reason).toBe(err.reason)
      }
    })
  }

  it('names and codes are stable and distinct', () => {
    const names = AUTH_ERRORS.map((E) => E.name)
    const codes = AUTH_ERRORS.map((E) => E.code)
    expect(new Set(names).size).toBe(names.length)
    expect(new Set(codes).size).toBe(codes.length)
    expect(new EscalationError('x', { what: 'fuel' })).toMatchObject({ name: 'EscalationError', code: 'ERR_ESCALATION', reason: 'escalation', details: { what: 'fuel', reason: 'escalation' } })
    expect(new CaveatExceededError('x').reason).toBe('caveat-exceeded')
  })

  it('a refusal from a real check survives too', () => {
    const err = new CaveatExceededError('task asks for fuel 10', { caveat: 'fuel', asked: '10', allowed: 5 })
    const back = deserializeError(structuredClone(serializeError(err))) as CaveatExceededError
    expect(back.reason).toBe('caveat-exceeded')
    expect(back.details.caveat).toBe('fuel')
  })
})
