/**
 * Node keystore: one key file per identity, `<location>/<name>.key`, holding the multibase
 * (`ed25519-priv`) private key; the directory is created with mode 0700 and files with 0600, and a
 * key file that group or others can read is refused, as ssh refuses one.
 */
import { constants, type Stats } from 'node:fs'
import { chmod, link, lstat, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { throwIfAborted } from '@ipvm/core'
import { base58btc } from 'multiformats/bases/base58'
import { ED25519_PRIV_PREFIX, randomSeed } from './ed25519.js'
import { KeystoreError } from './errors.js'
import { checkIdentityName, DEFAULT_IDENTITY_NAME, type Keystore, type KeystoreInit, type LoadIdentityOptions } from './keystore.js'
import { type AbortOptions, type Ed25519Jwk, type IdentityOptions, type Signer, seedFromExport, signerFromSeed } from './signer.js'

export { DEFAULT_IDENTITY_NAME } from './keystore.js'
export type { Keystore, KeystoreInit, LoadIdentityOptions } from './keystore.js'

/** The default directory of key files: `~/.ipvm/keys`. */
export function defaultKeyDirectory (): string {
  return join(homedir(), '.ipvm', 'keys')
}

function encodeSeed (seed: Uint8Array): string {
  const bytes = new Uint8Array(34)
  bytes.set(ED25519_PRIV_PREFIX, 0)
  bytes.set(seed, 2)
  return base58btc.encode(bytes)
}

function isErrno (err: unknown, code: string): boolean {
  return (err as { code?: unknown })?.code === code
}

/** Opens the key-file keystore in `init.location` (default `~/.ipvm/keys`). */
export async function openKeystore (init: KeystoreInit = {}): Promise<Keystore> {
  throwIfAborted(init.signal)
  const dir = init.location ?? defaultKeyDirectory()
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw new KeystoreError(`cannot create the key directory ${dir}: ${(err as Error).message}`, { path: dir }, { cause: err })
  }
  const fileOf = (name: string): string => join(dir, `${checkIdentityName(name)}.key`)

  const readSeed = async (name: string): Promise<Uint8Array | undefined> => {
    const file = fileOf(name)
    let stat: Stats
    try {
      stat = await lstat(file)
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return undefined
      throw new KeystoreError(`cannot read the key file ${file}: ${(err as Error).message}`, { path: file }, { cause: err })
    }
    if (!stat.isFile()) throw new KeystoreError(`the key file ${file} is not a regular file`, { path: file })
    if (process.platform !== 'win32' && (stat.mode & 0o077) !== 0) {
      throw new KeystoreError(`the key file ${file} is readable by others (mode ${(stat.mode & 0o777).toString(8)}); chmod 600 it`, { path: file, mode: stat.mode & 0o777 })
    }
    const text = await readFile(file, 'utf8')
    try {
      return seedFromExport(text)
    } catch (err) {
      throw new KeystoreError(`the key file ${file} does not hold an Ed25519 private key`, { path: file }, { cause: err })
    }
  }

  /** Writes a key file without ever exposing a partial or wider-moded file; `exclusive` keeps an existing one. */
  const writeSeed = async (name: string, seed: Uint8Array, exclusive: boolean): Promise<boolean> => {
    const file = fileOf(name)
    const tmp = join(dir, `.${name}.${Date.now().toString(36)}.${Math.random().toString(36).slice(2)}.tmp`)
    await writeFile(tmp, `${encodeSeed(seed)}\n`, { mode: 0o600, flag: constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY })
    try {
      await chmod(tmp, 0o600)
      if (!exclusive) await rm(file, { force: true })
      try {
        await link(tmp, file)
        return true
      } catch (err) {
        if (exclusive && isErrno(err, 'EEXIST')) return false
        throw err
      }
    } finally {
      await rm(tmp, { force: true })
    }
  }

  const get = async (name = DEFAULT_IDENTITY_NAME, options: IdentityOptions = {}): Promise<Signer | undefined> => {
    throwIfAborted(options.signal)
    const seed = await readSeed(name)
    if (seed === undefined) return undefined
    try {
      return await signerFromSeed(seed, options)
    } finally {
      seed.fill(0)
    }
  }

  return {
    get,
    async loadOrCreate (options: LoadIdentityOptions = {}): Promise<Signer> {
      const name = checkIdentityName(options.name ?? DEFAULT_IDENTITY_NAME)
      const existing = await get(name, options)
      if (existing !== undefined) return existing
      const seed = randomSeed()
      try {
        if (await writeSeed(name, seed, true)) return await signerFromSeed(seed, options)
      } finally {
        seed.fill(0)
      }
      const raced = await get(name, options)
      if (raced === undefined) throw new KeystoreError(`the key file for ${name} vanished while being created`)
      return raced
    },
    async import (exported: string | Ed25519Jwk, options: LoadIdentityOptions = {}): Promise<Signer> {
      const name = checkIdentityName(options.name ?? DEFAULT_IDENTITY_NAME)
      const seed = seedFromExport(exported)
      try {
        throwIfAborted(options.signal)
        await writeSeed(name, seed, false)
        return await signerFromSeed(seed, options)
      } finally {
        seed.fill(0)
      }
    },
    async list (options: AbortOptions = {}): Promise<string[]> {
      throwIfAborted(options.signal)
      return (await readdir(dir)).filter((f) => f.endsWith('.key') && !f.startsWith('.')).map((f) => f.slice(0, -4)).sort()
    },
    async delete (name: string, options: AbortOptions = {}): Promise<void> {
      throwIfAborted(options.signal)
      await rm(fileOf(name), { force: true })
    },
    async close (): Promise<void> {}
  }
}

/** Opens the keystore, loads (or creates and stores) one identity. */
export async function loadOrCreateIdentity (options: KeystoreInit & LoadIdentityOptions = {}): Promise<Signer> {
  const keystore = await openKeystore(options)
  try {
    return await keystore.loadOrCreate(options)
  } finally {
    await keystore.close()
  }
}
