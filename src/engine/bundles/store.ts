// Where a download's bytes and bookkeeping live, as an interface: OPFS in the browser (opfs-store.ts), memory in
// the Node tests. The sink has the shape of OPFS's FileSystemSyncAccessHandle (positioned writes, no whole file in
// memory). Keys are `<id>@<version>`; every operation is confined to its key's folder, so nothing touches another
// bundle's files.

import type { BundleSource, InstallStatus } from './protocol';
import type { FileState } from './resume';
import type { ErrorInfo } from '../../shared/errors';
import type { Variant } from '../../shared/bundle';
import type { ModelRole } from '../../shared/contract';

export interface FileSink {
  getSize(): number;
  truncate(size: number): void;
  write(data: Uint8Array, opts: { at: number }): number;
  flush(): void;
  close(): void;
}

/** A bundle's download record, saved next to its files and updated at each checkpoint. */
export interface InstallState {
  key: string;
  id: string;
  version: string;
  name: string;
  source: BundleSource;
  layout: 'manifest' | 'optimum';
  variants: Partial<Record<ModelRole, Variant>>;
  licenseName?: string;
  status: InstallStatus;
  files: FileState[];
  /** Written last, when every file is verified: its presence makes the folder loadable (manifest.json / model_index.json). */
  final: { path: string; text: string };
  error?: ErrorInfo;
  createdAt: number;
  installedAt?: number;
}

export interface BundleStore {
  /** Opens (creating if needed) a file of a bundle for positioned writes. Close it when done (it may be exclusive). */
  open(key: string, path: string): Promise<FileSink>;
  /** Size of a stored file, or -1 when absent. */
  size(key: string, path: string): Promise<number>;
  writeText(key: string, path: string, text: string): Promise<void>;
  readState(key: string): Promise<InstallState | undefined>;
  writeState(state: InstallState): Promise<void>;
  listStates(): Promise<InstallState[]>;
  /** Deletes the bundle's folder and record — only that key's. */
  removeBundle(key: string): Promise<void>;
  estimate(): Promise<{ usage: number; quota: number }>;
}

/** In-memory store (Node tests): sinks over growable buffers; `quota` limits the total bytes like a browser would. */
export class MemoryStore implements BundleStore {
  readonly files = new Map<string, Uint8Array>();
  readonly states = new Map<string, InstallState>();
  constructor(public quota = Number.MAX_SAFE_INTEGER) {}
  private used(): number {
    let n = 0;
    for (const b of this.files.values()) n += b.length;
    return n;
  }
  async open(key: string, path: string): Promise<FileSink> {
    const id = `${key}/${path}`;
    if (!this.files.has(id)) this.files.set(id, new Uint8Array(0));
    const self = this;
    return {
      getSize: () => self.files.get(id)!.length,
      truncate(size) {
        const old = self.files.get(id)!;
        const b = new Uint8Array(size);
        b.set(old.subarray(0, Math.min(size, old.length)));
        self.files.set(id, b);
      },
      write(data, { at }) {
        const old = self.files.get(id)!;
        const end = Math.max(old.length, at + data.length);
        if (self.used() - old.length + end > self.quota) throw new DOMException('quota exceeded', 'QuotaExceededError');
        const b = end > old.length ? new Uint8Array(end) : old;
        if (b !== old) b.set(old);
        b.set(data, at);
        self.files.set(id, b);
        return data.length;
      },
      flush() {},
      close() {},
    };
  }
  async size(key: string, path: string) {
    return this.files.get(`${key}/${path}`)?.length ?? -1;
  }
  async writeText(key: string, path: string, text: string) {
    this.files.set(`${key}/${path}`, new TextEncoder().encode(text));
  }
  async readState(key: string) {
    const s = this.states.get(key);
    return s && (JSON.parse(JSON.stringify(s)) as InstallState);
  }
  async writeState(state: InstallState) {
    this.states.set(state.key, JSON.parse(JSON.stringify(state)) as InstallState);
  }
  async listStates() {
    return [...this.states.values()];
  }
  async removeBundle(key: string) {
    for (const k of [...this.files.keys()]) if (k.startsWith(`${key}/`)) this.files.delete(k);
    this.states.delete(key);
  }
  async estimate() {
    return { usage: this.used(), quota: this.quota };
  }
}
