/**
 * Node 20 compatibility for the libp2p / Helia stack ipvm builds on (which targets Node 22).
 * Import it once, first, before anything else: `import 'ipvm/node20'`. The `ipvm` CLI does.
 *
 * - `Promise.withResolvers` (Node 22): libp2p, its muxers and queues call it; without it every
 *   connection fails (on TCP it shows up as ECONNRESET).
 * - a global `WebSocket` (Node 22): `@libp2p/websockets` dials with it; filled from the `ws` package
 *   when that is installed.
 * The third gap cannot be filled from code: Helia's dependency undici 8 needs Node 22.19, so a Node 20
 * application adds `"overrides": { "undici": "^7.16.0" }` to its package.json (this repository does).
 */
interface Resolvers<T> {
  promise: Promise<T>
  resolve: (value: T | PromiseLike<T>) => void
  reject: (reason?: unknown) => void
}

const promiseStatics = Promise as unknown as { withResolvers?: <T>() => Resolvers<T> }
if (typeof promiseStatics.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T> (this: PromiseConstructor): Resolvers<T> {
      let resolve!: Resolvers<T>['resolve']
      let reject!: Resolvers<T>['reject']
      const promise = new this<T>((res, rej) => { resolve = res; reject = rej })
      return { promise, resolve, reject }
    }
  })
}

if (typeof (globalThis as { WebSocket?: unknown }).WebSocket !== 'function') {
  try {
    const specifier = 'ws'
    const ws = await import(/* @vite-ignore */ specifier) as { WebSocket: unknown }
    Object.defineProperty(globalThis, 'WebSocket', { configurable: true, writable: true, value: ws.WebSocket })
  } catch {
    // `ws` is not installed: only WebSocket dialing is unavailable, and only on Node 20.
  }
}

export {}
