// Describing an install record for the page, without touching the network or the store: bytes still to fetch,
// progress, the stored bundle's summary (sizes, encoder share, which files no SHA-256 pins) and the plan shown before
// a download whose files nothing can check (the worker downloads those only when the person agreed).

import { bundleSizes } from '../../../storage/bundles';
import { loadUrlOf, type BundlePlan, type FileProgress, type InstallProgress, type StoredBundle } from '../protocol';
import { encoderPaths, type InstallState } from '../store';

/** Bytes still to fetch (known sizes only). */
export function remainingBytes(s: InstallState): number {
  return s.files.reduce((n, f) => n + (f.done ? 0 : Math.max(0, (f.bytes ?? f.serverBytes ?? 0) - f.offset)), 0);
}

export function progressOf(s: InstallState, live?: { path: string; loaded: number }, bytesPerSec = 0): InstallProgress {
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

export function describeBundle(state: InstallState): StoredBundle {
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
export function planSummary(state: InstallState): BundlePlan {
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
export function needsConsent(state: InstallState, allowUnverified = false): BundlePlan | undefined {
  const plan = planSummary(state);
  return state.status === 'planning' && !plan.verified && !allowUnverified ? plan : undefined;
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
