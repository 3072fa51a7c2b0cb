/** The key-file keystore: files with mode 0600, the same DID after reopening, refusal of readable files. */
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { exportIdentity, generateIdentity, loadOrCreateIdentity, openKeystore, verifySignature } from '../src/index.node.js'
import { refused } from './fixtures.js'

let dir: string
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'ipvm-auth-')) })
afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

describe('key-file keystore', () => {
  it('writes a 0600 key file and gives the same DID after reopening', async () => {
    const location = join(dir, 'a')
    const first = await loadOrCreateIdentity({ location })
    const file = join(location, 'default.key')
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    expect((await stat(location)).mode & 0o777).toBe(0o700)
    const again = await loadOrCreateIdentity({ location })
    expect(again.did).toBe(first.did)
    const msg = new TextEncoder().encode('still me')
    expect(await verifySignature(first.did, msg, await again.sign(msg))).toBe(true)
    expect((await readFile(file, 'utf8')).trim()).toMatch(/^z[1-9A-HJ-NP-Za-km-z]+$/)
  })

  it('refuses a key file others can read', async () => {
    const location = join(dir, 'b')
    await loadOrCreateIdentity({ location })
    await chmod(join(location, 'default.key'), 0o644)
    await refused(loadOrCreateIdentity({ location }), 'KeystoreError')
  })

  it('refuses a key file that holds no key', async () => {
    const location = join(dir, 'c')
    const ks = await openKeystore({ location })
    await writeFile(join(location, 'junk.key'), 'hello\n', { mode: 0o600 })
    await refused(ks.get('junk'), 'KeystoreError')
  })

  it('concurrent creators end with one identity', async () => {
    const location = join(dir, 'd')
    const signers = await Promise.all([1, 2, 3, 4].map(async () => await loadOrCreateIdentity({ location, name: 'shared' })))
    expect(new Set(signers.map((s) => s.did)).size).toBe(1)
    expect(await (await openKeystore({ location })).list()).toEqual(['shared'])
  })

  it('imports an exported identity (and exports it again when extractable)', async () => {
    const location = join(dir, 'e')
    const original = await generateIdentity({ extractable: true })
    const ks = await openKeystore({ location })
    const imported = await ks.import(await exportIdentity(original, { format: 'jwk' }), { name: 'moved', extractable: true })
    expect(imported.did).toBe(original.did)
    expect((await stat(join(location, 'moved.key'))).mode & 0o777).toBe(0o600)
    expect(await exportIdentity((await ks.get('moved', { extractable: true }))!)).toBe(await exportIdentity(original))
    await refused(exportIdentity((await ks.get('moved'))!), 'NotExtractableError')
    await ks.delete('moved')
    expect(await ks.get('moved')).toBeUndefined()
  })
})
