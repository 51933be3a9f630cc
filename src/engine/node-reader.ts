// Bundle files from a folder on disk, for the Node CLI and tests (never imported by browser code). Paths are
// checked like URLs are (shared/bundle isSafeBundlePath): a manifest cannot reach files outside its folder.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isSafeBundlePath } from '../shared/bundle';
import { AppError } from '../shared/errors';
import type { BundleReader } from './bundle-reader';

export function fsReader(dir: string): BundleReader {
  const root = path.resolve(dir);
  const full = (p: string) => {
    if (!isSafeBundlePath(p)) throw new AppError('BUNDLE_INVALID', `${JSON.stringify(p)} is not a relative path inside the bundle at ${root}`);
    return path.join(root, ...p.split('/'));
  };
  return {
    label: root,
    async exists(p) {
      const file = full(p);
      try {
        return (await fs.stat(file)).isFile();
      } catch {
        return false;
      }
    },
    async bytes(p, onProgress) {
      const file = full(p);
      try {
        const b = new Uint8Array(await fs.readFile(file));
        onProgress?.(b.length, b.length);
        return b;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new AppError('MODEL_FILE_MISSING', `${p} is missing from the bundle at ${root}`);
        throw new AppError('BUNDLE_NOT_FOUND', `cannot read ${p} in ${root}: ${(e as Error).message}`);
      }
    },
  };
}
