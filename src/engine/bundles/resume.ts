// Resume bookkeeping of one file download, pure: what is kept of a partial file, which Range to ask for, and how to
// read the server's answer. The hash state saved with an offset covers exactly the bytes before that offset, so a
// partial file longer than its saved offset (bytes written after the last checkpoint) is cut back to the offset.

import type { BundleFileRecord } from '../../storage/bundles';

/** One file's record (storage/bundles.ts): expected size/hash, the checkpointed offset with its hash state, done. */
export type FileState = BundleFileRecord;

export const newFileState = (path: string, bytes?: number, sha256?: string): FileState => ({ path, bytes, sha256, offset: 0, done: false });

/**
 * Where to continue a partial file: `from` bytes are kept (with the saved hash state); `truncate` when storage
 * holds more or fewer bytes than the checkpoint says (fewer: start over, the hash state cannot be used).
 */
export function resumePoint(s: FileState, storedSize: number): { from: number; truncateTo?: number; resetHash: boolean } {
  if (s.done) return { from: storedSize, resetHash: false };
  if (s.offset > 0 && s.hashState && storedSize >= s.offset) {
    return { from: s.offset, truncateTo: storedSize > s.offset ? s.offset : undefined, resetHash: false };
  }
  return { from: 0, truncateTo: storedSize > 0 ? 0 : undefined, resetHash: true };
}

/** Request headers for continuing at `from`. */
export function rangeHeaders(s: FileState, from: number): Record<string, string> {
  if (from <= 0) return {};
  return { Range: `bytes=${from}-`, ...(s.validator ? { 'If-Range': s.validator } : {}) };
}

export type Answer =
  | { kind: 'body'; start: number; total?: number }
  /** 416 at the exact end: nothing left to fetch. */
  | { kind: 'complete' }
  | { kind: 'retry'; reason: string }
  | { kind: 'fail'; reason: string };

/**
 * Reads a response to a (possibly ranged) request for a file. A 200 to a ranged request means the server sent the
 * whole file (no Range support, or If-Range saw a new version): the caller restarts at 0. 5xx / 429 / 408 are
 * retried; other errors fail the file.
 */
export function readAnswer(from: number, status: number, headers: { get(name: string): string | null }, expected?: number): Answer {
  if (status === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(headers.get('content-range') ?? '');
    if (!m) return { kind: 'fail', reason: 'the server answered 206 without a valid Content-Range' };
    const start = Number(m[1]);
    if (start !== from) return { kind: 'fail', reason: `asked for bytes from ${from}, the server sent from ${start}` };
    return { kind: 'body', start, total: m[3] === '*' ? undefined : Number(m[3]) };
  }
  if (status === 200) {
    const len = headers.get('content-length');
    return { kind: 'body', start: 0, total: len !== null ? Number(len) : undefined };
  }
  if (status === 416 && from > 0 && expected !== undefined && from >= expected) return { kind: 'complete' };
  if (status >= 500 || status === 429 || status === 408) return { kind: 'retry', reason: `HTTP ${status}` };
  return { kind: 'fail', reason: `HTTP ${status}` };
}

/** Backoff before retry `attempt` (1-based): 0.5 s doubling, at most 15 s. */
export const backoffMs = (attempt: number): number => Math.min(15_000, 500 * 2 ** (attempt - 1));

/** Rolling speed over the last `windowMs` of (time, total bytes) samples. */
export class SpeedMeter {
  private samples: [number, number][] = [];
  constructor(private windowMs = 3000) {}
  add(t: number, totalBytes: number): void {
    this.samples.push([t, totalBytes]);
    while (this.samples.length > 2 && t - this.samples[0][0] > this.windowMs) this.samples.shift();
  }
  bytesPerSec(): number {
    if (this.samples.length < 2) return 0;
    const [t0, b0] = this.samples[0];
    const [t1, b1] = this.samples[this.samples.length - 1];
    return t1 > t0 ? ((b1 - b0) * 1000) / (t1 - t0) : 0;
  }
  reset(): void {
    this.samples = [];
  }
}

export const toBase64 = (b: Uint8Array): string => {
  let s = '';
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return btoa(s);
};
export const fromBase64 = (s: string): Uint8Array => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
