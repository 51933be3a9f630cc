// The index of model bundles stored in this browser (schema v4, store `bundles`): one record per bundle version,
// keyed by its storage key `<id>@<version>` — the name of its OPFS folder (`bundles/<key>/`), so an update is a new
// key and never mixes files of two versions. The bytes themselves live in OPFS (engine/bundles); this store says
// which bundles exist, where they came from, their files with sizes, and whether they are complete or partial —
// including what a partial download needs to resume (offsets, hash states, validators), written at each checkpoint.
// A put is one IndexedDB transaction: a write cut short (quota, a closed tab) leaves the previous record whole.

import { del, get, set, values } from 'idb-keyval';
import { AppError } from '../shared/errors';
import { guarded, keyvalStore } from './db';
import { STORES } from './stores';

/** Where a stored bundle came from. */
export type BundleSourceRecord =
  /** Downloaded from a bundle folder URL (psa-web manifest or Optimum export; see `layout`). */
  | { kind: 'url'; url: string }
  /** Copied from a folder the person picked (its name; the files themselves cannot be reached again). */
  | { kind: 'import'; folderName: string }
  /** The app's built-in demo bundle, copied into storage from its own URL. */
  | { kind: 'demo'; url: string };

/** One file of a bundle: its expected size/hash and what is stored of it (the resume point while partial). */
export interface BundleFileRecord {
  path: string;
  /** Expected size and hash from the manifest (absent for sources that do not say, e.g. Optimum exports). */
  bytes?: number;
  sha256?: string;
  /** Bytes stored and covered by `hashState`. */
  offset: number;
  /** SHA-256 state after `offset` bytes (hash-wasm, base64). */
  hashState?: string;
  /** Validator of the server's copy a partial file came from (ETag, else Last-Modified), for If-Range. */
  validator?: string;
  /** Size learnt from the server when the manifest had none. */
  serverBytes?: number;
  done: boolean;
  /** SHA-256 of the finished file as computed while storing it. */
  actualSha256?: string;
  /** Hash failures so far (the file is fetched again after each). */
  corruptCount?: number;
  /**
   * Deleted on purpose to save space (the profile encoder's files, see engine/bundles/store.ts removeEncoder): not
   * done and offset 0, so a resume fetches it again, yet the bundle stays 'complete' — generation does not need it.
   */
  removed?: boolean;
}

/** What a partial bundle is doing: downloading (or was, when the tab closed), paused, failed, or an import awaiting its check. */
export type BundlePhase = 'planning' | 'downloading' | 'paused' | 'error' | 'checking';

export interface BundleRecord {
  /** `<id>@<version>`: the OPFS folder under bundles/. */
  key: string;
  id: string;
  version: string;
  name: string;
  source: BundleSourceRecord;
  /** 'manifest': a psa-web bundle (manifest.json); 'optimum': a diffusers/Optimum export (model_index.json). */
  layout: 'manifest' | 'optimum';
  /** The variant stored per model role ('unet' → 'fp32', …). */
  variants: Record<string, string>;
  licenseName?: string;
  /** 'complete': every file verified and the loadable description written; anything else is 'partial'. */
  state: 'partial' | 'complete';
  /** Set while partial. */
  phase?: BundlePhase;
  /** Why the last attempt stopped (while partial). */
  error?: { code: string; message: string };
  files: BundleFileRecord[];
  /** Sum of the files' expected sizes (known ones), and of the bytes stored now (derived from `files` on put). */
  totalBytes: number;
  storedBytes: number;
  /** The bundle's description (manifest.json / model_index.json), written into its folder last. */
  final: { path: string; text: string };
  createdAt: number;
  installedAt?: number;
}

const store = keyvalStore(STORES.bundles);

/** Path-safe id/version, the rule checkManifest applies to manifests (no slash, no `@`: the key stays one folder name). */
const SAFE_ID = /^[A-Za-z0-9._-]{1,100}$/;
const SAFE_VERSION = /^[A-Za-z0-9._+-]{1,50}$/;

export const bundleStorageKey = (id: string, version: string): string => `${id}@${version}`;

const fileBytes = (f: BundleFileRecord): number => f.bytes ?? f.serverBytes ?? 0;

/** Sizes derived from the file list: expected total and bytes kept (a finished file counts whole, a partial one up to its offset). */
export function bundleSizes(files: readonly BundleFileRecord[]): { totalBytes: number; storedBytes: number } {
  let totalBytes = 0;
  let storedBytes = 0;
  for (const f of files) {
    totalBytes += fileBytes(f);
    storedBytes += f.done ? fileBytes(f) : f.offset;
  }
  return { totalBytes, storedBytes };
}

/** The problems of a record (empty when it can be stored), each naming the field. */
export function checkBundleRecord(r: unknown): string[] {
  if (typeof r !== 'object' || r === null) return ['a bundle record must be an object'];
  const x = r as Partial<BundleRecord>;
  const p: string[] = [];
  if (typeof x.id !== 'string' || !SAFE_ID.test(x.id)) p.push(`id ${JSON.stringify(x.id)} is not a path-safe name (letters, digits, . _ -)`);
  if (typeof x.version !== 'string' || !SAFE_VERSION.test(x.version)) p.push(`version ${JSON.stringify(x.version)} is not a path-safe name`);
  if (typeof x.id === 'string' && typeof x.version === 'string' && x.key !== bundleStorageKey(x.id, x.version)) {
    p.push(`key ${JSON.stringify(x.key)} must be "${bundleStorageKey(x.id, x.version)}" (<id>@<version>, one folder per version)`);
  }
  const s = x.source as Partial<BundleSourceRecord & { url: unknown; folderName: unknown }> | undefined;
  if (!s || !['url', 'import', 'demo'].includes(s.kind as string)) p.push(`source.kind must be url, import or demo`);
  else if (s.kind === 'import' ? typeof s.folderName !== 'string' || !s.folderName : typeof s.url !== 'string' || !s.url) {
    p.push(s.kind === 'import' ? 'an imported bundle needs source.folderName' : `a ${s.kind} bundle needs source.url`);
  }
  if (x.state !== 'partial' && x.state !== 'complete') p.push(`state must be partial or complete, got ${JSON.stringify(x.state)}`);
  if (x.state === 'complete' && x.phase !== undefined) p.push('a complete bundle has no phase');
  if (x.state === 'partial' && !['planning', 'downloading', 'paused', 'error', 'checking'].includes(x.phase as string)) p.push(`a partial bundle needs a phase, got ${JSON.stringify(x.phase)}`);
  if (!Array.isArray(x.files) || !x.files.length) p.push('files must list at least one file');
  else {
    x.files.forEach((f, i) => {
      if (typeof f?.path !== 'string' || !f.path || f.path.startsWith('/') || f.path.split('/').some((seg) => seg === '..' || seg === '')) p.push(`files[${i}].path ${JSON.stringify(f?.path)} is not a relative path inside the bundle`);
      if (!Number.isSafeInteger(f?.offset) || f.offset < 0) p.push(`files[${i}].offset must be a byte count`);
      if (typeof f?.done !== 'boolean') p.push(`files[${i}].done must be true or false`);
    });
    if (x.state === 'complete' && x.files.some((f) => !f?.done && !f?.removed)) p.push('a complete bundle has a file that is not done');
  }
  if (typeof x.final?.path !== 'string' || typeof x.final?.text !== 'string') p.push('final must hold the path and text of the bundle description');
  if (typeof x.createdAt !== 'number') p.push('createdAt must be a time (ms)');
  return p;
}

/** The record stored under `key`, or undefined. */
export async function getBundleRecord(key: string): Promise<BundleRecord | undefined> {
  return guarded('reading the installed-bundles index', () => get<BundleRecord>(key, store));
}

/** Every record, oldest first. */
export async function listBundleRecords(): Promise<BundleRecord[]> {
  const all = await guarded('reading the installed-bundles index', () => values<BundleRecord>(store));
  return all.sort((a, b) => a.createdAt - b.createdAt);
}

/**
 * Stores a record (replacing the one under its key) with its sizes derived from its files; a malformed record is
 * refused with the problems named. Returns what was stored.
 */
export async function putBundleRecord(record: BundleRecord): Promise<BundleRecord> {
  const problems = checkBundleRecord(record);
  if (problems.length) throw new AppError('INVALID_REQUEST', `bundle record ${String((record as Partial<BundleRecord>)?.key)} was not saved: ${problems.join('; ')}`);
  const stored: BundleRecord = { ...record, ...bundleSizes(record.files) };
  await guarded(`saving the record of ${record.key}`, () => set(record.key, stored, store));
  return stored;
}

/** Deletes the record of one key (nothing else); absent is fine. */
export async function removeBundleRecord(key: string): Promise<void> {
  await guarded(`removing the record of ${key}`, () => del(key, store));
}
