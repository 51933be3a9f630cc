// Running an install: checks free space first (refuses with the numbers), downloads every unfinished file in turn
// (fetch-file.ts), keeps finished files when storage runs out, and writes the manifest last so a partial bundle never
// loads. Aborting pauses with the state saved; any other failure leaves `status: 'error'` with the reason.

import type { BundleManifest } from '../../../shared/bundle';
import { AppError, toErrorInfo } from '../../../shared/errors';
import type { StoredBundle } from '../protocol';
import { SpeedMeter } from '../resume';
import type { InstallState } from '../store';
import { fmtMB, isQuota, StorageRanOut, type InstallContext, type InstallerEvent } from './context';
import { describeBundle, progressOf, remainingBytes } from './describe';
import { fetchFile } from './fetch-file';

/**
 * Downloads every unfinished file of `state` (saved in the store as it goes) and finishes the bundle.
 * Aborting `signal` pauses (state saved, partial files kept); errors leave `status: 'error'` with the reason.
 * `seen`: the storage numbers the page showed the person (its own storage.estimate()); the smaller free space wins.
 */
export async function runInstall(cx: InstallContext, state: InstallState, emit: (e: InstallerEvent) => void, signal: AbortSignal, seen?: { usage: number; quota: number }): Promise<StoredBundle> {
  const store = cx.store;
  const need = remainingBytes(state);
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
    const t = cx.now();
    if (!force && t - lastEmit < 100) return;
    lastEmit = t;
    const p = progressOf(state, live, speed.bytesPerSec());
    speed.add(t, p.loaded);
    doneBytes = p.loaded;
    emit({ type: 'progress', progress: { ...p, bytesPerSec: speed.bytesPerSec() } });
  };
  progress(undefined, true);
  try {
    for (const f of state.files) {
      if (f.done) continue;
      await fetchFile(cx, state, f, emit, signal, (loaded) => progress({ path: f.path, loaded }));
      progress(undefined, true);
    }
    await finish(cx, state);
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
  return describeBundle(state);
}

/** Writes the final manifest (or model_index.json) — last, so only a complete bundle has one — and marks it done. */
async function finish(cx: InstallContext, state: InstallState): Promise<void> {
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
  await cx.store.writeText(state.key, state.final.path, text);
  state.status = 'complete';
  state.installedAt = cx.now();
  await cx.store.writeState(state);
}
