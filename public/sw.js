// psa-web service worker: the app shell only, so the app starts with no network after the first visit.
// - Precaches index.html and the build's hashed assets (JS, CSS, the ORT wasm), listed by the build in
//   sw-shell.json (vite.config.ts, plugin psa-sw-shell). The cache name carries the build's hash.
// - Never caches model bytes (/models/, stored bundles live in OPFS, which this worker never touches), test fixtures
//   (/__fixtures/), other origins, ranged requests or anything but GET.
// - On activation it deletes only its own older shell caches ("psa-shell-…"): an app update never drops stored
//   bundles, and caches of other code are left alone.
const PREFIX = 'psa-shell-';
const BASE = new URL('./', self.location.href).pathname;

async function shellList() {
  const res = await fetch(`${BASE}sw-shell.json`, { cache: 'no-store' });
  if (!res.ok) throw new Error(`sw-shell.json: HTTP ${res.status}`);
  return res.json();
}

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const shell = await shellList();
    const cache = await caches.open(PREFIX + shell.version);
    await cache.addAll([BASE, ...shell.files.map((f) => BASE + f)]);
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const shell = await shellList().catch(() => undefined);
    if (shell) {
      for (const name of await caches.keys()) if (name.startsWith(PREFIX) && name !== PREFIX + shell.version) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

function isShell(url, req) {
  if (req.method !== 'GET' || url.origin !== self.location.origin || req.headers.has('range')) return false;
  const p = url.pathname.slice(BASE.length - 1);
  return !p.startsWith('/models/') && !p.startsWith('/__fixtures/') && p !== '/sw-shell.json';
}

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (!isShell(url, req)) return;
  if (req.mode === 'navigate') {
    // Network first, so an online visit gets the newest page; offline, the cached shell.
    event.respondWith(fetch(req).catch(async () => (await caches.match(req, { ignoreSearch: true })) ?? (await caches.match(BASE)) ?? Response.error()));
    return;
  }
  event.respondWith(caches.match(req).then((hit) => hit ?? fetch(req)));
});
