// BundleStore over the Origin Private File System (download worker only: sync access handles exist in dedicated
// workers). Layout: `bundles/<id>@<version>/<path>` for a bundle's files, `bundle-state/<id>@<version>.{0,1}.json` for its
// download record (two slots, see readState). Writes go through FileSystemSyncAccessHandle (positioned writes straight to disk; no file is
// ever held in memory). Removing a bundle deletes exactly its folder and record.

import type { BundleStore, FileSink, InstallState } from './store';

export const BUNDLES_DIR = 'bundles';
const STATE_DIR = 'bundle-state';

async function root(): Promise<FileSystemDirectoryHandle> {
  return navigator.storage.getDirectory();
}

/** The folder holding `path` inside a bundle (created on demand), and the file name. */
export async function folderOf(key: string, path: string, create: boolean): Promise<{ dir: FileSystemDirectoryHandle; name: string }> {
  const parts = path.split('/');
  const name = parts.pop()!;
  let dir = await (await (await root()).getDirectoryHandle(BUNDLES_DIR, { create })).getDirectoryHandle(key, { create });
  for (const p of parts) dir = await dir.getDirectoryHandle(p, { create });
  return { dir, name };
}

async function stateDir(create = true): Promise<FileSystemDirectoryHandle> {
  return (await root()).getDirectoryHandle(STATE_DIR, { create });
}

async function writeWhole(fh: FileSystemFileHandle, bytes: Uint8Array): Promise<void> {
  const h = await fh.createSyncAccessHandle();
  try {
    h.truncate(0);
    h.write(bytes as Uint8Array<ArrayBuffer>, { at: 0 });
    h.flush();
  } finally {
    h.close();
  }
}

interface SlotRecord {
  seq: number;
  state: InstallState;
}

const isNotFound = (e: unknown) => e instanceof DOMException && (e.name === 'NotFoundError' || e.name === 'TypeMismatchError');

export class OpfsStore implements BundleStore {
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

  /**
   * The record lives in two slots, `<key>.0.json` / `<key>.1.json`, written alternately with a rising `seq`: a write
   * cut short (quota, a closed tab) spoils only the slot being written, and the other still holds the last good
   * checkpoint. Reading takes the newest slot that parses.
   */
  async readState(key: string): Promise<InstallState | undefined> {
    const slots = await Promise.all([0, 1].map((i) => this.readSlot(key, i)));
    const ok = slots.filter((x): x is SlotRecord => !!x);
    if (!ok.length) return undefined;
    const best = ok.reduce((a, b) => (b.seq > a.seq ? b : a));
    this.seq.set(key, best.seq);
    return best.state;
  }

  private seq = new Map<string, number>();

  private async readSlot(key: string, i: number): Promise<SlotRecord | undefined> {
    try {
      const f = await (await (await stateDir(false)).getFileHandle(`${key}.${i}.json`)).getFile();
      const rec = JSON.parse(await f.text()) as SlotRecord;
      return typeof rec?.seq === 'number' && rec.state?.key === key ? rec : undefined;
    } catch (e) {
      if (isNotFound(e) || e instanceof SyntaxError) return undefined;
      throw e;
    }
  }

  async writeState(state: InstallState): Promise<void> {
    if (!this.seq.has(state.key)) await this.readState(state.key);
    const seq = (this.seq.get(state.key) ?? 0) + 1;
    const fh = await (await stateDir()).getFileHandle(`${state.key}.${seq % 2}.json`, { create: true });
    await writeWhole(fh, new TextEncoder().encode(JSON.stringify({ seq, state } satisfies SlotRecord)));
    this.seq.set(state.key, seq);
  }

  async listStates(): Promise<InstallState[]> {
    const keys = new Set<string>();
    const dir = await stateDir();
    for await (const [name] of (dir as unknown as AsyncIterable<[string, FileSystemHandle]>)) {
      const m = /^(.+)\.[01]\.json$/.exec(name);
      if (m) keys.add(m[1]);
    }
    const out: InstallState[] = [];
    for (const k of keys) {
      const s = await this.readState(k);
      if (s) out.push(s);
    }
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  async removeBundle(key: string): Promise<void> {
    const r = await root();
    try {
      await (await r.getDirectoryHandle(BUNDLES_DIR)).removeEntry(key, { recursive: true });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    for (const i of [0, 1]) {
      try {
        await (await stateDir(false)).removeEntry(`${key}.${i}.json`);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    this.seq.delete(key);
  }

  async estimate(): Promise<{ usage: number; quota: number }> {
    const e = await navigator.storage.estimate();
    return { usage: e.usage ?? 0, quota: e.quota ?? 0 };
  }
}
