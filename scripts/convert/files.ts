// File helpers for the converter: streaming copy with SHA-256 (never a whole file in memory), folder listing.
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface HashedFile {
  /** '/'-separated path relative to the bundle root. */
  path: string;
  bytes: number;
  sha256: string;
}

const BUF = Buffer.allocUnsafe(8 << 20);

/** Copies src → dst through one reused 8 MB buffer, hashing as it goes. */
export function copyHashed(src: string, dst: string): { bytes: number; sha256: string } {
  mkdirSync(dirname(dst), { recursive: true });
  const h = createHash('sha256');
  const i = openSync(src, 'r');
  const o = openSync(dst, 'w');
  let bytes = 0;
  try {
    for (;;) {
      const n = readSync(i, BUF, 0, BUF.length, null);
      if (n <= 0) break;
      h.update(BUF.subarray(0, n));
      for (let off = 0; off < n; ) off += writeSync(o, BUF, off, n - off);
      bytes += n;
    }
  } finally {
    closeSync(i);
    closeSync(o);
  }
  return { bytes, sha256: h.digest('hex') };
}

export function hashFile(path: string): { bytes: number; sha256: string } {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  let bytes = 0;
  try {
    for (;;) {
      const n = readSync(fd, BUF, 0, BUF.length, null);
      if (n <= 0) break;
      h.update(BUF.subarray(0, n));
      bytes += n;
    }
  } finally {
    closeSync(fd);
  }
  return { bytes, sha256: h.digest('hex') };
}

/** Every file under `root`, '/'-separated, sorted. */
export function listFiles(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const d of readdirSync(join(root, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const r = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) out.push(...listFiles(root, r));
    else out.push(r);
  }
  return out;
}

/** Remembers the hash of every file the converter wrote or copied, so each multi-GB file is read once. */
export class HashLedger {
  private readonly known = new Map<string, { bytes: number; sha256: string }>();
  record(path: string, h: { bytes: number; sha256: string }): void {
    this.known.set(path, h);
  }
  copy(src: string, dst: string): void {
    this.record(dst, copyHashed(src, dst));
  }
  hash(path: string): { bytes: number; sha256: string } {
    let h = this.known.get(path);
    if (!h) this.record(path, (h = hashFile(path)));
    return h;
  }
}
