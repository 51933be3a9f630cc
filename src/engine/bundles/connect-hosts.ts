// The model hosts the user downloads bundles from, kept where the service worker (public/sw.js) reads them: the app's
// Content-Security-Policy allows fetch() only to its own origin and to hosts fixed by whoever serves the app, and the
// service worker adds these origins to the connect-src of every page and worker script it serves. Main thread only.
//
// Stored in Cache Storage, not IndexedDB, because the service worker is a plain script that reads one JSON response
// with no database code. The names are shared with public/sw.js (HOSTS_CACHE, HOSTS_URL there). The origin is also
// posted to the running service worker, which keeps it in memory: a full storage must not turn into a policy error.

export const HOSTS_CACHE = 'psa-connect-hosts';
const hostsUrl = () => new URL(`${import.meta.env.BASE_URL}__psa/connect-hosts`, location.href).href;

/** The origin a bundle URL is fetched from, or undefined for the app's own origin (always allowed) or a bad URL. */
export function foreignOrigin(url: string): string | undefined {
  try {
    const u = new URL(url, location.href);
    if (u.origin === location.origin || (u.protocol !== 'http:' && u.protocol !== 'https:')) return undefined;
    return u.origin;
  } catch {
    return undefined;
  }
}

export async function readConnectHosts(): Promise<string[]> {
  try {
    const res = await (await caches.open(HOSTS_CACHE)).match(hostsUrl());
    const list: unknown = res ? await res.json() : [];
    return Array.isArray(list) ? list.filter((o): o is string => typeof o === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * Adds `origin` to the stored list (kept once) and tells the controlling service worker, waiting for its answer so
 * that a worker started next is served with the host. A failed write (storage full, no Cache Storage outside a
 * secure context) is reported on the console; the service worker still has the origin for its lifetime.
 */
export async function addConnectHost(origin: string): Promise<void> {
  try {
    const list = await readConnectHosts();
    if (!list.includes(origin)) {
      const body = JSON.stringify([...list, origin]);
      await (await caches.open(HOSTS_CACHE)).put(hostsUrl(), new Response(body, { headers: { 'Content-Type': 'application/json' } }));
    }
  } catch (e) {
    console.warn(`could not store ${origin} as a download host for the service worker: ${(e as Error).message}`);
  }
  const sw = globalThis.navigator?.serviceWorker?.controller;
  if (!sw) return;
  await new Promise<void>((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(resolve, 5_000);
    channel.port1.onmessage = () => {
      clearTimeout(timer);
      resolve();
    };
    sw.postMessage({ type: 'psa-connect-host', origin }, [channel.port2]);
  });
}

/**
 * Whether the app's service worker controls this page, waiting up to `ms` for it on a first visit (it is registered
 * at the page's load, precaches the shell, then claims the page). False at once in dev builds, which never register
 * it, and after 5 s when no registration appeared (service workers unavailable or refused).
 */
export async function serviceWorkerControls(ms = 60_000): Promise<boolean> {
  const sw = globalThis.navigator?.serviceWorker;
  if (!sw) return false;
  if (sw.controller) return true;
  if (!import.meta.env.PROD) return false;
  const start = Date.now();
  for (;;) {
    await new Promise((t) => setTimeout(t, 250));
    if (sw.controller) return true;
    const waited = Date.now() - start;
    if (waited > ms) return false;
    if (waited > 5_000 && !(await sw.getRegistration().catch(() => undefined))) return false;
  }
}
