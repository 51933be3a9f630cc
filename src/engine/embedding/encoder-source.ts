// Where a profile encoder's files are and what identifies it. Two layouts:
// - inside a psa-web bundle: the manifest's `profile_encoder` component (variant picked for the backend) with the
//   tokenizer folder `profileTokenizer.path` (default: the model's folder);
// - a standalone folder in the Optimum / transformers.js feature-extraction layout (`model.onnx` or `onnx/model.onnx`,
//   external data `model.onnx_data`, `model.onnx_data_1`, …, `tokenizer.json`, `tokenizer_config.json`, `config.json`),
//   as the CLI's `--encoder DIR` takes it.
// The identity (`encoderId`) is a SHA-256 over the model's and the tokenizer files' SHA-256s, so a changed model,
// tokenizer or chat template gives a new id and cached embeddings are recomputed.
import { encoderGroupVariants, type ModelFile, type Variant } from '../../shared/bundle';
import { AppError } from '../../shared/errors';
import type { BundleReader } from '../bundle-reader';
import type { ResolvedBundle } from '../bundle-resolve';
import { pickVariant } from '../models';
import { variantOrder } from '../variant-order';
import type { Runtime } from '../sessions';
import { GROUPS_INDEX } from './groups';

export interface EncoderSource {
  reader: BundleReader;
  model: ModelFile;
  variant: Variant;
  /** Folder (relative to the reader's root, '' = root) with tokenizer.json + tokenizer_config.json. */
  tokenizerFolder: string;
  /** Known when every file carries a manifest sha256; else computed from the bytes when they are read. */
  id?: string;
  /**
   * Set for a layer-group encoder (groups.ts): the folder holding encoder_groups.json. `model` then stands for the
   * whole set (index file, with the table and every group file as its externalData) so the identity covers them all.
   */
  groups?: { folder: string };
}

const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json'];

export async function sha256Hex(bytes: Uint8Array | string): Promise<string> {
  const data = typeof bytes === 'string' ? new TextEncoder().encode(bytes) : bytes;
  const d = await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The encoder identity from the hex SHA-256s of its model files and tokenizer files (order as given). */
export async function encoderIdOf(modelShas: string[], tokenizerShas: string[]): Promise<string> {
  return sha256Hex(`psa-profile-encoder\nmodel ${modelShas.join(' ')}\ntokenizer ${tokenizerShas.join(' ')}\n`);
}

/** The loaded bundle's profile encoder, or undefined when the bundle has none. */
export function bundleEncoder(reader: BundleReader, bundle: ResolvedBundle, backend: Runtime['backend'], shaderF16: boolean): EncoderSource | undefined {
  const order = variantOrder(backend, shaderF16);
  const sets = encoderGroupVariants(bundle.profileEncoderGroups);
  if (Object.keys(sets).length) {
    // The layer-group variants are picked like the U-Net's (a downloaded bundle keeps just the one it fetched).
    const variant = pickVariant(sets, order, backend);
    if (!variant) throw new AppError('BACKEND_INIT_FAILED', `this device can run none of the profile encoder's variants (${Object.keys(sets).join(', ')}): they need shader-f16`);
    const eg = sets[variant]!;
    const folder = eg.index.path.split('/').slice(0, -1).join('/');
    const model = { ...eg.index, externalData: [eg.table, ...eg.groups.flatMap((g) => [g, ...(g.externalData ?? [])])] };
    return { reader, model, variant, tokenizerFolder: bundle.profileTokenizerPath ?? folder, groups: { folder } };
  }
  const variants = bundle.files.profile_encoder;
  if (!variants) return undefined;
  const variant = order.find((v) => variants[v]) ?? (Object.keys(variants)[0] as Variant | undefined);
  if (!variant) return undefined;
  const model = variants[variant]!;
  const folder = bundle.profileTokenizerPath ?? model.path.split('/').slice(0, -1).join('/');
  return { reader, model, variant, tokenizerFolder: folder };
}

/**
 * The identity of a bundle's encoder without reading the model: the manifest's sha256s of the model (and its
 * external data) plus hashes of the small tokenizer files. A model without a manifest sha256 is hashed from its bytes.
 */
export async function bundleEncoderId(src: EncoderSource): Promise<string> {
  const r = src.reader;
  const modelShas: string[] = [];
  for (const f of [src.model, ...(src.model.externalData ?? [])]) modelShas.push(f.sha256 ?? (await sha256Hex(await r.bytes(f.path))));
  const tokShas: string[] = [];
  for (const f of TOKENIZER_FILES) tokShas.push(await sha256Hex(await r.bytes(src.tokenizerFolder ? `${src.tokenizerFolder}/${f}` : f)));
  return encoderIdOf(modelShas, tokShas);
}

/** A standalone encoder folder (Optimum / transformers.js feature-extraction layout); names the missing file. */
export async function folderEncoder(reader: BundleReader): Promise<EncoderSource> {
  // A converted layer-group folder (npm run convert -- --profile-encoder): encoder_groups.json at its root.
  if (await reader.exists(GROUPS_INDEX)) {
    for (const f of TOKENIZER_FILES) {
      if (!(await reader.exists(f))) throw new AppError('MODEL_FILE_MISSING', `${f} is missing from the profile encoder folder ${reader.label}`);
    }
    return { reader, model: { path: GROUPS_INDEX }, variant: 'fp32', tokenizerFolder: '', groups: { folder: '' } };
  }
  let modelPath: string | undefined;
  for (const p of ['model.onnx', 'onnx/model.onnx']) if (await reader.exists(p)) {
    modelPath = p;
    break;
  }
  if (!modelPath) throw new AppError('MODEL_FILE_MISSING', `model.onnx is missing from the profile encoder folder ${reader.label} (looked for model.onnx and onnx/model.onnx)`);
  for (const f of TOKENIZER_FILES) {
    if (!(await reader.exists(f))) throw new AppError('MODEL_FILE_MISSING', `${f} is missing from the profile encoder folder ${reader.label}`);
  }
  // transformers.js / Optimum name external-data chunks model.onnx_data, model.onnx_data_1, … next to the graph.
  const dir = modelPath.includes('/') ? modelPath.slice(0, modelPath.lastIndexOf('/') + 1) : '';
  const externalData: { path: string }[] = [];
  for (let i = 0; i < 100; i++) {
    const p = `${dir}model.onnx_data${i ? `_${i}` : ''}`;
    if (!(await reader.exists(p))) break;
    externalData.push({ path: p });
  }
  return { reader, model: { path: modelPath, ...(externalData.length ? { externalData } : {}) }, variant: 'fp32', tokenizerFolder: '' };
}
