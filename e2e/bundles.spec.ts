// Model bundles in a real browser: downloads from scripts/serve-bundle.ts (another loopback port, started here)
// into OPFS through the Models panel — a cut at ~50 % resumed after a page reload with a Range request; a flipped
// byte caught and only that file refetched; quota refused up front and mid-way; offline start + generation from the
// stored bundle, twice, and again after an app update (new shell version) that keeps the bundle; folder import (demo
// bundle, Optimum parity fixture) and refusals naming the file; an Optimum export by URL announced as unverifiable
// before anything is downloaded.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { expect, test, type BrowserContext, type CDPSession, type Page, type Request } from '@playwright/test';
import type { RunningServer } from '../scripts/serve-bundle';
import type { BundleManifest } from '../src/shared/bundle';
import { chooseNoProfile, ROOT, SLOW, serveForApp, storedSha, moreOptions } from './helpers';
import { goTo } from './pages/screens';

const DEMO = path.join(ROOT, 'public', 'models', 'demo');
const PARITY = path.join(ROOT, 'fixtures', 'parity', 'bundle');
const manifest = JSON.parse(readFileSync(path.join(DEMO, 'manifest.json'), 'utf8')) as BundleManifest;
const KEY = `${manifest.id}@${manifest.version}`;
/** What a CPU/SwiftShader device downloads: everything but the int8 U-Net (fp32 is preferred). */
const fetched = manifest.files.filter((f) => f.path !== 'unet/model.int8.onnx');
const TOTAL = fetched.reduce((n, f) => n + f.bytes!, 0);

let server: RunningServer | undefined;
test.afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** The app with "no profile" chosen, on its Models and engine screen (open: no lock in these tests). */
async function openApp(page: Page): Promise<void> {
  await page.goto('/');
  await chooseNoProfile(page);
  await goTo(page, 'settings');
  await expect(page.getByTestId('bundle.panel')).toBeVisible();
}

async function download(page: Page, url: string): Promise<void> {
  await page.getByTestId('bundle.url').fill(url);
  await page.getByTestId('bundle.download').click();
}

const item = (page: Page, key = KEY) => page.locator(`[data-testid="bundle.item"][data-key="${key}"]`);

test('a download cut at ~50 % resumes after a page reload with a Range request and verified hashes', async ({ page }) => {
  server = await serveForApp({ dir: DEMO, cutAfter: Math.floor(TOTAL / 2), holdAfterCut: true });
  await openApp(page);
  await download(page, server.url);
  await expect.poll(() => server!.log.some((e) => e.cut), { timeout: SLOW }).toBe(true);
  const cut = server.log.find((e) => e.cut)!;
  // The client saves its checkpoint before it retries: wait for a retry (answered 503 while held).
  await expect.poll(() => server!.log.filter((e) => e.status === 503).length, { timeout: SLOW }).toBeGreaterThan(0);
  await page.reload();
  await expect(item(page)).toHaveAttribute('data-status', 'paused');
  await fetch(`${server.url}__release`);
  await page.getByTestId('bundle.resume').click();
  await expect(item(page)).toHaveAttribute('data-status', 'complete', { timeout: SLOW });

  const resumed = server.log.filter((e) => e.path === cut.path && e.status === 206);
  expect(resumed.length).toBe(1);
  expect(resumed[0].range).toMatch(/^bytes=[1-9]\d*-$/);
  expect(resumed[0].ifRange).toBeTruthy();
  const start = Number(/bytes=(\d+)-/.exec(resumed[0].range!)![1]);
  expect(start).toBeGreaterThan(0);
  expect(start).toBeLessThanOrEqual(cut.sent);
  for (const f of fetched) expect(await storedSha(page, KEY, f.path), f.path).toBe(f.sha256);
  expect(await storedSha(page, KEY, 'unet/model.int8.onnx')).toBeNull();
  // Files finished before the cut were not fetched again.
  const done = fetched.filter((f) => server!.log.findIndex((e) => e.path === `/${f.path}`) < server!.log.indexOf(cut));
  for (const f of done) expect(server.log.filter((e) => e.path === `/${f.path}` && e.method === 'GET').length, f.path).toBe(1);
  // The engine now runs on the stored bundle.
  await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
});

test('a flipped byte is detected, reported, and only that file is fetched again', async ({ page }) => {
  server = await serveForApp({ dir: DEMO, flip: { path: 'unet/model.onnx', offset: 4096 } });
  await openApp(page);
  await download(page, server.url);
  await expect(item(page)).toHaveAttribute('data-status', 'complete', { timeout: SLOW });
  await expect(page.getByTestId('bundle.corrupt')).toContainText('unet/model.onnx failed its integrity check');
  const gets = (p: string) => server!.log.filter((e) => e.method === 'GET' && e.path === `/${p}`).length;
  expect(gets('unet/model.onnx')).toBe(2);
  for (const f of fetched.filter((x) => x.path !== 'unet/model.onnx')) expect(gets(f.path), f.path).toBe(1);
  expect(await storedSha(page, KEY, 'unet/model.onnx')).toBe(manifest.components.unet.variants.fp32!.sha256);
});

/** The shell the build wrote into dist/sw.js (scripts/build/sw-shell.ts), as absolute URLs of the app's origin. */
function builtShell(origin: string): { version: string; urls: string[] } {
  const shell = JSON.parse(readFileSync(path.join(ROOT, 'dist', 'sw-shell.json'), 'utf8')) as { version: string; files: string[] };
  return { version: shell.version, urls: shell.files.map((f) => new URL(f === 'index.html' ? '/' : `/${f}`, origin).href).sort() };
}

/** Waits until the shell worker controls the page, then returns each psa-shell cache with the URLs it holds. */
/** Waits until the app-shell service worker is installed and controls the page. */
async function shellWorkerControls(page: Page): Promise<void> {
  await page.evaluate(async () => void (await navigator.serviceWorker.ready));
  await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);
}

async function shellCaches(page: Page): Promise<Record<string, string[]>> {
  await shellWorkerControls(page);
  return page.evaluate(async () => {
    const out: Record<string, string[]> = {};
    for (const name of await caches.keys()) {
      if (name.startsWith('psa-shell-')) out[name] = (await (await caches.open(name)).keys()).map((r) => r.url).sort();
    }
    return out;
  });
}

/** Offline: reload, check the page is the app (cross-origin isolated, engine ready on the stored bundle), generate. */
async function offlineRound(page: Page, label: string): Promise<void> {
  const modelRequests: string[] = [];
  // Requests of the page and its workers (answered by the network or by the shell worker); the shell worker's own
  // precache requests are not the app reading model bytes.
  const onRequest = (r: Request) => void (!r.serviceWorker() && /\.onnx(\?|$)/.test(r.url()) && modelRequests.push(r.url()));
  page.context().on('request', onRequest);
  await page.reload();
  await expect(page.getByTestId('engine.status'), label).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
  // Served from the cache with the server's COOP/COEP headers: still isolated (ORT's WASM threads need it).
  expect(await page.evaluate(() => crossOriginIsolated), label).toBe(true);
  await goTo(page, 'settings');
  await expect(item(page)).toHaveAttribute('data-status', 'complete');
  await expect(item(page).getByTestId('bundle.use'), label).toHaveText('In use');
  await goTo(page, 'home');
  await page.getByTestId('generate.submit').click();
  await expect(page.getByTestId('result.image'), label).toHaveAttribute('data-has-image', 'yes', { timeout: SLOW });
  page.context().off('request', onRequest);
  // The stored bundle's model bytes came from OPFS: no model file was requested over HTTP.
  expect(modelRequests, label).toEqual([]);
}

/** Serves the demo bundle, downloads it in the app and waits until it is installed and loaded; returns the server. */
async function installDemo(page: Page): Promise<RunningServer> {
  const served = (server = await serveForApp({ dir: DEMO }));
  await openApp(page);
  await download(page, served.url);
  await expect(item(page)).toHaveAttribute('data-status', 'complete', { timeout: SLOW });
  await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
  return served;
}

test('offline after install: the app starts from the cached shell and generates with the stored bundle; an offline reload works too', async ({ page, context }) => {
  const served = await installDemo(page);
  // The worker precached exactly the built shell (which includes the built-in demo bundle) — one versioned cache,
  // nothing of the downloaded bundle (it lives in OPFS), nothing from another origin.
  const origin = new URL(page.url()).origin;
  const shell = builtShell(origin);
  expect(await shellCaches(page)).toEqual({ [`psa-shell-${shell.version}`]: shell.urls });
  expect(shell.urls.some((u) => u.includes('/assets/ort-wasm') && u.endsWith('.wasm'))).toBe(true);
  expect(shell.urls.some((u) => u.endsWith('/models/demo/unet/model.onnx'))).toBe(true);
  await served.close();
  server = undefined;

  await context.setOffline(true);
  try {
    await offlineRound(page, 'offline start');
    await offlineRound(page, 'second offline reload');
  } finally {
    await context.setOffline(false);
  }
});

test('offline with the built-in demo after one online visit: first visit → offline → reload → a picture', async ({ page, context }) => {
  await openApp(page);
  await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
  await expect(page.getByTestId('bundle.demo')).toBeVisible();
  expect(Object.values(await shellCaches(page)).flat().some((u) => u.endsWith('/models/demo/manifest.json'))).toBe(true);
  await context.setOffline(true);
  try {
    await page.reload();
    await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
    await expect(page.getByTestId('bundle.name')).toHaveAttribute('data-bundle-id', /demo/);
    await moreOptions(page);
    await page.getByTestId('generate.steps').fill('2');
    await page.getByTestId('generate.submit').click();
    await expect(page.getByTestId('result.image')).toHaveAttribute('data-has-image', 'yes', { timeout: SLOW });
  } finally {
    await context.setOffline(false);
  }
});

test('an app update (new shell version) replaces the shell cache and keeps the installed bundle; offline start works after it', async ({ page, context }) => {
  const served = await installDemo(page);
  const origin = new URL(page.url()).origin;
  const shell = builtShell(origin);
  expect(Object.keys(await shellCaches(page))).toEqual([`psa-shell-${shell.version}`]);
  await served.close();
  server = undefined;

  // A new deployment: the same files, but a build whose shell version differs — as every build with a changed shell
  // writes a different sw.js. The preview server reads dist/ on each request, so it serves the new worker at once.
  const swPath = path.join(ROOT, 'dist', 'sw.js');
  const original = readFileSync(swPath, 'utf8');
  const next = [...shell.version].reverse().join('') === shell.version ? 'f'.repeat(shell.version.length) : [...shell.version].reverse().join('');
  expect(original).toContain(`"version":"${shell.version}"`);
  // Restored only at the end: put back earlier, it would be one more deployment (a downgrade) for the browser's next
  // update check to install.
  try {
    writeFileSync(swPath, original.replace(`"version":"${shell.version}"`, `"version":"${next}"`));
    await page.reload();
    await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
    // The new worker installed and activated: only its cache is left (the old shell cache was deleted)...
    await expect.poll(async () => Object.keys(await shellCaches(page)), { timeout: SLOW }).toEqual([`psa-shell-${next}`]);
    expect((await shellCaches(page))[`psa-shell-${next}`]).toEqual(shell.urls);
    // ...and the installed bundle is untouched: listed, complete, every file still in OPFS with its hash.
    await expect(item(page)).toHaveAttribute('data-status', 'complete');
    for (const f of fetched) expect(await storedSha(page, KEY, f.path), f.path).toBe(f.sha256);

    await context.setOffline(true);
    await offlineRound(page, 'offline start after the update');
  } finally {
    await context.setOffline(false);
    writeFileSync(swPath, original);
  }
});

test('a shell worker whose cache a newer version deleted answers from the network and does not create that cache again', async ({ page }) => {
  // The race behind a stale cache after an update: the old worker still answers its page between the new worker's
  // activation (which deletes the old cache) and its claim. Done here by hand, deterministically.
  await openApp(page);
  const shell = builtShell(new URL(page.url()).origin);
  await shellWorkerControls(page);
  const name = `psa-shell-${shell.version}`;
  const probe = shell.urls.find((u) => /\/assets\/.+\.css$/.test(u)) ?? shell.urls.find((u) => /\/assets\/.+\.js$/.test(u))!;
  const seen = await page.evaluate(async ({ name, probe }) => {
    const before = await caches.has(name);
    await caches.delete(name);
    const res = await fetch(probe);
    return { before, ok: res.ok, viaWorker: !!navigator.serviceWorker.controller, after: await caches.keys() };
  }, { name, probe });
  expect(seen.before).toBe(true);
  expect(seen.viaWorker).toBe(true);
  expect(seen.ok).toBe(true);
  expect(seen.after).not.toContain(name);
});

/**
 * A test-lowered quota for the app's origin. CDP's quota override is enforced on writes, but Chromium's
 * storage.estimate() keeps reporting the disk-based quota (measured: 10 GB before and after the override), so the page
 * is shown the same lowered quota CDP enforces. Set up before the page opens; `lower`/`lift` once it is open.
 */
async function quotaControl(page: Page, context: BrowserContext) {
  await page.addInitScript(() => {
    const estimate = StorageManager.prototype.estimate;
    StorageManager.prototype.estimate = async function () {
      const e = await estimate.call(this);
      const cap = (globalThis as { __quotaCap?: number }).__quotaCap;
      return cap === undefined ? e : { ...e, quota: cap };
    };
  });
  let cdp: CDPSession | undefined;
  const set = async (quotaSize?: number) => {
    cdp ??= await context.newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(page.url()).origin, ...(quotaSize === undefined ? {} : { quotaSize }) });
    await page.evaluate((q) => void ((globalThis as { __quotaCap?: number }).__quotaCap = q ?? undefined), quotaSize ?? null);
  };
  return { lower: (quotaSize: number) => set(quotaSize), lift: () => set() };
}

test('quota: a download larger than the quota is refused up front with the numbers; a quota error mid-way keeps finished files', async ({ page, context }) => {
  server = await serveForApp({ dir: DEMO, throttle: 4_000_000 });
  const quota = await quotaControl(page, context);
  await openApp(page);
  // The shell worker installs first, as it does long before a person's storage fills up: with a 2 MB quota its
  // precache would fail, and without it the bundle's host (another port) is not added to the CSP's connect-src.
  await shellWorkerControls(page);
  await quota.lower(2_000_000);
  await download(page, server.url);
  await expect(page.getByTestId('bundle.error')).toHaveAttribute('data-code', 'STORAGE_FULL');
  await expect(page.getByTestId('bundle.error')).toContainText(/needs \d+\.\d MB more, but only \d+\.\d MB are free for this site \(quota 2\.0 MB, used \d+\.\d MB\); nothing was downloaded/);
  expect(server.log.filter((e) => e.method === 'GET' && e.path !== '/manifest.json')).toHaveLength(0);

  // Mid-way: enough quota to start; lowered once the first files are in.
  await quota.lower(1_000_000_000);
  await download(page, server.url);
  await expect(page.locator('[data-testid="bundle.file"][data-path="text_encoder/model.onnx"]')).toHaveAttribute('data-status', 'downloading', { timeout: SLOW });
  const usage = await page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
  await quota.lower(usage + 200_000);
  await expect(page.getByTestId('bundle.error')).toHaveAttribute('data-code', 'STORAGE_FULL', { timeout: SLOW });
  // The write that hits the quota is a file's bytes or the download record, whichever comes first.
  const msg = (await page.getByTestId('bundle.error').textContent()) ?? '';
  expect(msg).toMatch(/storage ran out while (writing|saving) .*; the \d+ finished files? (is|are) kept/);
  const kept = Number(/the (\d+) finished file/.exec(msg)![1]);
  const finished = await page.locator('[data-testid="bundle.file"][data-status="done"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-path')!));
  expect(finished.length).toBe(kept);
  expect(kept).toBeGreaterThan(0);
  expect(kept).toBeLessThan(fetched.length);
  for (const p of finished) expect(await storedSha(page, KEY, p), p).toBe(fetched.find((f) => f.path === p)!.sha256);
  await quota.lift();
});

test('import: the demo bundle folder and the Optimum parity fixture; a missing or wrong-contract file is refused by name', async ({ page }) => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'psa-import-'));
  try {
    await openApp(page);
    await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
    const input = page.getByTestId('bundle.import');

    await input.setInputFiles(DEMO);
    await expect(page.getByTestId('bundle.notice')).toContainText('was imported and checked', { timeout: SLOW });
    await expect(item(page)).toHaveAttribute('data-status', 'complete');

    await input.setInputFiles(PARITY);
    await expect(page.getByTestId('bundle.notice')).toContainText(/folder bundle\) was imported and checked/, { timeout: SLOW });
    await expect(page.locator('[data-testid="bundle.item"][data-key^="import-bundle@sha-"]')).toHaveAttribute('data-status', 'complete');

    const missing = path.join(tmp, 'missing');
    cpSync(PARITY, missing, { recursive: true });
    rmSync(path.join(missing, 'unet', 'model.onnx'));
    await input.setInputFiles(missing);
    await expect(page.getByTestId('bundle.error')).toContainText('unet/model.onnx is missing from the folder "missing"', { timeout: SLOW });

    const wrong = path.join(tmp, 'wrong');
    cpSync(PARITY, wrong, { recursive: true });
    cpSync(path.join(PARITY, 'text_encoder', 'model.onnx'), path.join(wrong, 'vae_decoder', 'model.onnx'));
    await input.setInputFiles(wrong);
    await expect(page.getByTestId('bundle.error')).toHaveAttribute('data-code', 'CONTRACT_MISMATCH', { timeout: SLOW });
    await expect(page.getByTestId('bundle.error')).toContainText('vae_decoder/model.onnx');
    await expect(page.locator('[data-testid="bundle.item"][data-key^="import-wrong@"]')).toHaveCount(0);
    // The refused import did not leave files behind, and the earlier imports are intact.
    await expect(page.locator('[data-testid="bundle.item"]')).toHaveCount(2);
    expect(await storedSha(page, KEY, 'unet/model.onnx')).toBe(manifest.components.unet.variants.fp32!.sha256);
    const sha = createHash('sha256').update(readFileSync(path.join(PARITY, 'unet', 'model.onnx'))).digest('hex');
    const parityKey = await page.locator('[data-testid="bundle.item"][data-key^="import-bundle@"]').getAttribute('data-key');
    expect(await storedSha(page, parityKey!, 'unet/model.onnx')).toBe(sha);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});


test('an Optimum export by URL: "cannot be checked" is shown with its files before any model file is fetched; it downloads only on "Download anyway"', async ({ page }) => {
  server = await serveForApp({ dir: PARITY });
  await openApp(page);
  await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
  /** GETs answered with a file other than the plan's own index: what "downloading" means here. */
  const fileGets = () => server!.log.filter((e) => e.method === 'GET' && e.status === 200 && e.path !== '/model_index.json');
  const note = page.getByTestId('bundle.unverified');

  await download(page, server.url);
  await expect(note).toBeVisible();
  // 11 files of the export + model_index.json, none pinned by a hash.
  await expect(note).toHaveAttribute('data-files', '12');
  await expect(note).toContainText('unet/model.onnx');
  expect(fileGets()).toEqual([]);
  await page.getByTestId('bundle.unverified-dismiss').click();
  await expect(note).toHaveCount(0);
  await expect(page.locator('[data-testid="bundle.item"]')).toHaveCount(0);
  expect(fileGets()).toEqual([]);

  await download(page, server.url);
  const key = await note.getAttribute('data-key');
  await page.getByTestId('bundle.unverified-confirm').click();
  await expect(item(page, key!)).toHaveAttribute('data-status', 'complete', { timeout: SLOW });
  await expect(item(page, key!)).toHaveAttribute('data-verified', 'false');
  await expect(item(page, key!)).toContainText('not checked (no SHA-256 for 12 files)');
  expect(fileGets().map((e) => e.path)).toContain('/unet/model.onnx');
});


// ---- The installed-bundles index (IndexedDB, schema v4): partial bundles listed, old OPFS records imported ----
test.describe('installed-bundles index', () => {
  test('after a quota error mid-way the partial bundle is listed with its finished files, survives a reload, and resumes with space', async ({ page, context }) => {
    server = await serveForApp({ dir: DEMO, throttle: 4_000_000 });
    const quota = await quotaControl(page, context);
    await openApp(page);
    await download(page, server.url);
    await expect(page.locator('[data-testid="bundle.file"][data-path="text_encoder/model.onnx"]')).toHaveAttribute('data-status', 'downloading', { timeout: SLOW });
    const usage = await page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
    await quota.lower(usage + 200_000);
    await expect(page.getByTestId('bundle.error')).toHaveAttribute('data-code', 'STORAGE_FULL', { timeout: SLOW });
    const kept = Number(/the (\d+) finished file/.exec((await page.getByTestId('bundle.error').textContent()) ?? '')?.[1]);
    expect(kept).toBeGreaterThan(0);

    // Listed as partial with what it keeps — then and after a reload (the record is in IndexedDB, written atomically).
    for (const when of ['after the error', 'after a reload']) {
      if (when === 'after a reload') await page.reload();
      await expect(item(page), when).toHaveAttribute('data-state', 'partial');
      const files = item(page).getByTestId('bundle.item-files');
      await expect(files, when).toHaveAttribute('data-count', String(fetched.length));
      // The record may lag the page by the last file if saving it hit the quota too; never claim more than is kept.
      const done = Number(await files.getAttribute('data-done'));
      expect(done, when).toBeGreaterThan(0);
      expect(done, when).toBeLessThanOrEqual(kept);
      for (const p of await item(page).locator('[data-testid="bundle.item-file"][data-done="true"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-path')!))) {
        expect(await storedSha(page, KEY, p), `${when}: ${p}`).toBe(fetched.find((f) => f.path === p)!.sha256);
      }
      await expect(item(page).getByTestId('bundle.item-resume'), when).toBeVisible();
      await expect(item(page).getByTestId('bundle.remove'), when).toBeVisible();
    }

    // Space again: Resume on the listed item finishes it; the files finished before were not fetched again.
    await quota.lift();
    const finishedBefore = await item(page).locator('[data-testid="bundle.item-file"][data-done="true"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-path')!));
    await item(page).getByTestId('bundle.item-resume').click();
    await expect(item(page)).toHaveAttribute('data-state', 'complete', { timeout: SLOW });
    for (const p of finishedBefore) expect(server.log.filter((e) => e.method === 'GET' && e.path === `/${p}`).length, p).toBe(1);
    for (const f of fetched) expect(await storedSha(page, KEY, f.path), f.path).toBe(f.sha256);
  });

  test('records of the old OPFS layout are imported into the index on first start; removing one bundle leaves the other', async ({ page }) => {
    await openApp(page);
    // Two bundles as the pre-v4 app left them: files under bundles/<key>/, records in bundle-state/<key>.<slot>.json.
    await page.evaluate(async () => {
      const root = await navigator.storage.getDirectory();
      const write = async (dir: FileSystemDirectoryHandle, name: string, text: string) => {
        const w = await (await dir.getFileHandle(name, { create: true })).createWritable();
        await w.write(text);
        await w.close();
      };
      const bundles = await root.getDirectoryHandle('bundles', { create: true });
      const states = await root.getDirectoryHandle('bundle-state', { create: true });
      for (const id of ['old-one', 'old-two']) {
        const key = `${id}@1.0.0`;
        await write(await bundles.getDirectoryHandle(key, { create: true }), 'notes.txt', `bytes of ${key}`);
        const state = {
          key, id, version: '1.0.0', name: `Old ${id}`, source: { kind: 'psa', url: `http://127.0.0.1:9/${id}/` }, layout: 'manifest',
          variants: { unet: 'fp32' }, status: 'complete', createdAt: id === 'old-one' ? 1 : 2, installedAt: 3,
          files: [{ path: 'notes.txt', bytes: 22, offset: 22, done: true }], final: { path: 'manifest.json', text: '{}' },
        };
        await write(states, `${key}.1.json`, JSON.stringify({ seq: 1, state }));
        await write(states, `${key}.0.json`, '{"seq": 2, "state": {"key"'); // a slot cut short: the other one is used
      }
    });
    await page.reload();
    await expect(item(page, 'old-one@1.0.0')).toHaveAttribute('data-state', 'complete');
    await expect(item(page, 'old-two@1.0.0')).toContainText('http://127.0.0.1:9/old-two/');
    // The old records are gone from OPFS (imported once); the files stayed where they were.
    const oldStateDir = () => page.evaluate(async () => {
      try {
        await (await navigator.storage.getDirectory()).getDirectoryHandle('bundle-state');
        return true;
      } catch {
        return false;
      }
    });
    expect(await oldStateDir()).toBe(false);
    const notesSha = (key: string) => createHash('sha256').update(`bytes of ${key}`).digest('hex');
    expect(await storedSha(page, 'old-two@1.0.0', 'notes.txt')).toBe(notesSha('old-two@1.0.0'));

    await item(page, 'old-one@1.0.0').getByTestId('bundle.remove').click();
    await expect(item(page, 'old-one@1.0.0')).toHaveCount(0);
    expect(await storedSha(page, 'old-one@1.0.0', 'notes.txt')).toBeNull();
    expect(await storedSha(page, 'old-two@1.0.0', 'notes.txt')).toBe(notesSha('old-two@1.0.0'));
    await page.reload();
    await expect(item(page, 'old-two@1.0.0')).toHaveAttribute('data-state', 'complete');
    await expect(item(page, 'old-one@1.0.0')).toHaveCount(0);
  });
});
