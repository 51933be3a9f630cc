// Bundle files from a folder on disk, for the Node CLI and tests (never imported by browser code).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { AppError } from '../shared/errors';
import type { BundleReader } from './bundle-reader';

export function fsReader(dir: string): BundleReader {
  const root = path.resolve(dir);
  const full = (p: string) => path.join(root, ...p.split('/'));
  return {
    label: root,
    async exists(p) {
      try {
        return (await fs.stat(full(p))).isFile();
      } catch {
        return false;
      }
    },
    async bytes(p, onProgress) {
      try {
        const b = new Uint8Array(await fs.readFile(full(p)));
        onProgress?.(b.length, b.length);
        return b;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new AppError('MODEL_FILE_MISSING', `${p} is missing from the bundle at ${root}`);
        throw new AppError('BUNDLE_NOT_FOUND', `cannot read ${p} in ${root}: ${(e as Error).message}`);
      }
    },
  };
}
