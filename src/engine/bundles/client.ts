// Main-thread side of the bundle download worker: spawns it, sends typed requests, routes events by request id and
// settles one promise per request. Reached from outside the engine only through engine/client.ts (re-exported).
// `persist()` lives here, not in the worker: StorageManager.persist() exists only on the main thread.
// Before a download from another origin, the host is added to the list the service worker writes into the CSP's
// connect-src (connect-hosts.ts); a worker started before that cannot reach the host (Chromium gives a dedicated
// worker the policy of its own script response), so a fresh worker takes over and the old one finishes what it had.

import { AppError } from '../../shared/errors';
import { addConnectHost, foreignOrigin, readConnectHosts, serviceWorkerControls } from './connect-hosts';
import {
  isBundlesTerminal, type BundlePlan, type BundlesEvent, type BundlesRequest, type InstallProgress, type StorageInfo, type StoredBundle,
} from './protocol';

/** How an install request ended: installed, or stopped before downloading because some files cannot be verified. */
export type InstallOutcome = { kind: 'installed'; bundle: StoredBundle } | { kind: 'unverified'; plan: BundlePlan };

type Req = BundlesRequest extends infer R ? (R extends { id: string } ? Omit<R, 'id'> : never) : never;
let counter = 0;
const newId = () => `b${Date.now().toString(36)}-${(counter++).toString(36)}`;

export interface InstallCallbacks {
  onProgress?: (p: InstallProgress) => void;
  /** A file failed its hash; it is being fetched again. */
  onCorrupt?: (path: string, expected: string, got: string) => void;
}

export class BundlesClient {
  private listeners = new Map<string, (e: BundlesEvent) => void>();
  private worker: Worker;
  /** Spawned here (not handed in): then it may be replaced to pick up a newly allowed host. */
  private readonly own: boolean;
  /** What the current worker's script response was served with: the stored hosts, and whether via the service worker. */
  private spawnedWith: Promise<{ hosts: string[]; controlled: boolean }> = Promise.resolve({ hosts: [], controlled: false });
  /** Replaced workers, each with the requests it still has to answer; terminated when those are done. */
  private retired: { worker: Worker; pending: Set<string> }[] = [];

  constructor(worker?: Worker) {
    this.own = !worker;
    this.worker = worker ? this.attach(worker) : this.spawn();
  }

  private spawn(): Worker {
    this.spawnedWith = readConnectHosts().then((hosts) => ({ hosts, controlled: !!globalThis.navigator?.serviceWorker?.controller }));
    return this.attach(new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'psa-bundles' }));
  }

  private attach(w: Worker): Worker {
    w.onmessage = (e: MessageEvent<BundlesEvent>) => this.listeners.get(e.data.id)?.(e.data);
    w.onerror = (e) => {
      for (const [id, l] of [...this.listeners]) l({ type: 'error', id, error: { code: 'INTERNAL', message: `bundle worker failed: ${e.message}` } });
    };
    return w;
  }

  /**
   * Makes `url`'s host reachable for the download worker where this browser can: stores it for the service worker
   * and, when the current worker was started without it, starts a new one. Where no service worker controls the
   * page (dev server, first visit with service workers refused), the server's policy alone decides; a refused
   * fetch then ends in BLOCKED_BY_POLICY from the worker, naming the policy.
   */
  private async allowHost(url: string): Promise<void> {
    const origin = foreignOrigin(url);
    if (!this.own || !origin) return;
    const had = await this.spawnedWith;
    const controls = await serviceWorkerControls();
    await addConnectHost(origin);
    if (!controls || (had.controlled && had.hosts.includes(origin))) return;
    this.retired.push({ worker: this.worker, pending: new Set(this.listeners.keys()) });
    this.worker = this.spawn();
    this.reap();
  }

  /** Terminates replaced workers whose requests have all been answered. */
  private reap(): void {
    this.retired = this.retired.filter((r) => {
      for (const id of r.pending) if (!this.listeners.has(id)) r.pending.delete(id);
      if (r.pending.size) return true;
      r.worker.terminate();
      return false;
    });
  }

  private request<T extends BundlesEvent>(req: Req, onEvent?: (e: BundlesEvent) => void): Promise<T> {
    const id = newId();
    return new Promise<T>((resolve, reject) => {
      this.listeners.set(id, (ev) => {
        onEvent?.(ev);
        if (!isBundlesTerminal(ev)) return;
        this.listeners.delete(id);
        if (this.retired.length) this.reap();
        if (ev.type === 'error') reject(new AppError(ev.error.code, ev.error.message));
        else resolve(ev as T);
      });
      this.worker.postMessage({ ...req, id } as BundlesRequest);
      // A download still running in a replaced worker must stop too (its answer is not awaited).
      if (req.type === 'pause' || req.type === 'cancel' || req.type === 'remove') {
        for (const r of this.retired) r.worker.postMessage({ ...req, id: newId() } as BundlesRequest);
      }
    });
  }

  /**
   * Downloads (or resumes) the bundle at `url` into storage; resolves when every file is stored and checked against
   * the hashes the bundle gives. A fresh bundle with files no hash pins is not downloaded unless `allowUnverified`:
   * the outcome is then 'unverified' with the plan, so the person can be asked first.
   * `demo`: `url` is the app's built-in demo bundle (recorded with source kind 'demo').
   */
  async install(url: string, cb: InstallCallbacks = {}, opts: { demo?: boolean; allowUnverified?: boolean } = {}): Promise<InstallOutcome> {
    const est = await navigator.storage?.estimate?.().catch(() => undefined);
    const seen = est ? { usage: est.usage ?? 0, quota: est.quota ?? 0 } : undefined;
    await this.allowHost(url);
    const ev = await this.request<Extract<BundlesEvent, { type: 'installed' | 'unverified' }>>({ type: 'install', url, seen, demo: opts.demo, allowUnverified: opts.allowUnverified }, (e) => {
      if (e.type === 'progress') cb.onProgress?.(e.progress);
      if (e.type === 'corrupt') cb.onCorrupt?.(e.path, e.expected, e.got);
    });
    return ev.type === 'unverified' ? { kind: 'unverified', plan: ev.plan } : { kind: 'installed', bundle: ev.bundle };
  }

  /** Copies a picked folder into storage (status 'checking' until `accept`). */
  async importFolder(name: string, files: { path: string; file: File }[], onProgress?: (p: InstallProgress) => void): Promise<StoredBundle> {
    const ev = await this.request<Extract<BundlesEvent, { type: 'installed' }>>({ type: 'import', name, files }, (e) => {
      if (e.type === 'progress') onProgress?.(e.progress);
    });
    return ev.bundle;
  }

  async accept(key: string): Promise<StoredBundle> {
    return (await this.request<Extract<BundlesEvent, { type: 'installed' }>>({ type: 'accept', key })).bundle;
  }

  async pause(key: string): Promise<void> {
    await this.request({ type: 'pause', key });
  }

  /** Stops a download and deletes what it stored (that bundle only). */
  async cancel(key: string): Promise<void> {
    await this.request({ type: 'cancel', key });
  }

  async remove(key: string): Promise<void> {
    await this.request({ type: 'remove', key });
  }

  /** Deletes only the profile encoder's files of a complete bundle; returns the bundle as it is now. */
  async removeEncoder(key: string): Promise<StoredBundle> {
    return (await this.request<Extract<BundlesEvent, { type: 'installed' }>>({ type: 'remove-encoder', key })).bundle;
  }

  async list(): Promise<StoredBundle[]> {
    return (await this.request<Extract<BundlesEvent, { type: 'list' }>>({ type: 'list' })).bundles;
  }

  /** This site's storage use, quota and persistence, as the page sees them. */
  async storage(): Promise<StorageInfo> {
    const e = await navigator.storage.estimate();
    const persisted = await navigator.storage.persisted?.().catch(() => undefined);
    return { usage: e.usage ?? 0, quota: e.quota ?? 0, persisted };
  }

  /** Asks the browser to keep this site's storage under pressure (it may say no; Chromium decides by engagement). */
  async persist(): Promise<boolean> {
    try {
      return (await navigator.storage?.persist?.()) ?? false;
    } catch {
      return false;
    }
  }

  /** Test hook: size and SHA-256 of one stored file. */
  async debugFile(key: string, path: string): Promise<{ size: number; sha256?: string }> {
    const ev = await this.request<Extract<BundlesEvent, { type: 'debug-file' }>>({ type: 'debug-file', key, path });
    return { size: ev.size, sha256: ev.sha256 };
  }

  terminate(): void {
    for (const r of this.retired) r.worker.terminate();
    this.retired = [];
    this.worker.terminate();
  }
}
