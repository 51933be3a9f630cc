// The gallery's records in IndexedDB (store `gallery`, schema v6): each picture the app showed, as its encoded PNG
// Blob (a 512² RGBA array is 1 MiB; its PNG a fraction of that, and the Blob is also the file a download hands out)
// with what made it — settings, model, backend, profile, time — and what the safety layers decided. Nothing here
// leaves the device. Records are read through a shape check, so a damaged one is skipped rather than shown broken.
// Also the AUTOMATIC1111-style `parameters` text written into each PNG (png-text.ts), so the file names its settings.

import { del, get, set } from 'idb-keyval';
import { SCHEDULER_NAMES, type Backend, type GenerateParams, type SchedulerName } from '../shared/types';
import { guarded, keyvalStore, transact } from './db';
import { GALLERY_BY_PROFILE, STORES } from './stores';

/** What the generate form needs to make the same picture again (the person's own request, not the steered one). */
export type GallerySettings = Pick<GenerateParams, 'prompt' | 'seed' | 'steps' | 'scheduler' | 'guidance' | 'width' | 'height'> & {
  /** As typed ('' for none). The steering's own negative prompt is not in it: it is derived from the profile anew. */
  negativePrompt: string;
};

export interface GalleryModel {
  id: string;
  name: string;
  version: string;
  /** The U-Net's weight variant (fp32 / fp16 / …), the one that shapes the picture; '' when unknown. */
  variant: string;
  backend: Backend;
}

/** One intervention of the safety layers on this picture (a blocked one has no picture, so never appears here). */
export interface GalleryIntervention {
  stage: 'text' | 'image' | 'q16';
  category: string;
  action: string;
}

export interface GallerySafety {
  /** The prompt guard's decision (lexicon and semantic check together); 'none': no profile, so no guard ran. */
  decision: 'allowed' | 'steered' | 'none';
  interventions: GalleryIntervention[];
  /** The engine's semantic prompt check, when it ran. */
  semantic?: 'allowed' | 'steered';
  /** The image checker, when it ran: `blurred` means the stored picture is the blurred one (the only one kept). */
  imageCheck?: { flagged: boolean; blurred: boolean };
}

export interface GalleryEntry {
  id: string;
  /** When it was made (epoch ms). */
  createdAt: number;
  /** The profile id, '' for "no profile": the index key (IndexedDB cannot index undefined). */
  profileKey: string;
  /** The profile as it was then (a later rename or deletion does not rewrite the past). */
  profile: { id?: string; name: string; protected: boolean };
  settings: GallerySettings;
  model: GalleryModel;
  safety: GallerySafety;
  /** The PNG file, `parameters` text included. */
  png: Blob;
  /** png.size, kept so the storage total needs no Blob reads. */
  bytes: number;
}

/** Which pictures a reader may see: every profile's, or one profile's (its profileKey). */
export type GalleryScope = 'all' | { profileKey: string };

const store = keyvalStore(STORES.gallery);

export const profileKeyOf = (profileId: string | undefined): string => profileId ?? '';

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
const str = (v: unknown) => typeof v === 'string';

/** The shape check every record passes on the way in and out. */
export function isGalleryEntry(v: unknown): v is GalleryEntry {
  if (!isObj(v) || !str(v.id) || !num(v.createdAt) || !str(v.profileKey) || !num(v.bytes)) return false;
  const { profile, settings: s, model: m, safety } = v;
  if (!isObj(profile) || !str(profile.name) || typeof profile.protected !== 'boolean' || (profile.id !== undefined && !str(profile.id))) return false;
  if (!isObj(s) || !str(s.prompt) || !str(s.negativePrompt) || ![s.seed, s.steps, s.guidance, s.width, s.height].every(num)) return false;
  if (!SCHEDULER_NAMES.includes(s.scheduler as SchedulerName)) return false;
  if (!isObj(m) || ![m.id, m.name, m.version, m.variant, m.backend].every(str)) return false;
  if (!isObj(safety) || !['allowed', 'steered', 'none'].includes(safety.decision as string) || !Array.isArray(safety.interventions)) return false;
  return typeof Blob !== 'undefined' && v.png instanceof Blob;
}

/** Stores one picture (a new id; an existing id is replaced). */
export async function saveGalleryEntry(entry: GalleryEntry): Promise<void> {
  if (!isGalleryEntry(entry)) throw new Error('not a gallery entry (a field is missing or of the wrong kind)');
  await guarded('saving the picture in the gallery', () => set(entry.id, entry, store));
}

/** The pictures `scope` may see, newest first (damaged records skipped). */
export async function listGallery(scope: GalleryScope): Promise<GalleryEntry[]> {
  const rows = await guarded('reading the gallery', () =>
    transact([STORES.gallery], 'readonly', (tx) => {
      const s = tx.objectStore(STORES.gallery);
      const req = scope === 'all' ? s.getAll() : s.index(GALLERY_BY_PROFILE).getAll(IDBKeyRange.only(scope.profileKey));
      return () => req.result as unknown[];
    }),
  );
  return rows.filter(isGalleryEntry).sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id));
}

export async function getGalleryEntry(id: string): Promise<GalleryEntry | undefined> {
  const v = await guarded('reading the gallery', () => get<unknown>(id, store));
  return isGalleryEntry(v) ? v : undefined;
}

export async function deleteGalleryEntry(id: string): Promise<void> {
  await guarded('deleting the picture', () => del(id, store));
}

/** The bytes `entries` take (the PNG files; the small metadata beside them is not counted). */
/**
 * Within a profile's deletion transaction (profiles.ts deleteProfile): deletes every picture kept for it — a deleted
 * profile's pictures go with it, as its other data does.
 */
export function forgetProfilePictures(tx: IDBTransaction, profileId: string): void {
  const cursor = tx.objectStore(STORES.gallery).index(GALLERY_BY_PROFILE).openKeyCursor(IDBKeyRange.only(profileKeyOf(profileId)));
  cursor.onsuccess = () => {
    const c = cursor.result;
    if (!c) return;
    tx.objectStore(STORES.gallery).delete(c.primaryKey);
    c.continue();
  };
}

export const totalBytes = (entries: readonly GalleryEntry[]): number => entries.reduce((n, e) => n + e.bytes, 0);

/** Our scheduler names → the names AUTOMATIC1111 writes, so tools that read its files recognize the sampler. */
export const A1111_SAMPLER: Record<SchedulerName, string> = {
  ddim: 'DDIM',
  pndm: 'PLMS', // A1111's name for the PNDM/PLMS sampler
  euler: 'Euler',
  'euler-ancestral': 'Euler a',
  'dpmpp-2m': 'DPM++ 2M',
  'dpmpp-2m-karras': 'DPM++ 2M Karras',
  lcm: 'LCM',
};

/** A1111 quotes a value that holds its separators (comma, colon) or a quote, as JSON does. */
const value = (v: string) => (/[,:"\n]/.test(v) ? JSON.stringify(v) : v);

/**
 * The `parameters` text: "<prompt>\nNegative prompt: <neg>\nSteps: N, Sampler: X, CFG scale: G, Seed: S,
 * Size: WxH, Model: id@version". As A1111 does, the negative line is left out when there is none.
 */
export function a1111Parameters(s: GallerySettings, m: Pick<GalleryModel, 'id' | 'version'>): string {
  const lines = [s.prompt];
  if (s.negativePrompt) lines.push(`Negative prompt: ${s.negativePrompt}`);
  const fields: [string, string | number][] = [
    ['Steps', s.steps],
    ['Sampler', A1111_SAMPLER[s.scheduler]],
    ['CFG scale', s.guidance],
    ['Seed', s.seed],
    ['Size', `${s.width}x${s.height}`],
    ['Model', value(`${m.id}@${m.version}`)],
  ];
  lines.push(fields.map(([k, v]) => `${k}: ${v}`).join(', '));
  return lines.join('\n');
}
