// Test helper: a complete Optimum-layout folder for one of fixtures/layouts/<name> — a copy of the parity export
// (fixtures/parity/bundle: tokenizer, scheduler, model_index.json, and any model the layout does not hold) with the
// layout's model folders laid over it (each replaces the parity folder of the same name whole).
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onnx } from '../../scripts/convert/onnx-model';
import { MAX_EXTERNAL_FILE_BYTES } from '../../src/engine/external-data';

export const LAYOUTS = path.resolve(import.meta.dirname, '..', '..', 'fixtures', 'layouts');
const PARITY_BUNDLE = path.resolve(import.meta.dirname, '..', '..', 'fixtures', 'parity', 'bundle');

/** A fresh temp folder (caller removes it) holding the assembled export; its name is `folderName`. */
export function assembleLayout(name: string, folderName = name): string {
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'psa-layout-')), folderName);
  cpSync(PARITY_BUNDLE, dir, { recursive: true });
  const src = path.join(LAYOUTS, name);
  for (const sub of readdirSync(src)) {
    if (!statSync(path.join(src, sub)).isDirectory()) continue;
    rmSync(path.join(dir, sub), { recursive: true, force: true });
    cpSync(path.join(src, sub), path.join(dir, sub), { recursive: true });
  }
  return dir;
}

/** Removes what assembleLayout made (the temp parent too). */
export function removeLayout(dir: string): void {
  rmSync(path.dirname(dir), { recursive: true, force: true });
}

/**
 * named/unet/model.onnx with its first external initializer's `offset` moved to just below 2 GiB (length kept): a
 * real, small .onnx that declares a weights file over the cap, so the refusal is tested without writing 2 GB.
 */
export function overCapUnet(): Uint8Array {
  const m = onnx.ModelProto.decode(readFileSync(path.join(LAYOUTS, 'named/unet/model.onnx')));
  const t = m.graph!.initializer!.find((x) => x.externalData?.length)!;
  t.externalData!.find((e) => e.key === 'offset')!.value = String(MAX_EXTERNAL_FILE_BYTES - 8);
  return onnx.ModelProto.encode(m).finish();
}
