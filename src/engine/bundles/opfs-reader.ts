// A BundleReader over a bundle stored in OPFS (`opfs:bundles/<id>@<version>/`), for the engine worker: the same
// loading code as for HTTP, reading the stored files. `bytes` reads a file into one buffer of its exact size (no
// chunk list, no second copy); `file` hands out the disk-backed File itself; `externalBytes` gives ORT an external-data
// file it reads one initializer at a time, straight from the stored file (ranged-bytes.ts: no file-sized buffer).

import { AppError } from '../../shared/errors';
import type { BundleReader } from '../bundle-reader';
import { OPFS_SCHEME } from './protocol';
import { folderOf } from './opfs-store';
import { blobRangeReader, RangedBytes } from './ranged-bytes';

/** `opfs:bundles/<key>/` → key. */
export function keyOfOpfsUrl(url: string): string {
  const m = /^opfs:bundles\/([^/]+)\/?$/.exec(url);
  if (!m || !url.startsWith(OPFS_SCHEME)) throw new AppError('BUNDLE_NOT_FOUND', `${url} is not a stored bundle location (opfs:bundles/<id>@<version>/)`);
  return m[1];
}

export function opfsReader(url: string): BundleReader & { file(path: string): Promise<File>; externalBytes: NonNullable<BundleReader['externalBytes']> } {
  const key = keyOfOpfsUrl(url);
  const label = `${OPFS_SCHEME}bundles/${key}/`;
  const file = async (path: string): Promise<File> => {
    try {
      const { dir, name } = await folderOf(key, path, false);
      return await (await dir.getFileHandle(name)).getFile();
    } catch (e) {
      if (e instanceof DOMException && (e.name === 'NotFoundError' || e.name === 'TypeMismatchError')) {
        throw new AppError('MODEL_FILE_MISSING', `${path} is missing from the stored bundle ${key} (download or import it again)`);
      }
      throw e;
    }
  };
  const bytes: BundleReader['bytes'] = async (path, onProgress) => {
    const f = await file(path);
    if (!onProgress) return new Uint8Array(await f.arrayBuffer());
    const out = new Uint8Array(f.size);
    const reader = f.stream().getReader();
    let at = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      out.set(value, at);
      at += value.length;
      onProgress(at, f.size);
    }
    return out;
  };
  return {
    label,
    file,
    bytes,
    async externalBytes(path, onProgress) {
      const f = await file(path);
      const read = blobRangeReader(f);
      // FileReaderSync exists only in workers; elsewhere (never the engine's case) read the file whole.
      return read ? new RangedBytes(f.size, read, onProgress, f) : bytes(path, onProgress);
    },
    async exists(path) {
      try {
        await file(path);
        return true;
      } catch {
        return false;
      }
    },
  };
}
