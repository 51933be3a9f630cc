// Bundles slice: models stored in this browser (downloads into OPFS, folder imports), through the engine door's
// BundlesClient. Holds the installed list, the running download's progress, storage use and persistence. Which
// stored bundle is active is remembered in localStorage (read synchronously at start, so the first engine load can
// use it — which is what makes the app work offline after an install: the demo's HTTP files are not cached).
// Every action that changes which model runs or what is stored (install, resume, import, use, remove, remove the
// encoder, cancel) is the parent's when a lock is set: a model without a safety checker or profile encoder would
// quietly lower a protected profile's safety. The profiles slice's `authorize` asks for the PIN.
// A URL whose files no SHA-256 pins (Optimum export, format-1 manifest) is not downloaded at once: its plan waits in
// `unverifiedPlan` until the person confirms (the worker refuses such a download without that confirmation).

import type { StateCreator } from 'zustand';
import { BundlesClient, type BundlePlan, type InstallProgress, type StorageInfo, type StoredBundle } from '../engine/client';
import { toErrorInfo, type ErrorInfo } from '../shared/errors';
import { DEMO_BUNDLE_URL, type EngineSlice } from './engine-slice';
import type { ProfilesSlice } from './profiles-slice';

const ACTIVE_KEY = 'psa-web.active-bundle';

export interface BundlesSlice {
  bundles: StoredBundle[];
  storage?: StorageInfo;
  /** The download or import in progress (or the last one, paused / failed). */
  install?: InstallProgress;
  installing: boolean;
  bundleError?: ErrorInfo;
  bundleNotice?: string;
  /** Files of the current download that failed their hash and were fetched again. */
  corruptFiles: string[];
  activeBundleKey?: string;
  /** A planned download whose files cannot all be checked against hashes; nothing fetched until confirmed. */
  unverifiedPlan?: BundlePlan & { url: string };
  refreshBundles(): Promise<void>;
  /** `allowUnverified`: download even files no hash pins (after the person saw `unverifiedPlan`). */
  installFromUrl(url: string, opts?: { allowUnverified?: boolean }): Promise<void>;
  /** Downloads the bundle of `unverifiedPlan` anyway / forgets it without downloading. */
  confirmUnverified(): Promise<void>;
  dismissUnverified(): void;
  /** Continues a partial bundle from where it stopped (downloads only: an imported folder must be picked again). */
  resumeBundle(key: string): Promise<void>;
  pauseInstall(): Promise<void>;
  cancelInstall(): Promise<void>;
  removeBundle(key: string): Promise<void>;
  /**
   * Deletes only the profile encoder's files of a stored bundle (cached profile embeddings stay, and still apply);
   * the bundle in use is reloaded so the engine knows the encoder is gone.
   */
  removeEncoder(key: string): Promise<void>;
  useStoredBundle(key: string): Promise<void>;
  useDemoBundle(): Promise<void>;
  importFolder(name: string, files: { path: string; file: File }[]): Promise<void>;
}

let client: BundlesClient | undefined;
const bundlesClient = () => (client ??= new BundlesClient());

/** Deletes a stored bundle's files and forgets it as the active one, with no check (the caller authorized it). */
export async function removeStoredBundleFiles(key: string): Promise<void> {
  remember(undefined);
  await bundlesClient().remove(key);
}

/** The engine URL of the remembered stored bundle, for the first load (undefined → the demo). */
export function rememberedBundleUrl(): string | undefined {
  try {
    const key = globalThis.localStorage?.getItem(ACTIVE_KEY);
    return key ? `opfs:bundles/${key}/` : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `url` is the app's own built-in demo bundle (stored with source kind 'demo'). */
function isDemoUrl(url: string): boolean {
  try {
    const base = globalThis.location?.href;
    const folder = (u: string) => new URL(u.endsWith('/') ? u : `${u}/`, base).href;
    return folder(url) === folder(DEMO_BUNDLE_URL);
  } catch {
    return false;
  }
}

function remember(key: string | undefined): void {
  try {
    if (key) localStorage.setItem(ACTIVE_KEY, key);
    else localStorage.removeItem(ACTIVE_KEY);
  } catch {
    /* private mode: the choice lasts for this visit only */
  }
}

type All = BundlesSlice & EngineSlice & Partial<Pick<ProfilesSlice, 'authorize'>>;

export const createBundlesSlice: StateCreator<All, [], [], BundlesSlice> = (set, get) => {
  /** True when the parent allowed it (or no lock is set); else says why in the panel. */
  const parentOnly = async (): Promise<boolean> => {
    const allowed = (await get().authorize?.(true, 'model').catch(() => false)) ?? true;
    if (!allowed) set({ bundleError: { code: 'PIN_REQUIRED', message: 'changing or removing a model needs the parent PIN when a parent lock is set' }, bundleNotice: undefined });
    return allowed;
  };
  return {
    bundles: [],
    installing: false,
    corruptFiles: [],
    activeBundleKey: rememberedBundleUrl() ? /^opfs:bundles\/(.+)\/$/.exec(rememberedBundleUrl()!)![1] : undefined,

    async refreshBundles() {
      try {
        const c = bundlesClient();
        const [bundles, storage] = await Promise.all([c.list(), c.storage()]);
        set({ bundles, storage });
      } catch (e) {
        set({ bundleError: toErrorInfo(e) });
      }
    },

    async installFromUrl(url, opts = {}) {
      if (!(await parentOnly())) return;
      const c = bundlesClient();
      set({ installing: true, bundleError: undefined, bundleNotice: undefined, corruptFiles: [], unverifiedPlan: undefined });
      // Ask before the bytes arrive; the browser may decline (the state is shown either way).
      void c.persist().then(() => get().refreshBundles());
      try {
        const outcome = await c.install(url, {
          onProgress: (install) => set({ install }),
          onCorrupt: (path) => set({ corruptFiles: [...get().corruptFiles, path] }),
        }, { demo: isDemoUrl(url), allowUnverified: opts.allowUnverified });
        if (outcome.kind === 'unverified') {
          set({ unverifiedPlan: { ...outcome.plan, url } });
          return;
        }
        const bundle = outcome.bundle;
        set({ install: undefined, bundleNotice: `${bundle.name} is installed.` });
        await get().refreshBundles();
        await get().useStoredBundle(bundle.key);
      } catch (e) {
        const error = toErrorInfo(e);
        if (error.code === 'CANCELLED') set({ bundleNotice: 'Download paused. Resume continues where it stopped.' });
        else set({ bundleError: error });
        await get().refreshBundles();
      } finally {
        set({ installing: false });
      }
    },

    async confirmUnverified() {
      const plan = get().unverifiedPlan;
      if (plan) await get().installFromUrl(plan.url, { allowUnverified: true });
    },

    dismissUnverified() {
      set({ unverifiedPlan: undefined });
    },

    async resumeBundle(key) {
      const b = get().bundles.find((x) => x.key === key);
      if (!b) {
        set({ bundleError: { code: 'BUNDLE_NOT_FOUND', message: `${key} is not stored on this device any more` } });
        return;
      }
      if (b.source.kind === 'import') {
        set({ bundleError: { code: 'INVALID_REQUEST', message: `${b.name} was copied from the folder "${b.source.folderName}": import that folder again to finish it, or remove it` } });
        return;
      }
      await get().installFromUrl(b.source.url);
    },

    async pauseInstall() {
      const key = get().install?.key;
      if (key) await bundlesClient().pause(key);
    },

    async cancelInstall() {
      const key = get().install?.key;
      if (!key || !(await parentOnly())) return;
      await bundlesClient().cancel(key);
      set({ install: undefined, bundleNotice: 'Download cancelled; its files were deleted.' });
      await get().refreshBundles();
    },

    async removeBundle(key) {
      if (!(await parentOnly())) return;
      try {
        if (get().activeBundleKey === key) {
          remember(undefined);
          set({ activeBundleKey: undefined });
          await get().startEngine(DEMO_BUNDLE_URL);
        }
        await bundlesClient().remove(key);
        set({ bundleNotice: `${key} was removed from this device.` });
      } catch (e) {
        set({ bundleError: toErrorInfo(e) });
      }
      await get().refreshBundles();
    },

    async removeEncoder(key) {
      if (!(await parentOnly())) return;
      set({ bundleError: undefined, bundleNotice: undefined });
      try {
        const b = await bundlesClient().removeEncoder(key);
        if (get().activeBundleKey === key) await get().startEngine(`opfs:bundles/${key}/`);
        set({ bundleNotice: `The profile encoder of ${b.name} was removed; saved profile embeddings are kept.` });
      } catch (e) {
        set({ bundleError: toErrorInfo(e) });
      }
      await get().refreshBundles();
    },

    async useStoredBundle(key) {
      if (!(await parentOnly())) return;
      remember(key);
      set({ activeBundleKey: key });
      await get().startEngine(`opfs:bundles/${key}/`);
    },

    async useDemoBundle() {
      if (!(await parentOnly())) return;
      remember(undefined);
      set({ activeBundleKey: undefined });
      await get().startEngine(DEMO_BUNDLE_URL);
    },

    async importFolder(name, files) {
      if (!(await parentOnly())) return;
      const c = bundlesClient();
      set({ installing: true, bundleError: undefined, bundleNotice: undefined });
      const previous = get().activeBundleKey;
      let stored: StoredBundle | undefined;
      try {
        stored = await c.importFolder(name, files, (install) => set({ install }));
        await get().refreshBundles();
        // The engine's loader is the contract check: every model is opened and its inputs/outputs validated.
        await get().startEngine(stored.loadUrl);
        if (get().status !== 'ready') throw get().error ?? new Error('the engine could not load the imported folder');
        await c.accept(stored.key);
        remember(stored.key);
        set({ activeBundleKey: stored.key, install: undefined, bundleNotice: `${stored.name} was imported and checked.` });
      } catch (e) {
        const error = toErrorInfo(e);
        set({ bundleError: { code: error.code, message: `The folder "${name}" was not imported: ${error.message}` }, install: undefined });
        if (stored) {
          await c.remove(stored.key).catch(() => undefined);
          await get().startEngine(previous ? `opfs:bundles/${previous}/` : DEMO_BUNDLE_URL);
        }
      } finally {
        set({ installing: false });
        await get().refreshBundles();
      }
    },
  };
};
