/**
 * @ipvm/auth for Node: the same API as the browser entry, with the key-file keystore.
 */
export * from './common.js'
export { openKeystore, loadOrCreateIdentity, DEFAULT_IDENTITY_NAME, defaultKeyDirectory } from './keystore.node.js'
export type { Keystore, KeystoreInit, LoadIdentityOptions } from './keystore.js'
