// What every install job shares: the injected store, fetch and clocks (so Node tests drive the jobs against
// scripts/serve-bundle.ts with an in-memory store), the installer's options with their defaults, its event type and
// its storage-full error. Planning, probing, downloading and describing each take this context.

import { AppError } from '../../../shared/errors';
import type { DeviceFeature, Variant } from '../../../shared/bundle';
import type { InstallProgress } from '../protocol';
import type { BundleStore } from '../store';

export interface DeviceChoice {
  /** Variant preference, best first (engine/models variantOrder for the backend the engine will use). */
  order: readonly Variant[];
  features: ReadonlySet<DeviceFeature>;
  /** Largest model a variant may be (shared/bundle WASM_MODEL_BYTES when the engine will run on WASM). */
  maxModelBytes?: number;
}

export type InstallerEvent =
  | { type: 'progress'; progress: InstallProgress }
  | { type: 'corrupt'; key: string; path: string; expected: string; got: string };

export interface InstallerOptions {
  store: BundleStore;
  fetch?: typeof fetch;
  /** Checkpoint (flush + save hash state) at least every this many bytes (default 4 MiB). */
  checkpointBytes?: number;
  /** Network failures in a row before giving up (default 5). */
  maxRetries?: number;
  /** Waits between retries (tests shorten it). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  now?: () => number;
}

/** The options with every default filled in: what the jobs read. */
export interface InstallContext {
  store: BundleStore;
  fetch: typeof fetch;
  checkpointBytes: number;
  maxRetries: number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  now: () => number;
}

const MiB = 1024 * 1024;

export const fmtMB = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

const abortableSleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

export function installContext(o: InstallerOptions): InstallContext {
  return {
    store: o.store,
    fetch: o.fetch ?? ((...a) => fetch(...a)),
    checkpointBytes: o.checkpointBytes ?? 4 * MiB,
    maxRetries: o.maxRetries ?? 5,
    sleep: o.sleep ?? abortableSleep,
    now: o.now ?? (() => Date.now()),
  };
}

/** The installer's own "storage ran out; N finished files kept" error (never wrapped a second time). */
export class StorageRanOut extends AppError {
  constructor(message: string) {
    super('STORAGE_FULL', message);
  }
}

/** A quota failure from a file write (DOMException) or from saving the record in the index (coded STORAGE_FULL). */
export const isQuota = (e: unknown): boolean => {
  if (e instanceof StorageRanOut) return false;
  if (e instanceof AppError) return e.code === 'STORAGE_FULL';
  return e instanceof DOMException ? e.name === 'QuotaExceededError' : /QuotaExceeded|quota/i.test(String((e as Error)?.name ?? e));
};
