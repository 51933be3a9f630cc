// The bundle download worker (module Web Worker, separate from the engine's so downloads go on while images are
// made): receives BundlesRequest messages, drives the Installer over OPFS, posts BundlesEvents. One install runs at
// a time per bundle key; pause/cancel abort its fetch. Every request ends in exactly one terminal event.
// A fetch the Content-Security-Policy refused (connect-src without the bundle's host) fails as BLOCKED_BY_POLICY
// with a message naming the policy, instead of the browser's bare "Failed to fetch".

import { createSHA256 } from 'hash-wasm';
import { AppError, toErrorInfo } from '../../shared/errors';
import { watchViolations } from '../../shared/csp';
import { WASM_MODEL_BYTES, type DeviceFeature } from '../../shared/bundle';
import { detectCapabilities } from '../capabilities';
import { variantOrder } from '../variant-order';
import { Installer, type DeviceChoice } from './installer';
import { OpfsStore, folderOf, opfsLegacyStateDir } from './opfs-store';
import { importLegacyRecords } from './legacy-records';
import { importFiles, acceptImport } from './import';
import type { BundlesEvent, BundlesRequest, StoredBundle } from './protocol';

const post = (e: BundlesEvent) => (self as unknown as Worker).postMessage(e);
const store = new OpfsStore();

/** Origins this worker's policy refused to connect to (securitypolicyviolation events, connect-src). */
const refused = new Set<string>();
watchViolations(self, 'bundle download worker', (v) => {
  if (!/^(connect-src|default-src)$/.test(v.directive)) return;
  try {
    refused.add(new URL(v.blocked).origin);
  } catch {
    // not a URL: nothing to match a fetch against
  }
});

/** fetch(), with a refusal by the policy told apart from a network failure (the event arrives just after the reject). */
async function policedFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(input, init);
  } catch (e) {
    const origin = new URL(input instanceof Request ? input.url : String(input)).origin;
    for (let i = 0; i < 10 && !refused.has(origin) && !init?.signal?.aborted; i++) await new Promise((t) => setTimeout(t, 20));
    if (!refused.has(origin)) throw e;
    throw new AppError('BLOCKED_BY_POLICY', `${origin} is not allowed by this app's Content-Security-Policy (connect-src), so the browser refused to fetch from it. `
      + 'The app adds a host you download from once its offline service worker runs: reload the page and try again. '
      + 'If it is still refused, whoever hosts the app must add the host to connect-src (README, "Hosting").');
  }
}
const installer = new Installer({ store, fetch: policedFetch });
const active = new Map<string, { ctrl: AbortController; done: Promise<unknown> }>();

/**
 * Records of the pre-v4 layout (OPFS bundle-state/) go into the IndexedDB index before any request is answered.
 * A failure here is reported on the console and does not block the worker: the old files stay for the next start.
 */
const legacy = opfsLegacyStateDir()
  .then((dir) => importLegacyRecords(dir, store))
  .then((r) => {
    if (r.imported.length || r.skipped.length) console.info('bundle records imported from the old OPFS layout', r);
  })
  .catch((e) => console.warn('could not import bundle records of the old OPFS layout', e));

let device: Promise<DeviceChoice> | undefined;
/** The variant order of the backend the engine will pick by default (same rule as engine/models). */
function deviceChoice(): Promise<DeviceChoice> {
  device ??= detectCapabilities().then((caps) => {
    const gpu = caps.preferred === 'webgpu';
    const features = new Set<DeviceFeature>();
    if (gpu) features.add('webgpu');
    if (gpu && caps.shaderF16) features.add('shader-f16');
    return { order: variantOrder(caps.preferred, caps.shaderF16), features, maxModelBytes: gpu ? undefined : WASM_MODEL_BYTES };
  });
  return device;
}

/** Records whose download was running when the tab closed read as paused. */
async function listBundles(): Promise<StoredBundle[]> {
  return (await store.listStates()).map((s) => {
    const b = installer.describe(s);
    return (b.status === 'downloading' || b.status === 'planning') && !active.has(s.key) ? { ...b, status: 'paused' } : b;
  });
}

async function stop(key: string): Promise<void> {
  const a = active.get(key);
  if (!a) return;
  a.ctrl.abort(new DOMException('paused', 'AbortError'));
  await a.done.catch(() => undefined);
}

async function handle(req: BundlesRequest): Promise<BundlesEvent> {
  switch (req.type) {
    case 'install': {
      const state = await installer.plan(req.url, await deviceChoice(), req.variantWish, req.demo ? 'demo' : 'url');
      if (state.status === 'complete') return { type: 'installed', id: req.id, bundle: installer.describe(state) };
      // Files no hash pins: nothing is fetched until the person has seen the plan and agreed.
      const ask = Installer.needsConsent(state, req.allowUnverified);
      if (ask) return { type: 'unverified', id: req.id, plan: ask };
      if (active.has(state.key)) throw new AppError('BUSY', `${state.name} is already downloading`);
      const ctrl = new AbortController();
      const run = installer.run(state, (e) => {
        if (e.type === 'progress') post({ type: 'progress', id: req.id, progress: e.progress });
        else post({ type: 'corrupt', id: req.id, key: e.key, path: e.path, expected: e.expected, got: e.got });
      }, ctrl.signal, req.seen);
      active.set(state.key, { ctrl, done: run });
      try {
        return { type: 'installed', id: req.id, bundle: await run };
      } finally {
        active.delete(state.key);
      }
    }
    case 'pause':
      await stop(req.key);
      return { type: 'done', id: req.id };
    case 'cancel':
    case 'remove':
      await stop(req.key);
      await store.removeBundle(req.key);
      return { type: 'done', id: req.id };
    case 'remove-encoder':
      return { type: 'installed', id: req.id, bundle: installer.describe(await store.removeEncoder(req.key)) };
    case 'list':
      return { type: 'list', id: req.id, bundles: await listBundles() };
    case 'import':
      return { type: 'installed', id: req.id, bundle: await importFiles(store, installer, req.name, req.files, (progress) => post({ type: 'progress', id: req.id, progress })) };
    case 'accept':
      return { type: 'installed', id: req.id, bundle: await acceptImport(store, installer, req.key) };
    case 'debug-file': {
      const { dir, name } = await folderOf(req.key, req.path, false);
      const f = await (await dir.getFileHandle(name)).getFile();
      const h = await createSHA256();
      const r = f.stream().getReader();
      for (;;) {
        const { done, value } = await r.read();
        if (done) break;
        h.update(value);
      }
      return { type: 'debug-file', id: req.id, size: f.size, sha256: h.digest('hex') };
    }
  }
}

self.onmessage = async (e: MessageEvent<BundlesRequest>) => {
  const req = e.data;
  try {
    await legacy;
    post(await handle(req));
  } catch (err) {
    const error = toErrorInfo(err);
    post({ type: 'error', id: req.id, error });
  }
};
