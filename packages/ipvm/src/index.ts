/**
 * ipvm — IPVM, content-addressed compute, in browsers and Node. The runtime (`createIpvm`) arrives
 * with its issue; this package already carries the `ipvm` command line and re-exports the data model.
 */
export * from '@ipvm/core'
