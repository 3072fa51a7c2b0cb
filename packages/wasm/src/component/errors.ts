/**
 * Errors specific to the component runtime. Failures shared with core modules (traps, bad arguments,
 * unknown functions) use the classes in `../errors.ts`.
 */
import { IpvmError, registerError } from '@ipvm/core'

/** The component uses a feature this runtime does not implement (resources, async, nested instances…). */
export class UnsupportedComponentError extends IpvmError {
  static override readonly name = 'UnsupportedComponentError'
  static override readonly code = 'ERR_COMPONENT_UNSUPPORTED'
}

/** The component imports something the host did not provide; `details.missing` names every one. */
export class MissingImportError extends IpvmError {
  static override readonly name = 'MissingImportError'
  static override readonly code = 'ERR_MISSING_IMPORT'
  readonly missing: string[]

  constructor (missing: string[], resources: string[] = []) {
    const parts: string[] = []
    if (resources.length > 0) parts.push(`needs WASI resources (unsupported): ${resources.join(', ')}`)
    const plain = missing.filter((name) => !resources.includes(name))
    if (plain.length > 0) parts.push(`needs imports the host does not provide: ${plain.join(', ')}`)
    super(`component ${parts.join('; ')}`, { missing, resources })
    this.missing = missing
  }
}

for (const ErrorClass of [UnsupportedComponentError, MissingImportError]) {
  registerError(ErrorClass as unknown as Parameters<typeof registerError>[0])
}
