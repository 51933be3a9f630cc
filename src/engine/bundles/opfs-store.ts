// BundleStore over the Origin Private File System (download worker only: sync access handles exist in dedicated
// workers). Files: `bundles/<id>@<version>/<path>`; records: the IndexedDB index (storage/bundles.ts, via
// IndexedBundleStore). Writes go through FileSystemSyncAccessHandle (positioned writes straight to disk; no file is
// ever held in memory). Removing a bundle deletes exactly its folder and its record.
// Also the reader of the old record layout (`bundle-state/<key>.{0,1}.json`, before schema v4) for legacy-records.ts.

import { isSafeBundlePath } from '../../shared/bundle';
import { AppError } from '../../shared/errors';
import { IndexedBundleStore, type FileSink } from './store';
import type { LegacyStateDir } from './legacy-records';

export const BUNDLES_DIR = 'bundles';
/** Where records lived before the IndexedDB index (read once, then deleted, by legacy-records.ts). */
export const LEGACY_STATE_DIR = 'bundle-state';

async function root(): Promise<FileSystemDirectoryHandle> {
  return navigator.storage.getDirectory();
}

/** The folder holding `path` inside a bundle (created on demand), and the file name. */
export async function folderOf(key: string, path: string, create: boolean): Promise<{ dir: FileSystemDirectoryHandle; name: string }> {
  // OPFS itself refuses '..' as a name; checked here too so every way into a bundle's files applies the same rule.
  if (!isSafeBundlePath(path)) throw new AppError('BUNDLE_INVALID', `${JSON.stringify(path)} is not a relative path inside the stored bundle ${key}`);
  const parts = path.split('/');
  const name = parts.pop()!;
  let dir = await (await (await root()).getDirectoryHandle(BUNDLES_DIR, { create })).getDirectoryHandle(key, { create });
  for (const p of parts) dir = await dir.getDirectoryHandle(p, { create });
  return { dir, name };
}

async function writeWhole(fh: FileSystemFileHandle, bytes: Uint8Array): Promise<void> {
  const h = await fh.createSyncAccessHandle();
  try {
    h.truncate(0);
    const n = h.write(bytes as Uint8Array<ArrayBuffer>, { at: 0 });
    // A short write is how Chromium reports the quota here (see open()); a cut-off text file must not pass as written.
    if (n !== bytes.length) throw new DOMException(`only ${n} of ${bytes.length} bytes could be written`, 'QuotaExceededError');
    h.flush();
  } finally {
    h.close();
  }
}

const isNotFound = (e: unknown) => e instanceof DOMException && (e.name === 'NotFoundError' || e.name === 'TypeMismatchError');

export class OpfsStore extends IndexedBundleStore {
  async open(key: string, path: string): Promise<FileSink> {
    const { dir, name } = await folderOf(key, path, true);
    const h = await (await dir.getFileHandle(name, { create: true })).createSyncAccessHandle();
    return {
      getSize: () => h.getSize(),
      truncate: (n) => h.truncate(n),
      write: (data, opts) => {
        // Chromium writes what fits and returns the count when the quota is reached (measured in the quota test):
        // a short write is the quota error, never a silent gap.
        const n = h.write(data as Uint8Array<ArrayBuffer>, opts);
        if (n !== data.length) throw new DOMException(`only ${n} of ${data.length} bytes could be written`, 'QuotaExceededError');
        return n;
      },
      flush: () => h.flush(),
      close: () => h.close(),
    };
  }

  async size(key: string, path: string): Promise<number> {
    try {
      const { dir, name } = await folderOf(key, path, false);
      return (await (await dir.getFileHandle(name)).getFile()).size;
    } catch (e) {
      if (isNotFound(e)) return -1;
      throw e;
    }
  }

  async writeText(key: string, path: string, text: string): Promise<void> {
    const { dir, name } = await folderOf(key, path, true);
    await writeWhole(await dir.getFileHandle(name, { create: true }), new TextEncoder().encode(text));
  }

  protected async removeFiles(key: string): Promise<void> {
    try {
      await (await (await root()).getDirectoryHandle(BUNDLES_DIR)).removeEntry(key, { recursive: true });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  protected async removePaths(key: string, paths: readonly string[]): Promise<void> {
    for (const path of paths) {
      try {
        const { dir, name } = await folderOf(key, path, false);
        await dir.removeEntry(name);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
  }

  async estimate(): Promise<{ usage: number; quota: number }> {
    const e = await navigator.storage.estimate();
    return { usage: e.usage ?? 0, quota: e.quota ?? 0 };
  }
}

/** The old `bundle-state/` folder, or undefined when there is none (nothing to import). */
export async function opfsLegacyStateDir(): Promise<LegacyStateDir | undefined> {
  let dir: FileSystemDirectoryHandle;
  try {
    dir = await (await root()).getDirectoryHandle(LEGACY_STATE_DIR);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
  return {
    async names() {
      const out: string[] = [];
      for await (const [name] of dir as unknown as AsyncIterable<[string, FileSystemHandle]>) out.push(name);
      return out;
    },
    read: async (name) => (await (await dir.getFileHandle(name)).getFile()).text(),
    async remove(name) {
      try {
        await dir.removeEntry(name);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    },
    async removeSelfIfEmpty() {
      for await (const _ of dir as unknown as AsyncIterable<unknown>) return;
      await (await root()).removeEntry(LEGACY_STATE_DIR).catch(() => undefined);
    },
  };
}
