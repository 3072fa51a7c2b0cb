/**
 * @ipvm/auth — identities (Ed25519 did:key), UCAN delegation and verification, signed invocations
 * and receipts. This entry is the browser's (IndexedDB keystore); Node resolves `index.node.js`
 * (key-file keystore) through package.json conditional exports. Both export the same names.
 */
export * from './common.js'
export { openKeystore, loadOrCreateIdentity, DEFAULT_IDENTITY_NAME } from './keystore.browser.js'
export type { Keystore, KeystoreInit, LoadIdentityOptions } from './keystore.js'
