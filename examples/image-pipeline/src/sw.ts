/**
 * The service worker of the production build: on install it caches every file of the build (app
 * shell, JS chunks with the Wasm guest inside, the worker, icons, the sample image) under a cache
 * named by the build's version; it then answers cache-first, so the page and its runtime load offline.
 * Receipts and blocks need no help: they are in IndexedDB already. The build (vite.config.ts)
 * replaces the placeholder below with `{version, files}`.
 */

// Minimal service-worker typings: the project compiles against lib.dom, not lib.webworker.
interface ExtendableEventLike extends Event { waitUntil: (p: Promise<unknown>) => void }
interface FetchEventLike extends ExtendableEventLike { request: Request, respondWith: (r: Promise<Response>) => void }
interface ServiceWorkerScope {
  location: Location
  registration: { scope: string }
  skipWaiting: () => Promise<void>
  clients: { claim: () => Promise<void> }
  addEventListener: ((type: 'install' | 'activate', listener: (event: ExtendableEventLike) => void) => void) &
    ((type: 'fetch', listener: (event: FetchEventLike) => void) => void)
}

const scope = self as unknown as ServiceWorkerScope
const PRECACHE: { version: string, files: string[] } = JSON.parse('__IPVM_PRECACHE__')
const PREFIX = 'ipvm-image-pipeline-'
const CACHE = `${PREFIX}${PRECACHE.version}`
const base = new URL('./', scope.registration.scope)

scope.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE)
    await cache.addAll(PRECACHE.files.map((f) => new URL(f, base).href))
    await scope.skipWaiting()
  })())
})

scope.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name)
    await scope.clients.claim()
  })())
})

scope.addEventListener('fetch', (event) => {
  const request = event.request
  const url = new URL(request.url)
  if (request.method !== 'GET' || url.origin !== base.origin) return
  event.respondWith((async () => {
    const cache = await caches.open(CACHE)
    // Navigations inside the app get the shell, whatever their query string.
    const key = request.mode === 'navigate' && url.pathname.startsWith(base.pathname) && !/\.[a-z0-9]+$/i.test(url.pathname)
      ? new URL('index.html', base).href
      : request
    const hit = await cache.match(key, { ignoreVary: true })
    if (hit !== undefined) return hit
    const response = await fetch(request)
    if (response.ok && response.type === 'basic') await cache.put(request, response.clone())
    return response
  })())
})
