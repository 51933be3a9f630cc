// Registers the app-shell service worker (public/sw.js, with the shell list written in by the build) in production
// builds, so the app opens offline after the first visit, and asks for an update check on every start so a new build
// is picked up at the next online visit. Dev builds never run it: a cached shell would hide code changes, so a
// worker left on this origin by an earlier production build is unregistered and its shell caches dropped (stored
// bundles live in OPFS and IndexedDB and are not touched).
const SCRIPT = `${import.meta.env.BASE_URL}sw.js`;

export function registerShellWorker(): void {
  if (!('serviceWorker' in navigator)) return;
  if (!import.meta.env.PROD) {
    removeShellWorker().catch((e: unknown) => console.warn(`old offline shell not removed: ${(e as Error).message}`));
    return;
  }
  // After the page's own loading (the engine fetches the same files), so installing does not compete with it.
  const register = async () => {
    let reg: ServiceWorkerRegistration;
    try {
      reg = await navigator.serviceWorker.register(SCRIPT);
    } catch (e) {
      console.warn(`offline shell not installed: ${(e as Error).message}`);
      return;
    }
    // A registration that already exists is not re-checked by register(); update() fetches sw.js and installs the
    // new worker if its bytes (hence the shell list and version) changed. Offline it fails: the installed shell stays.
    if (reg.active) await reg.update().catch(() => undefined);
  };
  if (document.readyState === 'complete') void register();
  else window.addEventListener('load', () => void register(), { once: true });
}

async function removeShellWorker(): Promise<void> {
  const scriptUrl = new URL(SCRIPT, location.href).href;
  for (const reg of await navigator.serviceWorker.getRegistrations()) {
    const w = reg.active ?? reg.waiting ?? reg.installing;
    if (w?.scriptURL === scriptUrl) await reg.unregister();
  }
  for (const name of await caches.keys()) if (name.startsWith('psa-shell-')) await caches.delete(name);
}
