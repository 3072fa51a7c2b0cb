// comlink ships no `exports` map, so NodeNext resolution finds no types for the ESM node adapter's
// `.mjs` path (TS7016). Its real signature is in comlink/dist/esm/node-adapter.d.ts; restated here
// because that file's relative `./protocol` import does not resolve under NodeNext either.
declare module 'comlink/dist/esm/node-adapter.mjs' {
  import type { Endpoint } from 'comlink'

  interface NodeEndpoint {
    postMessage (message: unknown, transfer?: readonly unknown[]): void
    on (type: string, listener: (value: unknown) => void): void
    off (type: string, listener: (value: unknown) => void): void
    start?: () => void
  }

  export default function nodeEndpoint (nep: NodeEndpoint): Endpoint
}
