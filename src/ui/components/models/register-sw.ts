// Registers the app-shell service worker (public/sw.js) in production builds, so the app opens offline after the
// first visit. Dev builds skip it (a cached shell would hide code changes).
export function registerShellWorker(): void {
  if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return;
  navigator.serviceWorker.register(`${import.meta.env.BASE_URL}sw.js`).catch((e: unknown) => {
    console.warn(`offline shell not installed: ${(e as Error).message}`);
  });
}
