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
// - Model hosts the user added: the page (src/engine/bundles/connect-hosts.ts) lists the origins it downloads bundles
//   from in the cache "psa-connect-hosts". Every page and worker script served from here gets those origins added
//   to its Content-Security-Policy connect-src (the server's policy allows only fixed hosts), so a worker started
//   after a host was added may fetch from it. Chromium gives a dedicated worker the policy of its own script
//   response, which is why the download worker is restarted, not the page, when a host is added. The page also
//   posts the origin here ({type: 'psa-connect-host'}, answered once noted): kept in memory for this worker's
//   life, it applies even when the cache write failed (storage full).
const SHELL = /*__PSA_SHELL__*/ null;
const PREFIX = 'psa-shell-';
const BASE = new URL('./', self.location.href).href;
const CACHE = SHELL ? PREFIX + SHELL.version : undefined;
/** URL of a listed file: index.html is fetched as the base URL, which is what a navigation asks for. */
const urlOf = (file) => (file === 'index.html' ? BASE : new URL(file, BASE).href);
const SHELL_URLS = new Set(SHELL ? SHELL.files.map(urlOf) : []);
/** Where the page keeps the origins the user downloads from: same names in src/engine/bundles/connect-hosts.ts. */
const HOSTS_CACHE = 'psa-connect-hosts';
const HOSTS_URL = new URL('__psa/connect-hosts', BASE).href;

/**
 * A copy of extendConnectSrc in src/shared/csp.ts (this file is not bundled; tests/build/csp.test.ts runs both on
 * the same cases): `policy` with `origins` added to the connect-src of each policy that restricts connections.
 */
function extendConnectSrc(policy, origins) {
  if (!origins.length) return policy;
  return policy.split(',').map((one) => {
    const parts = one.split(';').map((d) => d.trim()).filter(Boolean);
    const at = (name) => parts.findIndex((d) => d.split(/\s+/)[0].toLowerCase() === name);
    const connect = at('connect-src');
    const fallback = at('default-src');
    if (connect < 0 && fallback < 0) return one.trim();
    const base = connect >= 0 ? parts[connect] : `connect-src${parts[fallback].slice('default-src'.length)}`;
    const sources = base.split(/\s+/).slice(1);
    const kept = sources.filter((s) => s.toLowerCase() !== "'none'");
    const added = origins.filter((o) => !kept.includes(o));
    const directive = ['connect-src', ...kept, ...added].join(' ');
    if (connect >= 0) parts[connect] = directive;
    else parts.push(directive);
    return parts.join('; ');
  }).join(', ');
}

/** A plain http(s) origin: anything else (a `;`, a quote, a space) would change the policy it is written into. */
const isOrigin = (o) => typeof o === 'string' && /^https?:\/\/[^\s;,'"/]+$/.test(o);
/** Origins the page posted during this worker's life (see the message listener). */
const postedHosts = new Set();

/** The stored and posted origins. */
async function connectHosts() {
  let stored = [];
  try {
    const res = await (await caches.open(HOSTS_CACHE)).match(HOSTS_URL);
    const list = res ? await res.json() : [];
    if (Array.isArray(list)) stored = list;
  } catch {
    // unreadable: the posted ones still apply
  }
  return [...new Set([...stored, ...postedHosts])].filter(isOrigin);
}

self.addEventListener('message', (event) => {
  const m = event.data;
  if (!m || m.type !== 'psa-connect-host' || !isOrigin(m.origin)) return;
  postedHosts.add(m.origin);
  event.ports[0]?.postMessage('noted');
});

/**
 * `res` with the stored hosts added to its CSP connect-src; unchanged when it has no policy, no hosts are stored or
 * its headers cannot be read (an opaque redirect). The body is passed on as a stream, not read.
 */
async function withHosts(res) {
  const policy = res.headers.get('content-security-policy');
  if (!policy || res.type === 'opaqueredirect' || res.type === 'opaque') return res;
  const hosts = await connectHosts();
  if (!hosts.length) return res;
  const headers = new Headers(res.headers);
  headers.set('content-security-policy', extendConnectSrc(policy, hosts));
  return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
}

/** Pages and worker scripts get a policy; other responses' CSP headers have no effect, so they pass untouched. */
const carriesPolicy = (req) => req.mode === 'navigate' || req.destination === 'worker' || req.destination === 'sharedworker';

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    if (!SHELL) throw new Error('sw.js was not built: no shell list (the dev server does not use the offline shell)');
    const cache = await caches.open(CACHE);
    // 'no-cache': revalidate with the server, so an update never precaches a stale copy from the HTTP cache.
    try {
      await cache.addAll(SHELL.files.map((f) => new Request(urlOf(f), { cache: 'no-cache' })));
    } catch (e) {
      // The browser retries at the next update check; the half-filled cache would otherwise stay until then.
      console.error(`offline shell ${SHELL.version} not installed: ${e && e.message}`);
      await caches.delete(CACHE);
      throw e;
    }
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

/**
 * The cached copy of a shell URL. ignoreVary: servers send `Vary: Origin` (vite preview does) and module scripts
 * are requested with an Origin header the precache request did not have; each URL is stored once, so no ambiguity.
 * caches.match with cacheName, never caches.open: this worker keeps answering its pages until a newer one claims
 * them, after the newer one's activation deleted this worker's cache — open() would create it again, empty, and it
 * would stay behind (a stale "psa-shell-…" no activation deletes until the next update).
 */
function cached(url) {
  return caches.match(url, { cacheName: CACHE, ignoreVary: true, ignoreSearch: false });
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
    event.respondWith(fetch(req).catch(async (e) => (await cached(BASE)) ?? Promise.reject(e)).then(withHosts));
    return;
  }
  url.search = '';
  url.hash = '';
  if (!SHELL_URLS.has(url.href)) return;
  const answer = cached(url.href).then((hit) => (hit ? (req.method === 'HEAD' ? headOf(hit) : hit) : fetch(req)));
  event.respondWith(carriesPolicy(req) ? answer.then(withHosts) : answer);
});
