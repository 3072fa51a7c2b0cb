/** Everything of @ipvm/auth that is the same on every platform (all but the keystore). */
export * from './errors.js'
export {
  didFromPublicKey, publicKeyFromDid, isEd25519Did, verifySignature, toVarsig, fromVarsig, hasWebCryptoEd25519,
  VARSIG_ED25519_DAG_CBOR
} from './ed25519.js'
export * from './signer.js'
export * from './ucan.js'
export * from './invocation.js'
export * from './receipt.js'
export * from './auth.js'
