/**
 * The keystore interface shared by the platform keystores: IndexedDB in browsers
 * (`keystore.browser.ts`) and key files in Node (`keystore.node.ts`); package.json conditional
 * exports pick one, and both export the same names.
 */
import { KeystoreError } from './errors.js'
import type { AbortOptions, Ed25519Jwk, IdentityOptions, Signer } from './signer.js'

/** The name the node's own identity is stored under. */
export const DEFAULT_IDENTITY_NAME = 'default'

/** Where identities persist. */
export interface KeystoreInit extends AbortOptions {
  /**
   * Browser: the IndexedDB database name (default `ipvm-keystore`). Node: the directory of key files
   * (default `~/.ipvm/keys`; created with mode 0700, files with 0600).
   */
  location?: string
}

/** Options when loading or creating one identity. */
export interface LoadIdentityOptions extends IdentityOptions {
  /** The identity's name in the keystore (default {@link DEFAULT_IDENTITY_NAME}). */
  name?: string
}

/** Persisted identities by name. */
export interface Keystore {
  /** The stored identity `name`, or undefined. */
  get: (name?: string, options?: IdentityOptions) => Promise<Signer | undefined>
  /** The stored identity `name`, created (and stored) first if missing. */
  loadOrCreate: (options?: LoadIdentityOptions) => Promise<Signer>
  /** Stores an exported identity (see `exportIdentity`) under `name`, replacing any there. */
  import: (exported: string | Ed25519Jwk, options?: LoadIdentityOptions) => Promise<Signer>
  /** The names stored. */
  list: (options?: AbortOptions) => Promise<string[]>
  /** Removes `name` (no error if absent). */
  delete: (name: string, options?: AbortOptions) => Promise<void>
  close: () => Promise<void>
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

/** Throws {@link KeystoreError} for a name that is not a safe file / key name. */
export function checkIdentityName (name: string): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new KeystoreError(`invalid identity name ${JSON.stringify(name)}: letters, digits, ".", "_", "-"; at most 128`)
  }
  return name
}
