// Where a download's bytes and bookkeeping live. Bytes: OPFS in the browser (opfs-store.ts), memory in the Node
// tests — the sink has the shape of OPFS's FileSystemSyncAccessHandle (positioned writes, no whole file in memory).
// Bookkeeping: one record per bundle in the IndexedDB index (storage/bundles.ts), the same in both. Keys are
// `<id>@<version>`; every operation is confined to its key's folder and record, so nothing touches another bundle.

import type { InstallStatus } from './protocol';
import type { FileState } from './resume';
import type { ErrorInfo } from '../../shared/errors';
import { encoderGroupFiles, encoderGroupVariants, type BundleManifest, type ModelFile, type Variant } from '../../shared/bundle';
import { AppError } from '../../shared/errors';
import type { ModelRole } from '../../shared/contract';
import {
  getBundleRecord, listBundleRecords, putBundleRecord, removeBundleRecord, type BundleRecord,
} from '../../storage/bundles';

export interface FileSink {
  getSize(): number;
  truncate(size: number): void;
  /** Stores `data` before returning: the installer reuses its buffer for the next read. */
  write(data: Uint8Array, opts: { at: number }): number;
  flush(): void;
  close(): void;
}

/** A bundle's download record as the installer works on it (saved to the index at each checkpoint). */
// The identity, source and description fields are the index record's own (one definition, src/storage/bundles.ts);
// the installer keeps a richer status, typed variants and its per-file state, and toRecord() derives the rest.
export interface InstallState
  extends Pick<BundleRecord, 'key' | 'id' | 'version' | 'name' | 'source' | 'layout' | 'licenseName' | 'final' | 'createdAt' | 'installedAt'> {
  variants: Partial<Record<ModelRole, Variant>>;
  status: InstallStatus;
  files: FileState[];
  error?: ErrorInfo;
}

/** The index record of an install state: 'complete', or 'partial' with what it is doing as its phase. */
export function toRecord(s: InstallState): BundleRecord {
  const status = s.status;
  const complete = status === 'complete';
  return {
    key: s.key, id: s.id, version: s.version, name: s.name, source: s.source, layout: s.layout,
    variants: { ...s.variants } as Record<string, string>, licenseName: s.licenseName,
    state: complete ? 'complete' : 'partial', phase: status === 'complete' ? undefined : status,
    error: complete ? undefined : s.error, files: s.files, totalBytes: 0, storedBytes: 0, // sizes: derived on put
    final: s.final, createdAt: s.createdAt, installedAt: s.installedAt,
  };
}

export function fromRecord(r: BundleRecord): InstallState {
  return {
    key: r.key, id: r.id, version: r.version, name: r.name, source: r.source, layout: r.layout,
    variants: { ...r.variants } as Partial<Record<ModelRole, Variant>>, licenseName: r.licenseName,
    status: r.state === 'complete' ? 'complete' : (r.phase ?? 'paused'),
    files: r.files.map((f) => ({ ...f })), final: r.final, error: r.error as ErrorInfo | undefined,
    createdAt: r.createdAt, installedAt: r.installedAt,
  };
}

export interface BundleStore {
  /** Opens (creating if needed) a file of a bundle for positioned writes. Close it when done (it may be exclusive). */
  open(key: string, path: string): Promise<FileSink>;
  /** Size of a stored file, or -1 when absent. */
  size(key: string, path: string): Promise<number>;
  writeText(key: string, path: string, text: string): Promise<void>;
  readState(key: string): Promise<InstallState | undefined>;
  writeState(state: InstallState): Promise<void>;
  listStates(): Promise<InstallState[]>;
  /** Deletes the bundle's folder, then its record — only that key's. */
  removeBundle(key: string): Promise<void>;
  /** Deletes only the profile encoder's files of a complete bundle and marks them removed in its record. */
  removeEncoder(key: string): Promise<InstallState>;
  estimate(): Promise<{ usage: number; quota: number }>;
}

/** Records in the IndexedDB index; files wherever the subclass keeps them. */
export abstract class IndexedBundleStore implements BundleStore {
  abstract open(key: string, path: string): Promise<FileSink>;
  abstract size(key: string, path: string): Promise<number>;
  abstract writeText(key: string, path: string, text: string): Promise<void>;
  abstract estimate(): Promise<{ usage: number; quota: number }>;
  /** Deletes the folder of `key` and nothing else (absent is fine). */
  protected abstract removeFiles(key: string): Promise<void>;
  /** Deletes these files of `key`'s folder and nothing else (absent ones are fine). */
  protected abstract removePaths(key: string, paths: readonly string[]): Promise<void>;

  async readState(key: string): Promise<InstallState | undefined> {
    const r = await getBundleRecord(key);
    return r && fromRecord(r);
  }
  async writeState(state: InstallState): Promise<void> {
    await putBundleRecord(toRecord(state));
  }
  async listStates(): Promise<InstallState[]> {
    return (await listBundleRecords()).map(fromRecord);
  }
  async removeBundle(key: string): Promise<void> {
    // Files first: if that fails the record stays and lists the bundle, so Remove can be tried again; the other
    // order could leave files no record points to.
    await this.removeFiles(key);
    await removeBundleRecord(key);
  }
  async removeEncoder(key: string): Promise<InstallState> {
    const state = await this.readState(key);
    if (!state) throw new AppError('BUNDLE_NOT_FOUND', `${key} is not stored on this device`);
    if (state.status !== 'complete') throw new AppError('INVALID_REQUEST', `${state.name} is not completely installed; finish or remove it first`);
    const paths = encoderPaths(state);
    if (!paths.size) throw new AppError('INVALID_REQUEST', `${state.name} has no profile encoder to remove`);
    // The app identifies the encoder (and so finds cached embeddings) by the manifest's sha256s of these files; one
    // without a sha256 would have to be read to be identified, so it cannot be removed.
    const unhashed = [...paths].filter(([, sha]) => !sha).map(([p]) => p);
    if (unhashed.length) throw new AppError('INVALID_REQUEST', `${state.name}'s manifest gives no sha256 for ${unhashed.join(', ')}: the profile encoder could not be identified without it, so it was not removed`);
    const mine = state.files.filter((f) => paths.has(f.path));
    // Record first: were the deletion cut short, the files are marked removed (fetched again on a re-download) rather
    // than listed as done while missing.
    for (const f of mine) Object.assign(f, { done: false, offset: 0, removed: true, hashState: undefined, validator: undefined, actualSha256: undefined });
    await this.writeState(state);
    await this.removePaths(key, mine.map((f) => f.path));
    return state;
  }
}

/**
 * The profile encoder's own files in a psa-web bundle, from its stored manifest: every variant of the
 * `profile_encoder` component with its external data (path → the manifest's sha256), and the layer-group set (encoder_groups.json, the token table,
 * every group and its external data). The tokenizer stays: it is small and part of the encoder's identity, which the
 * app still needs to find cached embeddings. Empty for a bundle without an encoder (or an Optimum export).
 */
export function encoderPaths(state: Pick<InstallState, 'layout' | 'final'>): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  if (state.layout !== 'manifest') return out;
  let m: Partial<BundleManifest>;
  try {
    m = JSON.parse(state.final.text) as Partial<BundleManifest>;
  } catch {
    return out;
  }
  const add = (f: ModelFile | undefined) => {
    if (!f) return;
    out.set(f.path, f.sha256);
    for (const x of f.externalData ?? []) out.set(x.path, x.sha256);
  };
  for (const f of Object.values(m.components?.profile_encoder?.variants ?? {})) add(f);
  // Every variant's set (a stored manifest keeps only the one this device downloaded).
  for (const eg of Object.values(encoderGroupVariants(m.profileEncoderGroups))) for (const f of encoderGroupFiles(eg!)) out.set(f.path, f.sha256);
  return out;
}

/** In-memory files (Node tests): sinks over growable buffers; `quota` limits the total bytes like a browser would. */
export class MemoryStore extends IndexedBundleStore {
  readonly files = new Map<string, Uint8Array>();
  constructor(public quota = Number.MAX_SAFE_INTEGER) {
    super();
  }
  private used(): number {
    let n = 0;
    for (const b of this.files.values()) n += b.length;
    return n;
  }
  async open(key: string, path: string): Promise<FileSink> {
    const id = `${key}/${path}`;
    if (!this.files.has(id)) this.files.set(id, new Uint8Array(0));
    const self = this;
    return {
      getSize: () => self.files.get(id)!.length,
      truncate(size) {
        const old = self.files.get(id)!;
        const b = new Uint8Array(size);
        b.set(old.subarray(0, Math.min(size, old.length)));
        self.files.set(id, b);
      },
      write(data, { at }) {
        const old = self.files.get(id)!;
        const end = Math.max(old.length, at + data.length);
        if (self.used() - old.length + end > self.quota) throw new DOMException('quota exceeded', 'QuotaExceededError');
        const b = end > old.length ? new Uint8Array(end) : old;
        if (b !== old) b.set(old);
        b.set(data, at);
        self.files.set(id, b);
        return data.length;
      },
      flush() {},
      close() {},
    };
  }
  async size(key: string, path: string) {
    return this.files.get(`${key}/${path}`)?.length ?? -1;
  }
  async writeText(key: string, path: string, text: string) {
    this.files.set(`${key}/${path}`, new TextEncoder().encode(text));
  }
  protected async removeFiles(key: string) {
    for (const k of [...this.files.keys()]) if (k.startsWith(`${key}/`)) this.files.delete(k);
  }
  protected async removePaths(key: string, paths: readonly string[]) {
    for (const p of paths) this.files.delete(`${key}/${p}`);
  }
  async estimate() {
    return { usage: this.used(), quota: this.quota };
  }
}
