// psa-web service worker: the app shell only, so the app starts with no network after the first visit.
// - The build (scripts/build/sw-shell.ts) writes the shell list into this file in place of the placeholder below:
//   index.html, the app's chunks, CSS, worker scripts, onnxruntime-web's .mjs/.wasm and the built-in demo bundle,
//   with a content version. A new build with a changed shell therefore changes these bytes, which is what makes the
//   browser install the new worker. Unbuilt (the dev server's copy) the list is null and installing fails on purpose.
// - Answers only GET and HEAD requests for those exact URLs; everything else (downloaded bundles, which live in OPFS, other
//   origins, test fixtures, ranged requests) goes to the network untouched.
// - Cached responses keep the server's headers, including COOP/COEP: a page or worker served from here stays
//   cross-origin isolated (SharedArrayBuffer for ORT's WASM threads).
// - Activation deletes only older "psa-shell-…" caches; stored bundles (OPFS, IndexedDB) are never touched.
const SHELL = /*__PSA_SHELL__*/ null;
const PREFIX = 'psa-shell-';
const BASE = new URL('./', self.location.href).href;
const CACHE = SHELL ? PREFIX + SHELL.version : undefined;
/** URL of a listed file: index.html is fetched as the base URL, which is what a navigation asks for. */
const urlOf = (file) => (file === 'index.html' ? BASE : new URL(file, BASE).href);
const SHELL_URLS = new Set(SHELL ? SHELL.files.map(urlOf) : []);

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    if (!SHELL) throw new Error('sw.js was not built: no shell list (the dev server does not use the offline shell)');
    const cache = await caches.open(CACHE);
    // 'no-cache': revalidate with the server, so an update never precaches a stale copy from the HTTP cache.
    await cache.addAll(SHELL.files.map((f) => new Request(urlOf(f), { cache: 'no-cache' })));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

/** The cached copy of a shell URL. ignoreVary: servers send `Vary: Origin` (vite preview does) and module scripts
 * are requested with an Origin header the precache request did not have; each URL is stored once, so no ambiguity. */
async function cached(url) {
  const cache = await caches.open(CACHE);
  return cache.match(url, { ignoreVary: true, ignoreSearch: false });
}

/** A HEAD answer from a cached GET: its status and headers, no body. */
const headOf = (res) => new Response(null, { status: res.status, statusText: res.statusText, headers: res.headers });

self.addEventListener('fetch', (event) => {
  const req = event.request;
  // HEAD too: the engine asks whether a bundle file exists (manifest.json or model_index.json) with HEAD before it
  // reads it; unanswered, the built-in demo could not be found offline although its files are all cached.
  if (!CACHE || (req.method !== 'GET' && req.method !== 'HEAD') || req.headers.has('range')) return;
  const url = new URL(req.url);
  if (req.mode === 'navigate') {
    if (url.origin !== self.location.origin || !url.href.startsWith(BASE)) return;
    if (url.pathname.startsWith(new URL('models/', BASE).pathname)) return;
    // Network first, so an online visit gets the newest page (and the assets it names); offline, the cached page.
    event.respondWith(fetch(req).catch(async (e) => (await cached(BASE)) ?? Promise.reject(e)));
    return;
  }
  url.search = '';
  url.hash = '';
  if (!SHELL_URLS.has(url.href)) return;
  event.respondWith(cached(url.href).then((hit) => (hit ? (req.method === 'HEAD' ? headOf(hit) : hit) : fetch(req))));
});
