// The bundle download worker's protocol (main ↔ engine/bundles/worker.ts) and the records it reports. The UI sees
// these types only through engine/client.ts (re-exported there). Every request ends in exactly one terminal event.

import type { ErrorInfo } from '../../shared/errors';
import type { Variant } from '../../shared/bundle';
import type { ModelRole } from '../../shared/contract';
import type { BundleSourceRecord } from '../../storage/bundles';

/** Where a stored bundle came from: a URL, an imported folder (its name), or the built-in demo (the index's type). */
export type BundleSource = BundleSourceRecord;
export type BundleSourceKind = BundleSource['kind'];

export type FileStatus = 'waiting' | 'downloading' | 'verifying' | 'done' | 'corrupt' | 'error';

export interface FileProgress {
  path: string;
  loaded: number;
  /** Expected size; 0 when the source did not say. */
  total: number;
  status: FileStatus;
}

/** 'checking': an imported folder copied into storage, waiting for the engine's contract check. */
export type InstallStatus = 'planning' | 'downloading' | 'paused' | 'error' | 'checking' | 'complete';

export interface InstallProgress {
  key: string;
  status: InstallStatus;
  files: FileProgress[];
  loaded: number;
  total: number;
  /** Bytes per second over the last few seconds (0 when idle). */
  bytesPerSec: number;
  /** Seconds left at the current speed; undefined when unknown. */
  etaSec?: number;
  error?: ErrorInfo;
}

/** A bundle in storage (complete or not). */
export interface StoredBundle {
  /** `<id>@<version>`: the storage folder under bundles/. */
  key: string;
  id: string;
  version: string;
  name: string;
  source: BundleSource;
  layout: 'manifest' | 'optimum';
  /** 'complete', or 'partial' (downloading, paused, failed, or an import awaiting its check: see `status`). */
  state: 'partial' | 'complete';
  status: InstallStatus;
  /** Bytes on disk now / when complete. */
  bytes: number;
  totalBytes: number;
  fileCount: number;
  /** Every file with its size and what is stored of it (a partial bundle keeps its finished files). */
  files: { path: string; bytes: number; stored: number; done: boolean }[];
  variants: Partial<Record<ModelRole, Variant>>;
  licenseName?: string;
  /** URL the engine loads it from (`opfs:bundles/<key>/`). */
  loadUrl: string;
  /** Its profile encoder's own files (absent when it has none): their size, and whether the user removed them. */
  encoder?: { bytes: number; removed: boolean };
  installedAt?: number;
  /** False when some of its files were stored without a SHA-256 to check them against (see BundlePlan). */
  verified: boolean;
  unverifiedFiles: string[];
}

/**
 * A download as planned, before any file is fetched: what it is and whether every file is pinned by a SHA-256
 * (format-2 manifests). `verified: false` lists the files nothing can check — an Optimum export (model_index.json
 * names no hashes) or a format-1 manifest's extras — which the worker downloads only when the request allows it.
 */
export interface BundlePlan {
  key: string;
  name: string;
  version: string;
  layout: 'manifest' | 'optimum';
  fileCount: number;
  totalBytes: number;
  verified: boolean;
  unverifiedFiles: string[];
}

export interface StorageInfo {
  usage: number;
  quota: number;
  persisted?: boolean;
}

export type BundlesRequest =
  /** `seen`: the page's storage.estimate() (what the panel shows); the smaller free space decides the up-front check. */
  /** `demo`: the URL is the app's built-in demo bundle (recorded as source kind 'demo'). */
  /** `allowUnverified`: the person agreed to download files no SHA-256 pins; without it such a plan ends in 'unverified'. */
  | { type: 'install'; id: string; url: string; variantWish?: Variant; seen?: { usage: number; quota: number }; demo?: boolean; allowUnverified?: boolean }
  | { type: 'pause'; id: string; key: string }
  | { type: 'cancel'; id: string; key: string }
  | { type: 'list'; id: string }
  | { type: 'remove'; id: string; key: string }
  /** Deletes only the profile encoder's files of a complete bundle (cached embeddings are elsewhere and stay). */
  | { type: 'remove-encoder'; id: string; key: string }
  /** Import: files of a folder picked by the user; each is copied into storage before the check. */
  | { type: 'import'; id: string; name: string; files: { path: string; file: File }[] }
  /** An import passed the engine's contract check: mark it installed. */
  | { type: 'accept'; id: string; key: string }
  /** Test hook: one stored file's size and SHA-256. */
  | { type: 'debug-file'; id: string; key: string; path: string };

export type BundlesEvent =
  | { type: 'progress'; id: string; progress: InstallProgress }
  /** A file failed its hash: deleted and fetched again. */
  | { type: 'corrupt'; id: string; key: string; path: string; expected: string; got: string }
  | { type: 'installed'; id: string; bundle: StoredBundle }
  /** An install whose plan has unverifiable files, stopped before any download: ask, then send allowUnverified. */
  | { type: 'unverified'; id: string; plan: BundlePlan }
  | { type: 'list'; id: string; bundles: StoredBundle[] }
  | { type: 'debug-file'; id: string; size: number; sha256?: string }
  | { type: 'done'; id: string }
  | { type: 'error'; id: string; error: ErrorInfo; progress?: InstallProgress };

export const BUNDLES_TERMINAL = ['installed', 'unverified', 'list', 'debug-file', 'done', 'error'] as const;

export function isBundlesTerminal(e: BundlesEvent): boolean {
  return (BUNDLES_TERMINAL as readonly string[]).includes(e.type);
}

/** Storage folder key of a bundle version; ids and versions are checked to be path-safe by checkManifest. */
export const bundleKey = (id: string, version: string): string => `${id}@${version}`;
export const OPFS_SCHEME = 'opfs:';
export const loadUrlOf = (key: string): string => `${OPFS_SCHEME}bundles/${key}/`;
