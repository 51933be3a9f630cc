// Planning an install: a psa-web bundle URL (manifest.json) or an Optimum/diffusers export (model_index.json +
// standard names, probed with HEAD) → a fresh install record listing the files this device needs (only the variant
// it can run), with sizes and hashes where the source gives them — or the stored record when that version is known.
// Every URL is the bundle folder + a checked relative path (shared/bundle bundleFileUrl) and every answer redirected
// out of that folder is refused (BUNDLE_REDIRECT_REFUSED).

import { createSHA256 } from 'hash-wasm';
import {
  bundleFileUrl, checkManifest, chooseVariants, migrateManifest, restrictVariants, type BundleManifest, type BundleManifestV1, type Variant,
} from '../../../shared/bundle';
import { AppError } from '../../../shared/errors';
import { refuseRedirectAway } from '../../bundle-reader';
import { checkExternalSize, externalPaths, missingExternal } from '../../external-data';
import { scanOnnx, scanOnnxBytes } from '../../onnx-scan';
import { idFromUrl, isModelPath, optimumCandidates, tokenizerProblem } from '../optimum-files';
import { bundleKey } from '../protocol';
import { newFileState, type FileState } from '../resume';
import type { InstallState } from '../store';
import type { DeviceChoice, InstallContext } from './context';
import { headSize, httpRangeRead } from './probe';

type Source = { kind: 'url' | 'demo'; url: string };

/** Reads the source and returns a fresh install record (or the stored one when that version is already known). */
export async function planInstall(cx: InstallContext, url: string, device: DeviceChoice, wish?: Variant, kind: 'url' | 'demo' = 'url'): Promise<InstallState> {
  const base = url.endsWith('/') ? url : `${url}/`;
  const source = { kind, url: base } as const;
  let res: Response;
  try {
    res = await cx.fetch(bundleFileUrl(base, 'manifest.json'), { cache: 'no-store' });
  } catch (e) {
    // An AppError already says why (BLOCKED_BY_POLICY from the worker's fetch): kept, not hidden behind "not found".
    if (e instanceof AppError) throw e;
    throw new AppError('BUNDLE_NOT_FOUND', `could not reach ${base}: ${(e as Error).message}`);
  }
  refuseRedirectAway(res, base, 'manifest.json');
  const isJson = (r: Response) => r.ok && !(r.headers.get('content-type') ?? '').includes('text/html');
  if (isJson(res)) return planManifest(cx, source, await res.text(), device, wish);
  const idx = await cx.fetch(bundleFileUrl(base, 'model_index.json'), { cache: 'no-store' }).catch(() => undefined);
  if (idx) refuseRedirectAway(idx, base, 'model_index.json');
  if (idx && isJson(idx)) return planOptimum(cx, source, await idx.text());
  throw new AppError('BUNDLE_NOT_FOUND', `no bundle at ${base}: neither manifest.json nor model_index.json is there (HTTP ${res.status})`);
}

async function planManifest(cx: InstallContext, source: Source, text: string, device: DeviceChoice, wish?: Variant): Promise<InstallState> {
  const base = source.url;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new AppError('BUNDLE_INVALID', `manifest.json at ${base} is not valid JSON (${(e as Error).message})`);
  }
  const problems = checkManifest(raw);
  if (problems.length) throw new AppError('BUNDLE_INVALID', `manifest.json at ${base}: ${problems.join('; ')}`);
  const m = migrateManifest(raw as BundleManifest | BundleManifestV1);
  const key = bundleKey(m.id, m.version);
  const prior = await cx.store.readState(key);
  // Same id@version already stored (partly or whole): continue it; If-Range catches a host whose copy changed.
  if (prior) {
    // A complete bundle whose profile encoder the user removed: "download again" fetches just those files (not done).
    const refetch = prior.status === 'complete' && prior.files.some((f) => f.removed);
    return { ...prior, source, ...(refetch ? { status: 'paused' as const } : {}) };
  }
  let chosen;
  try {
    chosen = chooseVariants(m, device.order, device.features, device.maxModelBytes);
  } catch (e) {
    throw new AppError('BACKEND_INIT_FAILED', `${m.name}: ${(e as Error).message}`);
  }
  if (wish && m.components.unet.variants[wish]) chosen.unet = wish;
  const stored = restrictVariants(m, chosen);
  let files = stored.files.map((f) => newFileState(f.path, f.bytes, f.sha256));
  if ((raw as { formatVersion: number }).formatVersion === 1) files = await withStandardExtras(cx, base, files);
  return {
    key, id: m.id, version: m.version, name: m.name,
    source, layout: 'manifest', variants: chosen, licenseName: m.license.name,
    status: 'planning', files,
    final: { path: 'manifest.json', text: JSON.stringify(stored, null, 1) },
    createdAt: cx.now(),
  };
}

/** Format-1 manifests list only models: add the tokenizer/config files a host has under the standard names. */
async function withStandardExtras(cx: InstallContext, base: string, files: FileState[]): Promise<FileState[]> {
  const have = new Set(files.map((f) => f.path));
  const extra = ['tokenizer/tokenizer.json', 'tokenizer/tokenizer_config.json', 'tokenizer/special_tokens_map.json', 'tokenizer/vocab.json', 'tokenizer/merges.txt', 'scheduler/scheduler_config.json', 'model_index.json'];
  for (const path of extra) {
    if (have.has(path)) continue;
    const size = await headSize(cx.fetch, base, path);
    if (size !== undefined) files.push(newFileState(path, size > 0 ? size : undefined));
  }
  return files;
}

async function planOptimum(cx: InstallContext, source: Source, indexText: string): Promise<InstallState> {
  const base = source.url;
  let index: Record<string, unknown>;
  try {
    index = JSON.parse(indexText) as Record<string, unknown>;
  } catch (e) {
    throw new AppError('BUNDLE_INVALID', `model_index.json at ${base} is not valid JSON (${(e as Error).message})`);
  }
  let candidates;
  try {
    candidates = optimumCandidates(index);
  } catch (e) {
    throw new AppError('BUNDLE_INVALID', `${base}: ${(e as Error).message}`);
  }
  const hasher = await createSHA256();
  hasher.update(indexText);
  const version = `sha-${hasher.digest('hex').slice(0, 12)}`;
  const id = idFromUrl(base);
  const key = bundleKey(id, version);
  const prior = await cx.store.readState(key);
  if (prior) return prior;
  const files: FileState[] = [];
  const present = new Set<string>();
  for (const c of candidates) {
    if (c.path === 'model_index.json') continue;
    const size = await headSize(cx.fetch, base, c.path);
    if (size === undefined) {
      if (c.required) throw new AppError('MODEL_FILE_MISSING', `${c.path} is missing from the export at ${base} (model_index.json lists ${c.folder})`);
      continue;
    }
    present.add(c.path);
    files.push(newFileState(c.path, size > 0 ? size : undefined));
    if (isModelPath(c.path)) {
      // Which weight files this model needs is read from its .onnx (ranged reads of its header fields; no weights),
      // and each is sized before anything is downloaded: one over the 2 GiB cap is refused here.
      const read = httpRangeRead(cx.fetch, base, c.path);
      // No Content-Length from HEAD: the file is read whole once (a host that does not say sizes rarely does ranges).
      const facts = size > 0 ? await scanOnnx(read, size, `${c.path} at ${base}`) : await scanOnnxBytes(await read(0, Number.MAX_SAFE_INTEGER), `${c.path} at ${base}`);
      for (const x of externalPaths(c.path, facts)) {
        const xs = await headSize(cx.fetch, base, x.path);
        if (xs === undefined) throw missingExternal(c.path, x.path, `the export at ${base}`);
        checkExternalSize(c.path, x.path, xs);
        if (!files.some((g) => g.path === x.path)) files.push(newFileState(x.path, xs > 0 ? xs : undefined));
      }
    }
  }
  const tok = tokenizerProblem(present);
  if (tok) throw new AppError('MODEL_FILE_MISSING', `${base}: ${tok}`);
  return {
    key, id, version, name: `${String(index._class_name)} from ${new URL(base).host}`,
    source, layout: 'optimum', variants: { text_encoder: 'fp32', unet: 'fp32', vae_decoder: 'fp32' },
    status: 'planning', files,
    final: { path: 'model_index.json', text: indexText },
    createdAt: cx.now(),
  };
}
