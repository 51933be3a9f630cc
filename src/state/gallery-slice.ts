// Gallery slice: every picture the app shows is kept on the device (src/storage/gallery.ts) with what made it and
// what the safety layers decided; this slice decides who sees which, keeps each one at the end of a generation
// (the profiles slice's generateForActive hands it over), deletes behind the parent's PIN where a protected profile
// is concerned, and hands a picture's settings back to the generate form ("use these settings").
// Visibility is decided here, on a fresh read of the lock, not in the UI: with no lock, or with the parent's session
// open, every profile's pictures; otherwise only the active profile's — and only those are read from storage, so the
// state never holds another profile's pictures for a child's screen to leak. A picture kept or deleted in one tab is
// announced to the others (tab-sync.ts: a nudge, never the picture) so their grids re-read storage.
import type { StateCreator } from 'zustand';
import { toErrorInfo, type ErrorCode } from '../shared/errors';
import { withTextChunk } from '../shared/png-text';
import type { GenerateParams, GenerateResult, LoadedBundleInfo } from '../shared/types';
import * as storage from '../storage/gallery';
import type { GalleryEntry, GalleryScope, GallerySettings, GallerySafety } from '../storage/gallery';
import { hasLock } from '../storage/lock';
import type { GuardOutcome } from './guard-flow';
import type { ProfilesSlice } from './profiles-slice';
import { announce, onOtherTab } from './tab-sync';

export type { GalleryEntry, GallerySettings } from '../storage/gallery';
export { a1111Parameters, A1111_SAMPLER } from '../storage/gallery';

/** The PNG text keyword A1111 (and the tools that read its files) use for the settings. */
export const PARAMETERS_KEYWORD = 'parameters';

/** What a finished generation hands to the gallery. */
export interface GalleryInput {
  result: GenerateResult;
  /** The person's request, before the guard's steering (what "use these settings" gives back). */
  params: GenerateParams;
  bundle: LoadedBundleInfo | undefined;
  /** Undefined when the picture was made with no profile (chosen on purpose). */
  profile?: { id: string; name: string; protected: boolean };
  /** What the safety layers did (undefined with no profile). */
  outcome?: GuardOutcome;
}

export type GalleryErrorCode = 'PIN_REQUIRED' | 'NOT_FOUND' | 'SAVE_FAILED' | 'STORAGE_FAILED';

export interface GalleryView {
  status: 'idle' | 'loading' | 'ready' | 'error';
  /** The pictures this reader may see, newest first. */
  entries: GalleryEntry[];
  /** Every profile's pictures are shown (no lock, or the parent's session open). */
  seesAll: boolean;
  /** The bytes the shown pictures take (with seesAll: the gallery's whole footprint). */
  bytes: number;
  /** For STORAGE_FAILED / SAVE_FAILED: the storage layer's code (STORAGE_FULL has its own words). */
  error?: { code: GalleryErrorCode; detail?: string; cause?: ErrorCode };
}

export interface GallerySlice {
  gallery: GalleryView;
  /** Settings "use these settings" asked for; the generate form takes them (and clears this) once it has them. */
  pendingSettings?: GallerySettings;
  /** Reads the pictures the current reader may see (call again when the active profile or the lock changes). */
  loadGallery(): Promise<void>;
  /** Keeps a shown picture (never throws: a failed save is reported in gallery.error, the picture stays shown). */
  keepInGallery(input: GalleryInput): Promise<void>;
  /** Deletes one picture; a protected profile's needs the parent (the PIN dialog). False when refused or not found. */
  deleteFromGallery(id: string): Promise<boolean>;
  reuseSettings(id: string): void;
  clearPendingSettings(): void;
  /** Re-reads the gallery whenever another tab keeps or deletes a picture (returns the unsubscribe). */
  followGalleryInOtherTabs(): () => void;
}

export interface GalleryDeps {
  hasLock(): Promise<boolean>;
  list: typeof storage.listGallery;
  get: typeof storage.getGalleryEntry;
  save: typeof storage.saveGalleryEntry;
  remove: typeof storage.deleteGalleryEntry;
  /** RGBA pixels → PNG file bytes (the browser's canvas encoder in the app; pngjs in the Node tests). */
  encodePng(rgba: Uint8ClampedArray, width: number, height: number): Promise<Uint8Array>;
  newId(): string;
  now(): number;
}

/** The browser's own PNG encoder: a canvas (off-screen where there is one), no library shipped for it. */
async function encodePngInBrowser(rgba: Uint8ClampedArray, width: number, height: number): Promise<Uint8Array> {
  const image = new ImageData(new Uint8ClampedArray(rgba), width, height);
  let blob: Blob | null;
  if (typeof OffscreenCanvas !== 'undefined') {
    const canvas = new OffscreenCanvas(width, height);
    canvas.getContext('2d')!.putImageData(image, 0, 0);
    blob = await canvas.convertToBlob({ type: 'image/png' });
  } else {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    canvas.getContext('2d')!.putImageData(image, 0, 0);
    blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
  }
  if (!blob) throw new Error('the browser could not encode the picture as PNG');
  return new Uint8Array(await blob.arrayBuffer());
}

export const realGalleryDeps: GalleryDeps = {
  hasLock,
  list: storage.listGallery,
  get: storage.getGalleryEntry,
  save: storage.saveGalleryEntry,
  remove: storage.deleteGalleryEntry,
  encodePng: encodePngInBrowser,
  newId: () => crypto.randomUUID(),
  now: () => Date.now(),
};

/**
 * The visibility rule: a parent (no lock set, or the lock open) sees every profile's pictures; anyone else only the
 * active profile's (with no profile chosen: the pictures made with no profile).
 */
export function galleryScope(lockExists: boolean, unlocked: boolean, activeProfileId: string | undefined): GalleryScope {
  return !lockExists || unlocked ? 'all' : { profileKey: storage.profileKeyOf(activeProfileId) };
}

/** What the safety layers decided, as the record keeps it (words are made again from it when shown). */
export function safetyRecord(input: Pick<GalleryInput, 'result' | 'outcome' | 'profile'>): GallerySafety {
  const { result, outcome, profile } = input;
  const semantic = result.semanticGuard?.decision;
  const explanations = [...(outcome?.explanations ?? []), ...(outcome?.imageExplanation ? [outcome.imageExplanation] : [])];
  return {
    decision: !profile ? 'none' : outcome?.decision === 'steered' ? 'steered' : 'allowed',
    interventions: explanations.map((e) => ({ stage: e.stage, category: e.category, action: e.action })),
    ...(semantic === 'allowed' || semantic === 'steered' ? { semantic } : {}),
    ...(result.imageCheck ? { imageCheck: { flagged: result.imageCheck.flagged, blurred: result.imageCheck.blurred } } : {}),
  };
}

type All = GallerySlice & Pick<ProfilesSlice, 'profiles' | 'activeProfileId' | 'isUnlocked' | 'authorize'>;

const EMPTY: GalleryView = { status: 'idle', entries: [], seesAll: false, bytes: 0 };

export const createGallerySlice =
  (deps: GalleryDeps = realGalleryDeps): StateCreator<All, [], [], GallerySlice> =>
  (set, get) => {
    // Loads can overlap (a profile switch while a save reloads): only the latest one's answer is shown.
    let loads = 0;
    const storageFailure = (code: GalleryErrorCode, e: unknown): GalleryView['error'] => {
      const info = toErrorInfo(e);
      return { code, detail: info.message, cause: info.code };
    };
    const scopeNow = async (): Promise<GalleryScope> => galleryScope(await deps.hasLock(), get().isUnlocked(), get().activeProfileId);

    return {
      gallery: EMPTY,

      async loadGallery() {
        const n = ++loads;
        set({ gallery: { ...get().gallery, status: 'loading' } });
        try {
          const scope = await scopeNow();
          const entries = await deps.list(scope);
          if (n !== loads) return;
          set({ gallery: { status: 'ready', entries, seesAll: scope === 'all', bytes: storage.totalBytes(entries) } });
        } catch (e) {
          // Fail closed: on an unreadable store or lock, show nothing rather than possibly someone else's pictures.
          if (n === loads) set({ gallery: { ...EMPTY, status: 'error', error: storageFailure('STORAGE_FAILED', e) } });
        }
      },

      async keepInGallery({ result, params, bundle, profile, outcome }) {
        // Blocked requests have no picture; this is only a second lock on that door.
        if (outcome?.decision === 'blocked' || result.semanticGuard?.decision === 'blocked') return;
        const settings: GallerySettings = {
          prompt: params.prompt,
          negativePrompt: params.negativePrompt ?? '',
          seed: result.seed,
          steps: params.steps,
          scheduler: params.scheduler,
          guidance: params.guidance,
          width: result.width,
          height: result.height,
        };
        const model = {
          id: bundle?.id ?? 'unknown',
          name: bundle?.name ?? 'unknown',
          version: bundle?.version ?? '',
          variant: bundle?.variants.unet ?? '',
          backend: result.backend,
        };
        try {
          // result.rgba is what was shown: for a flagged picture the worker already blurred it, so only that is kept.
          const png = withTextChunk(await deps.encodePng(result.rgba, result.width, result.height), PARAMETERS_KEYWORD, storage.a1111Parameters(settings, model));
          const blob = new Blob([png], { type: 'image/png' });
          await deps.save({
            id: deps.newId(),
            createdAt: deps.now(),
            profileKey: storage.profileKeyOf(profile?.id),
            profile: profile ? { id: profile.id, name: profile.name, protected: profile.protected } : { name: 'no profile', protected: false },
            settings,
            model,
            safety: safetyRecord({ result, outcome, profile }),
            png: blob,
            bytes: blob.size,
          });
        } catch (e) {
          set({ gallery: { ...get().gallery, error: storageFailure('SAVE_FAILED', e) } });
          return;
        }
        announce('gallery');
        await get().loadGallery();
      },

      async deleteFromGallery(id) {
        let entry: GalleryEntry | undefined;
        try {
          entry = await deps.get(id);
        } catch (e) {
          set({ gallery: { ...get().gallery, error: storageFailure('STORAGE_FAILED', e) } });
          return false;
        }
        if (!entry) {
          set({ gallery: { ...get().gallery, error: { code: 'NOT_FOUND' } } });
          await get().loadGallery();
          return false;
        }
        // The profile as it is now decides (a parent may have protected it since); a deleted one, as it was then.
        // A picture this reader may not see (a stale screen) needs the parent too.
        const found = entry;
        const owner = get().profiles.find((p) => p.id === found.profile.id);
        // An unreadable lock counts as "not visible": the parent is asked (authorize then reads the lock itself).
        const scope = await scopeNow().catch((): GalleryScope => ({ profileKey: '\0' }));
        const visible = scope === 'all' || scope.profileKey === found.profileKey;
        const need = !visible || (owner ? owner.protected : found.profile.protected);
        if (!(await get().authorize(need, 'gallery'))) {
          set({ gallery: { ...get().gallery, error: { code: 'PIN_REQUIRED' } } });
          return false;
        }
        try {
          await deps.remove(id);
        } catch (e) {
          set({ gallery: { ...get().gallery, error: storageFailure('STORAGE_FAILED', e) } });
          return false;
        }
        announce('gallery');
        await get().loadGallery();
        return true;
      },

      reuseSettings(id) {
        const entry = get().gallery.entries.find((e) => e.id === id);
        if (entry) set({ pendingSettings: { ...entry.settings } });
      },

      clearPendingSettings() {
        set({ pendingSettings: undefined });
      },

      followGalleryInOtherTabs() {
        return onOtherTab((change) => {
          if (change === 'gallery') void get().loadGallery();
        });
      },
    };
  };
