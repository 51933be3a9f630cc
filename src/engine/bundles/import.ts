// Folder import: the files of a folder the user picked (directory picker, <input webkitdirectory> or drag and drop)
// are checked against the bundle's own description (manifest.json with sizes + hashes, or model_index.json and the
// standard names), streamed into OPFS under a versioned key while hashing, and left in status 'checking'. The
// caller (state/bundles-slice via the engine door) then loads it with the engine — which validates every model
// against the contract — and either accepts it or removes it. A missing or wrong file is refused by name.

import { createSHA256 } from 'hash-wasm';
import {
  checkManifest, chooseVariants, isSafeBundlePath, migrateManifest, restrictVariants, type BundleManifest, type BundleManifestV1,
} from '../../shared/bundle';
import { AppError } from '../../shared/errors';
import { Installer, fmtMB } from './installer';
import { checkExternalSize, externalPaths, missingExternal } from '../external-data';
import { scanOnnxBlob } from '../onnx-scan';
import { isModelPath, optimumCandidates, tokenizerProblem } from './optimum-files';
import { bundleKey, type InstallProgress, type StoredBundle } from './protocol';
import { newFileState } from './resume';
import type { BundleStore, InstallState } from './store';

export interface PickedFile {
  /** Path inside the picked folder ('unet/model.onnx'); a leading folder name common to all files is removed. */
  path: string;
  file: File;
}

/** Drops the picked folder's own name when every path starts with it (webkitRelativePath gives "folder/unet/…"). */
export function stripCommonRoot(paths: string[]): string[] {
  const firsts = new Set(paths.map((p) => (p.includes('/') ? p.split('/')[0] : '')));
  if (firsts.size !== 1 || firsts.has('')) return paths;
  const root = [...firsts][0];
  return paths.map((p) => p.slice(root.length + 1));
}

const safeName = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'folder';

async function textOf(f: File | undefined): Promise<string | undefined> {
  return f ? f.text() : undefined;
}

export async function importFiles(store: BundleStore, installer: Installer, folderName: string, picked: PickedFile[], onProgress: (p: InstallProgress) => void): Promise<StoredBundle> {
  const paths = stripCommonRoot(picked.map((p) => p.path));
  const byPath = new Map(paths.map((p, i) => [p, picked[i].file]));
  const manifestText = await textOf(byPath.get('manifest.json'));
  const indexText = await textOf(byPath.get('model_index.json'));
  let state: InstallState;
  if (manifestText !== undefined) {
    let raw: unknown;
    try {
      raw = JSON.parse(manifestText);
    } catch (e) {
      throw new AppError('BUNDLE_INVALID', `manifest.json in the folder "${folderName}" is not valid JSON (${(e as Error).message})`);
    }
    const problems = checkManifest(raw);
    if (problems.length) throw new AppError('BUNDLE_INVALID', `manifest.json in the folder "${folderName}": ${problems.join('; ')}`);
    const m = migrateManifest(raw as BundleManifest | BundleManifestV1);
    // Every variant present in the folder is kept when it can run here; the best one decides the rest.
    const chosen = chooseVariants(m, ['fp32', 'int8', 'fp16', 'q4'], new Set());
    const stored = restrictVariants(m, chosen);
    state = {
      key: bundleKey(m.id, m.version), id: m.id, version: m.version, name: m.name,
      source: { kind: 'import', folderName }, layout: 'manifest', variants: chosen, licenseName: m.license.name,
      status: 'planning', files: stored.files.map((f) => newFileState(f.path, f.bytes, f.sha256)),
      final: { path: 'manifest.json', text: JSON.stringify(stored, null, 1) }, createdAt: Date.now(),
    };
    if ((raw as { formatVersion: number }).formatVersion === 1) {
      // Picked names come from the browser (drag and drop builds them from entry names): same path rule as a manifest's.
      for (const p of paths) if (/^(tokenizer|scheduler)\//.test(p) || p === 'model_index.json') if (isSafeBundlePath(p) && !state.files.some((f) => f.path === p)) state.files.push(newFileState(p, byPath.get(p)!.size));
    }
  } else if (indexText !== undefined) {
    let index: Record<string, unknown>;
    try {
      index = JSON.parse(indexText) as Record<string, unknown>;
    } catch (e) {
      throw new AppError('BUNDLE_INVALID', `model_index.json in the folder "${folderName}" is not valid JSON (${(e as Error).message})`);
    }
    let candidates;
    try {
      candidates = optimumCandidates(index);
    } catch (e) {
      throw new AppError('BUNDLE_INVALID', `folder "${folderName}": ${(e as Error).message}`);
    }
    const h = await createSHA256();
    h.update(indexText);
    const version = `sha-${h.digest('hex').slice(0, 12)}`;
    const files = [];
    for (const c of candidates) {
      if (c.path === 'model_index.json') continue;
      const f = byPath.get(c.path);
      if (!f) {
        if (c.required) throw new AppError('MODEL_FILE_MISSING', `${c.path} is missing from the folder "${folderName}" (model_index.json lists ${c.folder})`);
        continue;
      }
      files.push(newFileState(c.path, f.size));
      if (isModelPath(c.path)) {
        // The model's own external-data files, by the names its .onnx gives (read from the header, no weights).
        const facts = await scanOnnxBlob(f, `${c.path} in the folder "${folderName}"`);
        for (const x of externalPaths(c.path, facts)) {
          const data = byPath.get(x.path);
          if (!data) throw missingExternal(c.path, x.path, `the folder "${folderName}"`);
          checkExternalSize(c.path, x.path, data.size);
          if (data.size < x.minBytes) throw new AppError('MODEL_FILE_CORRUPT', `${x.path} in the folder "${folderName}" has ${data.size} bytes, but ${c.path} reads up to byte ${x.minBytes} of it (truncated?)`);
          if (!files.some((g) => g.path === x.path)) files.push(newFileState(x.path, data.size));
        }
      }
    }
    const tok = tokenizerProblem(new Set(files.map((f) => f.path)));
    if (tok) throw new AppError('MODEL_FILE_MISSING', `folder "${folderName}": ${tok}`);
    const id = `import-${safeName(folderName)}`;
    state = {
      key: bundleKey(id, version), id, version, name: `${String(index._class_name)} (folder ${folderName})`,
      source: { kind: 'import', folderName }, layout: 'optimum', variants: { text_encoder: 'fp32', unet: 'fp32', vae_decoder: 'fp32' },
      status: 'planning', files, final: { path: 'model_index.json', text: indexText }, createdAt: Date.now(),
    };
  } else {
    throw new AppError('BUNDLE_NOT_FOUND', `the folder "${folderName}" has neither manifest.json nor model_index.json at its top`);
  }

  for (const f of state.files) {
    const src = byPath.get(f.path);
    if (!src) throw new AppError('MODEL_FILE_MISSING', `${f.path} is missing from the folder "${folderName}" (the manifest lists it)`);
    if (f.bytes !== undefined && src.size !== f.bytes) throw new AppError('MODEL_FILE_CORRUPT', `${f.path} in the folder "${folderName}" has ${src.size} bytes, the manifest says ${f.bytes}`);
  }
  const need = state.files.reduce((n, f) => n + (f.bytes ?? 0), 0);
  const est = await store.estimate();
  if (need > est.quota - est.usage) {
    throw new AppError('STORAGE_FULL', `importing "${folderName}" needs ${fmtMB(need)}, but only ${fmtMB(Math.max(0, est.quota - est.usage))} are free for this site (quota ${fmtMB(est.quota)}, used ${fmtMB(est.usage)})`);
  }

  // An earlier import of the same version is replaced as a whole (never mixed file by file).
  await store.removeBundle(state.key);
  state.status = 'downloading';
  await store.writeState(state);
  try {
    for (const f of state.files) {
      const src = byPath.get(f.path)!;
      const sink = await store.open(state.key, f.path);
      const h = await createSHA256();
      try {
        sink.truncate(0);
        const reader = src.stream().getReader();
        let at = 0;
        let last = 0;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          sink.write(value, { at });
          h.update(value);
          at += value.length;
          if (Date.now() - last > 100) {
            last = Date.now();
            onProgress(Installer.progressOf(state, { path: f.path, loaded: at }));
          }
        }
        sink.flush();
        f.offset = at;
      } finally {
        sink.close();
      }
      const got = h.digest('hex');
      if (f.sha256 && got !== f.sha256) throw new AppError('MODEL_FILE_CORRUPT', `${f.path} in the folder "${folderName}" does not match the manifest's SHA-256 (expected ${f.sha256}, got ${got})`);
      f.done = true;
      f.actualSha256 = got;
      f.bytes ??= f.offset;
    }
    await store.writeText(state.key, state.final.path, state.final.text);
  } catch (e) {
    await store.removeBundle(state.key);
    throw e;
  }
  state.status = 'checking';
  await store.writeState(state);
  onProgress(Installer.progressOf(state));
  return installer.describe(state);
}

/** Marks a checked import as installed (the engine loaded it against the contract). */
export async function acceptImport(store: BundleStore, installer: Installer, key: string): Promise<StoredBundle> {
  const s = await store.readState(key);
  if (!s || s.status !== 'checking') throw new AppError('INVALID_REQUEST', `${key} is not an import waiting for its check`);
  s.status = 'complete';
  s.installedAt = Date.now();
  await store.writeState(s);
  return installer.describe(s);
}
