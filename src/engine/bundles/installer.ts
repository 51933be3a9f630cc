// The download manager's core, independent of the worker and of OPFS (a BundleStore and a fetch are injected, so
// the Node tests drive it against scripts/serve-bundle.ts with an in-memory store):
// - plan: a psa-web bundle URL (manifest.json) or an Optimum/diffusers export (model_index.json + standard names,
//   probed with HEAD) → the files this device needs (only the variant it can run), with sizes and hashes;
// - run: checks free space first (refuses with the numbers), streams each file into the store chunk by chunk while
//   hashing it incrementally (hash-wasm SHA-256, state saved at checkpoints), resumes with Range + If-Range after a
//   network error / pause / reload, retries with backoff, deletes and refetches a file that fails its hash (only that
//   one), keeps finished files when storage runs out, and writes the manifest last so a partial bundle never loads.
// Every URL is the bundle folder + a checked relative path (shared/bundle bundleFileUrl) and every answer redirected
// out of that folder is refused (BUNDLE_REDIRECT_REFUSED). A plan says which files nothing pins with a SHA-256
// (planSummary: Optimum exports, format-1 extras); the worker downloads those only when the person agreed.

import { createSHA256, type IHasher } from 'hash-wasm';
import {
  bundleFileUrl, checkManifest, chooseVariants, migrateManifest, restrictVariants, type BundleManifest, type BundleManifestV1, type DeviceFeature, type Variant,
} from '../../shared/bundle';
import { AppError, toErrorInfo } from '../../shared/errors';
import { refuseRedirectAway } from '../bundle-reader';
import { idFromUrl, optimumCandidates, tokenizerProblem } from './optimum-files';
import { bundleKey, loadUrlOf, type BundlePlan, type FileProgress, type InstallProgress, type StoredBundle } from './protocol';
import {
  backoffMs, fromBase64, newFileState, rangeHeaders, readAnswer, resumePoint, SpeedMeter, toBase64, type FileState,
} from './resume';
import { encoderPaths, type BundleStore, type FileSink, type InstallState } from './store';
import { bundleSizes } from '../../storage/bundles';

export interface DeviceChoice {
  /** Variant preference, best first (engine/models variantOrder for the backend the engine will use). */
  order: readonly Variant[];
  features: ReadonlySet<DeviceFeature>;
}

export type InstallerEvent =
  | { type: 'progress'; progress: InstallProgress }
  | { type: 'corrupt'; key: string; path: string; expected: string; got: string };

export interface InstallerOptions {
  store: BundleStore;
  fetch?: typeof fetch;
  /** Checkpoint (flush + save hash state) at least every this many bytes (default 4 MiB). */
  checkpointBytes?: number;
  /** Network failures in a row before giving up (default 5). */
  maxRetries?: number;
  /** Waits between retries (tests shorten it). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  now?: () => number;
}

const MiB = 1024 * 1024;
export const fmtMB = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

const abortableSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

/** The installer's own "storage ran out; N finished files kept" error (never wrapped a second time). */
class StorageRanOut extends AppError {
  constructor(message: string) {
    super('STORAGE_FULL', message);
  }
}

/** A quota failure from a file write (DOMException) or from saving the record in the index (coded STORAGE_FULL). */
const isQuota = (e: unknown) => {
  if (e instanceof StorageRanOut) return false;
  if (e instanceof AppError) return e.code === 'STORAGE_FULL';
  return e instanceof DOMException ? e.name === 'QuotaExceededError' : /QuotaExceeded|quota/i.test(String((e as Error)?.name ?? e));
};

export class Installer {
  private fetch: typeof fetch;
  private checkpointBytes: number;
  private maxRetries: number;
  private sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private now: () => number;

  constructor(private o: InstallerOptions) {
    this.fetch = o.fetch ?? ((...a) => fetch(...a));
    this.checkpointBytes = o.checkpointBytes ?? 4 * MiB;
    this.maxRetries = o.maxRetries ?? 5;
    this.sleep = o.sleep ?? abortableSleep;
    this.now = o.now ?? (() => Date.now());
  }

  // ---- planning -------------------------------------------------------------------------------------------

  /** Reads the source and returns a fresh install record (or the stored one when that version is already known). */
  async plan(url: string, device: DeviceChoice, wish?: Variant, kind: 'url' | 'demo' = 'url'): Promise<InstallState> {
    const base = url.endsWith('/') ? url : `${url}/`;
    const source = { kind, url: base } as const;
    let res: Response;
    try {
      res = await this.fetch(bundleFileUrl(base, 'manifest.json'), { cache: 'no-store' });
    } catch (e) {
      // An AppError already says why (BLOCKED_BY_POLICY from the worker's fetch): kept, not hidden behind "not found".
      if (e instanceof AppError) throw e;
      throw new AppError('BUNDLE_NOT_FOUND', `could not reach ${base}: ${(e as Error).message}`);
    }
    refuseRedirectAway(res, base, 'manifest.json');
    const isJson = (r: Response) => r.ok && !(r.headers.get('content-type') ?? '').includes('text/html');
    if (isJson(res)) return this.planManifest(source, await res.text(), device, wish);
    const idx = await this.fetch(bundleFileUrl(base, 'model_index.json'), { cache: 'no-store' }).catch(() => undefined);
    if (idx) refuseRedirectAway(idx, base, 'model_index.json');
    if (idx && isJson(idx)) return this.planOptimum(source, await idx.text());
    throw new AppError('BUNDLE_NOT_FOUND', `no bundle at ${base}: neither manifest.json nor model_index.json is there (HTTP ${res.status})`);
  }

  private async known(key: string): Promise<InstallState | undefined> {
    return this.o.store.readState(key);
  }

  private async planManifest(source: { kind: 'url' | 'demo'; url: string }, text: string, device: DeviceChoice, wish?: Variant): Promise<InstallState> {
    const base = source.url;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new AppError('BUNDLE_INVALID', `manifest.json at ${base} is not valid JSON (${(e as Error).message})`);
    }
    const problems = checkManifest(raw);
    if (problems.length) throw new AppError('BUNDLE_INVALID', `manifest.json at ${base}: ${problems.join('; ')}`);
    const m = migrateManifest(raw as BundleManifest | BundleManifestV1);
    const key = bundleKey(m.id, m.version);
    const prior = await this.known(key);
    // Same id@version already stored (partly or whole): continue it; If-Range catches a host whose copy changed.
    if (prior) {
      // A complete bundle whose profile encoder the user removed: "download again" fetches just those files (not done).
      const refetch = prior.status === 'complete' && prior.files.some((f) => f.removed);
      return { ...prior, source, ...(refetch ? { status: 'paused' as const } : {}) };
    }
    let chosen;
    try {
      chosen = chooseVariants(m, device.order, device.features);
    } catch (e) {
      throw new AppError('BACKEND_INIT_FAILED', `${m.name}: ${(e as Error).message}`);
    }
    if (wish && m.components.unet.variants[wish]) chosen.unet = wish;
    const stored = restrictVariants(m, chosen);
    let files = stored.files.map((f) => newFileState(f.path, f.bytes, f.sha256));
    if ((raw as { formatVersion: number }).formatVersion === 1) files = await this.withStandardExtras(base, files);
    return {
      key, id: m.id, version: m.version, name: m.name,
      source, layout: 'manifest', variants: chosen, licenseName: m.license.name,
      status: 'planning', files,
      final: { path: 'manifest.json', text: JSON.stringify(stored, null, 1) },
      createdAt: this.now(),
    };
  }

  /** Format-1 manifests list only models: add the tokenizer/config files a host has under the standard names. */
  private async withStandardExtras(base: string, files: FileState[]): Promise<FileState[]> {
    const have = new Set(files.map((f) => f.path));
    const extra = ['tokenizer/tokenizer.json', 'tokenizer/tokenizer_config.json', 'tokenizer/special_tokens_map.json', 'tokenizer/vocab.json', 'tokenizer/merges.txt', 'scheduler/scheduler_config.json', 'model_index.json'];
    for (const path of extra) {
      if (have.has(path)) continue;
      const size = await this.head(base, path);
      if (size !== undefined) files.push(newFileState(path, size > 0 ? size : undefined));
    }
    return files;
  }

  /**
   * Content-Length of a file on the host (0 when not said), or undefined when it is not there. A redirect out of the
   * bundle's folder is an error, not "not there": an optional file would otherwise be skipped without a word.
   */
  private async head(base: string, path: string): Promise<number | undefined> {
    let r: Response;
    try {
      r = await this.fetch(bundleFileUrl(base, path), { method: 'HEAD', cache: 'no-store' });
    } catch {
      return undefined;
    }
    refuseRedirectAway(r, base, path);
    if (!r.ok || (r.headers.get('content-type') ?? '').includes('text/html')) return undefined;
    return Number(r.headers.get('content-length') ?? 0);
  }

  private async planOptimum(source: { kind: 'url' | 'demo'; url: string }, indexText: string): Promise<InstallState> {
    const base = source.url;
    let index: Record<string, unknown>;
    try {
      index = JSON.parse(indexText) as Record<string, unknown>;
    } catch (e) {
      throw new AppError('BUNDLE_INVALID', `model_index.json at ${base} is not valid JSON (${(e as Error).message})`);
    }
    let candidates;
    try {
      candidates = optimumCandidates(index);
    } catch (e) {
      throw new AppError('BUNDLE_INVALID', `${base}: ${(e as Error).message}`);
    }
    const hasher = await createSHA256();
    hasher.update(indexText);
    const version = `sha-${hasher.digest('hex').slice(0, 12)}`;
    const id = idFromUrl(base);
    const key = bundleKey(id, version);
    const prior = await this.known(key);
    if (prior) return prior;
    const files: FileState[] = [];
    const present = new Set<string>();
    for (const c of candidates) {
      if (c.path === 'model_index.json') continue;
      const size = await this.head(base, c.path);
      if (size === undefined) {
        if (c.required) throw new AppError('MODEL_FILE_MISSING', `${c.path} is missing from the export at ${base} (model_index.json lists ${c.folder})`);
        continue;
      }
      present.add(c.path);
      files.push(newFileState(c.path, size > 0 ? size : undefined));
    }
    const tok = tokenizerProblem(present);
    if (tok) throw new AppError('MODEL_FILE_MISSING', `${base}: ${tok}`);
    return {
      key, id, version, name: `${String(index._class_name)} from ${new URL(base).host}`,
      source, layout: 'optimum', variants: { text_encoder: 'fp32', unet: 'fp32', vae_decoder: 'fp32' },
      status: 'planning', files,
      final: { path: 'model_index.json', text: indexText },
      createdAt: this.now(),
    };
  }

  // ---- running --------------------------------------------------------------------------------------------

  /** Bytes still to fetch (known sizes only). */
  static remaining(s: InstallState): number {
    return s.files.reduce((n, f) => n + (f.done ? 0 : Math.max(0, (f.bytes ?? f.serverBytes ?? 0) - f.offset)), 0);
  }

  static progressOf(s: InstallState, live?: { path: string; loaded: number }, bytesPerSec = 0): InstallProgress {
    const files: FileProgress[] = s.files.map((f) => {
      const total = f.bytes ?? f.serverBytes ?? 0;
      const loaded = f.done ? total : live?.path === f.path ? live.loaded : f.offset;
      return { path: f.path, loaded, total, status: f.done ? 'done' : live?.path === f.path ? 'downloading' : (f.corruptCount ? 'corrupt' : 'waiting') };
    });
    const loaded = files.reduce((n, f) => n + f.loaded, 0);
    const total = files.reduce((n, f) => n + f.total, 0);
    const left = total - loaded;
    return { key: s.key, status: s.status, files, loaded, total, bytesPerSec, etaSec: bytesPerSec > 0 && left >= 0 ? left / bytesPerSec : undefined, error: s.error };
  }

  /**
   * Downloads every unfinished file of `state` (saved in the store as it goes) and finishes the bundle.
   * Aborting `signal` pauses (state saved, partial files kept); errors leave `status: 'error'` with the reason.
   */
  async run(state: InstallState, emit: (e: InstallerEvent) => void, signal: AbortSignal, seen?: { usage: number; quota: number }): Promise<StoredBundle> {
    const store = this.o.store;
    const need = Installer.remaining(state);
    // `seen`: the numbers the page showed the person (its own storage.estimate()); the smaller free space wins.
    const own = await store.estimate();
    const est = seen && seen.quota - seen.usage < own.quota - own.usage ? seen : own;
    const free = Math.max(0, est.quota - est.usage);
    if (need > free) {
      throw new AppError('STORAGE_FULL', `${state.name} needs ${fmtMB(need)} more, but only ${fmtMB(free)} are free for this site (quota ${fmtMB(est.quota)}, used ${fmtMB(est.usage)}); nothing was downloaded`);
    }
    state.status = 'downloading';
    state.error = undefined;
    await store.writeState(state);
    const speed = new SpeedMeter();
    let lastEmit = 0;
    let doneBytes = 0;
    const progress = (live?: { path: string; loaded: number }, force = false) => {
      const t = this.now();
      if (!force && t - lastEmit < 100) return;
      lastEmit = t;
      const p = Installer.progressOf(state, live, speed.bytesPerSec());
      speed.add(t, p.loaded);
      doneBytes = p.loaded;
      emit({ type: 'progress', progress: { ...p, bytesPerSec: speed.bytesPerSec() } });
    };
    progress(undefined, true);
    try {
      for (const f of state.files) {
        if (f.done) continue;
        await this.fetchFile(state, f, emit, signal, (loaded) => progress({ path: f.path, loaded }));
        progress(undefined, true);
      }
      await this.finish(state);
    } catch (e) {
      if (signal.aborted) {
        state.status = 'paused';
        await store.writeState(state);
        progress(undefined, true);
        throw new AppError('CANCELLED', `download of ${state.name} paused at ${fmtMB(doneBytes)}`);
      }
      if (isQuota(e)) {
        // Outside a file write (e.g. saving the download record): same meaning, same promise.
        const kept = state.files.filter((x) => x.done).length;
        e = new StorageRanOut(`storage ran out while saving the download of ${state.name}; the ${kept} finished file${kept === 1 ? ' is' : 's are'} kept — free some space, then resume`);
      }
      state.status = 'error';
      state.error = toErrorInfo(e);
      await store.writeState(state).catch(() => undefined);
      progress(undefined, true);
      throw e;
    }
    progress(undefined, true);
    return this.describe(state);
  }

  private async finish(state: InstallState): Promise<void> {
    let text = state.final.text;
    if (state.layout === 'manifest') {
      // Fill sizes/hashes the source did not give (format-1 manifests) from what was verified while downloading.
      const m = JSON.parse(text) as BundleManifest;
      const byPath = new Map(state.files.map((f) => [f.path, f]));
      const inventory = state.files.map((f) => ({ path: f.path, bytes: f.bytes ?? f.serverBytes ?? 0, sha256: f.actualSha256 ?? f.sha256 }));
      const fill = (ref: { path: string; bytes?: number; sha256?: string }) => {
        const f = byPath.get(ref.path);
        if (f) Object.assign(ref, { bytes: f.bytes ?? f.serverBytes, sha256: f.actualSha256 ?? f.sha256 });
      };
      for (const entry of Object.values(m.components)) for (const file of Object.values(entry?.variants ?? {})) {
        fill(file!);
        for (const x of file!.externalData ?? []) fill(x);
      }
      if (m.psa?.embeddingTemplate) fill(m.psa.embeddingTemplate);
      text = JSON.stringify({ ...m, files: inventory }, null, 1);
    }
    await this.o.store.writeText(state.key, state.final.path, text);
    state.status = 'complete';
    state.installedAt = this.now();
    await this.o.store.writeState(state);
  }

  describe(state: InstallState): StoredBundle {
    const { totalBytes, storedBytes: bytes } = bundleSizes(state.files);
    const files = state.files.map((f) => {
      const size = f.bytes ?? f.serverBytes ?? 0;
      return { path: f.path, bytes: size, stored: f.done ? size : f.offset, done: f.done };
    });
    return {
      key: state.key, id: state.id, version: state.version, name: state.name, source: state.source, layout: state.layout,
      state: state.status === 'complete' ? 'complete' : 'partial', status: state.status, bytes, totalBytes, fileCount: state.files.length, files, variants: state.variants, licenseName: state.licenseName,
      loadUrl: loadUrlOf(state.key), installedAt: state.installedAt, ...encoderSummary(state), ...verification(state),
    };
  }

  /** What a fresh plan will fetch and which of it nothing can check (shown before the first byte is downloaded). */
  static summary(state: InstallState): BundlePlan {
    const { totalBytes } = bundleSizes(state.files);
    return {
      key: state.key, name: state.name, version: state.version, layout: state.layout,
      fileCount: state.files.length, totalBytes, ...verification(state),
    };
  }

  /**
   * The plan to show before downloading, when `state` is a fresh plan ('planning': nothing stored yet) with files no
   * hash pins and the person has not agreed yet; undefined when the download may go ahead. A stored record (paused,
   * failed, encoder removed) was agreed to when it started, so Resume does not ask again.
   */
  static needsConsent(state: InstallState, allowUnverified = false): BundlePlan | undefined {
    const plan = Installer.summary(state);
    return state.status === 'planning' && !plan.verified && !allowUnverified ? plan : undefined;
  }

  /** One file: resume point → ranged fetch → stream into the sink while hashing → verify; retries network errors. */
  private async fetchFile(state: InstallState, f: FileState, emit: (e: InstallerEvent) => void, signal: AbortSignal, onBytes: (loaded: number) => void): Promise<void> {
    const store = this.o.store;
    if (state.source.kind === 'import') throw new AppError('INVALID_REQUEST', `${state.name} was imported from the folder "${state.source.folderName}": import that folder again to finish it`);
    const url = bundleFileUrl(state.source.url, f.path);
    let failures = 0;
    for (;;) {
      signal.throwIfAborted();
      const sink = await store.open(state.key, f.path);
      const hasher = await createSHA256();
      let result: 'done' | 'retry' | 'corrupt' = 'retry';
      let reason = '';
      try {
        const rp = resumePoint(f, sink.getSize());
        if (rp.truncateTo !== undefined) sink.truncate(rp.truncateTo);
        if (rp.resetHash) {
          f.offset = 0;
          f.hashState = undefined;
          hasher.init();
        } else hasher.load(fromBase64(f.hashState!));
        const outcome = await this.stream(state, f, url, sink, hasher, signal, onBytes);
        if (outcome.kind === 'retry') reason = outcome.reason;
        else {
          const got = hasher.digest('hex');
          sink.flush();
          const onDisk = sink.getSize();
          if (onDisk !== f.offset) throw new AppError('MODEL_FILE_CORRUPT', `${f.path}: ${onDisk} bytes are stored but ${f.offset} were written (a storage fault)`);
          if (f.sha256 && got !== f.sha256) {
            result = 'corrupt';
            emit({ type: 'corrupt', key: state.key, path: f.path, expected: f.sha256, got });
            f.corruptCount = (f.corruptCount ?? 0) + 1;
            sink.truncate(0);
            f.offset = 0;
            f.hashState = undefined;
            f.validator = undefined;
            if (f.corruptCount >= 3) throw new AppError('MODEL_FILE_CORRUPT', `${f.path} failed its SHA-256 check ${f.corruptCount} times (expected ${f.sha256}, got ${got}); the host serves a different file than the manifest says`);
          } else {
            result = 'done';
            f.done = true;
            delete f.removed;
            f.actualSha256 = got;
            f.hashState = undefined;
          }
        }
        sink.flush();
      } catch (e) {
        if (isQuota(e)) {
          const kept = state.files.filter((x) => x.done).length;
          throw new StorageRanOut(`storage ran out while writing ${f.path} (${fmtMB(f.offset)} of ${fmtMB(f.bytes ?? f.serverBytes ?? 0)}); the ${kept} finished file${kept === 1 ? ' is' : 's are'} kept — free some space, then resume`);
        }
        if (signal.aborted || e instanceof AppError) throw e;
        reason = (e as Error)?.message ?? String(e);
      } finally {
        sink.close();
        await store.writeState(state);
      }
      if (result === 'done') return;
      if (result === 'corrupt') continue;
      failures++;
      if (failures > this.maxRetries) {
        throw new AppError('DOWNLOAD_FAILED', `${f.path}: the download failed ${failures} times in a row (last: ${reason}); ${fmtMB(f.offset)} are kept and the download resumes from there`);
      }
      await this.sleep(backoffMs(failures), signal);
    }
  }

  /**
   * Streams the rest of a file into the sink. Returns 'complete' when every byte is in, or 'retry' (network trouble;
   * the checkpoint in `f` covers exactly what was written and hashed).
   */
  private async stream(state: InstallState, f: FileState, url: string, sink: FileSink, hasher: IHasher, signal: AbortSignal, onBytes: (n: number) => void): Promise<{ kind: 'complete' } | { kind: 'retry'; reason: string }> {
    let from = f.offset;
    const expected = f.bytes ?? f.serverBytes;
    const res = await this.fetch(url, { headers: rangeHeaders(f, from), signal, cache: 'no-store' });
    if (state.source.kind !== 'import') refuseRedirectAway(res, state.source.url, f.path);
    const ans = readAnswer(from, res.status, res.headers, expected);
    if (ans.kind === 'retry') return { kind: 'retry', reason: `${ans.reason} for ${f.path}` };
    if (ans.kind === 'fail') throw new AppError('DOWNLOAD_FAILED', `${f.path} could not be downloaded from ${url}: ${ans.reason}`);
    if (ans.kind === 'complete') return { kind: 'complete' };
    if (ans.start === 0 && from > 0) {
      // The server sent the whole file (no Range support or a new version behind If-Range): start over.
      sink.truncate(0);
      hasher.init();
      from = 0;
      f.offset = 0;
    }
    if (from === 0) f.validator = res.headers.get('etag') ?? res.headers.get('last-modified') ?? undefined;
    if (ans.total !== undefined && f.bytes === undefined) f.serverBytes = ans.total;
    const total = f.bytes ?? f.serverBytes;
    if (!res.body) throw new AppError('DOWNLOAD_FAILED', `${f.path}: the server sent no body`);
    const next = bodyChunks(res.body);
    let offset = from;
    let sinceCheckpoint = 0;
    let lastCheckpoint = this.now();
    const checkpoint = async () => {
      sink.flush();
      f.offset = offset;
      f.hashState = toBase64(hasher.save());
      sinceCheckpoint = 0;
      lastCheckpoint = this.now();
      await this.o.store.writeState(state);
    };
    try {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await next();
        } catch (e) {
          if (signal.aborted) throw e;
          await checkpoint();
          return { kind: 'retry', reason: `connection lost in ${f.path} at ${offset} bytes (${(e as Error).message})` };
        }
        if (chunk.done) break;
        const v = chunk.value;
        if (total !== undefined && offset + v.length > total) {
          // Longer than promised: what is there cannot be the right file; the hash check decides after a refetch.
          throw new AppError('MODEL_FILE_CORRUPT', `${f.path}: the host sent more than the ${total} bytes expected`);
        }
        sink.write(v, { at: offset });
        hasher.update(v);
        offset += v.length;
        sinceCheckpoint += v.length;
        onBytes(offset);
        if (sinceCheckpoint >= this.checkpointBytes || this.now() - lastCheckpoint > 1000) await checkpoint();
      }
    } catch (e) {
      // Paused or storage full: save what is consistent (written == hashed) before leaving.
      if (signal.aborted || isQuota(e)) await checkpoint().catch(() => undefined);
      throw e;
    }
    await checkpoint();
    if (total !== undefined && offset < total) return { kind: 'retry', reason: `${f.path} ended at ${offset} of ${total} bytes` };
    return { kind: 'complete' };
  }
}

/** Bytes read per step of a download (the reused buffer's size). */
const READ_BYTES = 1 << 20;

/**
 * The body's chunks, each valid until the next call. A byte stream (fetch bodies in browsers and Node) is read with a
 * BYOB reader into one reused 1 MiB buffer, so a download leaves no garbage behind: with default reads every chunk is a
 * fresh ArrayBuffer that V8 frees only at its next collection (measured: the download worker's ArrayBuffer memory
 * peaked at 32 MB for a 20 MB file and 54–72 MB for a 200 MB file). Other streams are read as they come.
 */
function bodyChunks(body: ReadableStream<Uint8Array>): () => Promise<ReadableStreamReadResult<Uint8Array>> {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = body.getReader({ mode: 'byob' });
  } catch {
    const reader = body.getReader();
    return () => reader.read();
  }
  let buf = new ArrayBuffer(READ_BYTES);
  return async () => {
    const r = await byob.read(new Uint8Array(buf));
    // The buffer is transferred into the stream and comes back (detached from the old handle) with the bytes.
    if (r.value) buf = r.value.buffer as ArrayBuffer;
    return r.done ? { done: true, value: undefined } : { done: false, value: r.value! };
  };
}

/**
 * Which files of a bundle no SHA-256 pins: files the plan has no hash for (every file of an Optimum export, the
 * tokenizer/scheduler extras of a format-1 manifest, format-1 models listed without one), plus an Optimum export's
 * model_index.json (stored as fetched; nothing names its hash). A psa-web manifest itself is the trusted root.
 */
function verification(state: InstallState): { verified: boolean; unverifiedFiles: string[] } {
  const unverifiedFiles = state.files.filter((f) => !f.sha256).map((f) => f.path);
  if (state.layout === 'optimum') unverifiedFiles.push(state.final.path);
  return { verified: unverifiedFiles.length === 0, unverifiedFiles };
}

/** The profile encoder's share of a bundle (for the Models panel's "Remove profile encoder"). */
function encoderSummary(state: InstallState): { encoder?: StoredBundle['encoder'] } {
  const paths = encoderPaths(state);
  const mine = state.files.filter((f) => paths.has(f.path));
  if (!mine.length) return {};
  return { encoder: { bytes: mine.reduce((n, f) => n + (f.bytes ?? f.serverBytes ?? 0), 0), removed: mine.some((f) => f.removed) } };
}
