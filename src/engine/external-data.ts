// The external-data files a model needs, as its own .onnx names them (onnx-scan.ts), turned into bundle paths and
// checked: each path stays inside the bundle, each file is there, and none is larger than one file the engine can
// hand ORT. Used wherever a plain export's files are listed (folder import, download by URL) and where a session is
// created from one (models.ts, the safety checker), so the three agree on which files a model has.

import { isSafeBundlePath, type ModelFile } from '../shared/bundle';
import { AppError } from '../shared/errors';
import { externalBytes, type BundleReader } from './bundle-reader';
import { scanOnnxBytes, type ExternalFile, type OnnxFacts } from './onnx-scan';

/**
 * Largest external-data file accepted: 2 GiB. Why: the browser readers hand ORT each file as one Uint8Array (the
 * HTTP reader, and onnxruntime-web itself for a Blob or URL), and Chrome's ArrayBuffer cap is about 2 GB; ORT-web's
 * external-data loader also takes offsets into that one array. The converter writes U-Net weights in ≤ 1 GiB files
 * (scripts/convert/write-model.ts), so re-chunking is the fix. A single SD1.5 fp32 U-Net file is 3.44 GB.
 */
export const MAX_EXTERNAL_FILE_BYTES = 2 * 1024 ** 3;

export interface ExternalPath {
  /** Path inside the bundle ('unet/weights.pb'). */
  path: string;
  /** The name ORT looks the bytes up by: the model's `location`, without a leading './'. */
  location: string;
  /** Least size the graph says the file has (largest offset + length). */
  minBytes: number;
}

const gb = (n: number) => `${(n / 1e9).toFixed(2)} GB`;

/** The external-data files of `modelPath` (a bundle path) from its scan; refuses locations outside the bundle. */
export function externalPaths(modelPath: string, facts: Pick<OnnxFacts, 'externalFiles'>): ExternalPath[] {
  const dir = modelPath.includes('/') ? modelPath.slice(0, modelPath.lastIndexOf('/') + 1) : '';
  return facts.externalFiles.map((f: ExternalFile) => {
    const location = f.location.replace(/^(\.\/)+/, '');
    const path = `${dir}${location}`;
    if (!isSafeBundlePath(path) || location.includes('\\')) {
      throw new AppError('BUNDLE_INVALID', `${modelPath} names its external data ${JSON.stringify(f.location)}, which is not a file inside the model's folder`);
    }
    checkExternalSize(modelPath, path, f.minBytes, 'at least');
    return { path, location, minBytes: f.minBytes };
  });
}

/**
 * Refuses an external-data file over MAX_EXTERNAL_FILE_BYTES, naming the file, its size, the cap and the fix.
 * `how` says where the size came from: 'at least' for the graph's offsets (the file itself not seen yet).
 */
export function checkExternalSize(modelPath: string, path: string, bytes: number, how: 'at least' | 'is' = 'is'): void {
  if (bytes <= MAX_EXTERNAL_FILE_BYTES) return;
  const size = how === 'is' ? `is ${gb(bytes)} (${bytes} bytes)` : `holds at least ${gb(bytes)} (${bytes} bytes, by ${modelPath}'s offsets)`;
  throw new AppError(
    'BUNDLE_INVALID',
    `${path} (external data of ${modelPath}) ${size}: one weights file may be at most 2 GiB (${MAX_EXTERNAL_FILE_BYTES} bytes), the largest ArrayBuffer a browser hands the model loader. `
      + 'Re-chunk it into files of at most 1 GiB with `npm run convert -- --sd15 <folder> --psa <adapter> --out <dir>` and load the converted bundle',
  );
}

/** The file for `missing` names the .onnx that needs it. */
export function missingExternal(modelPath: string, path: string, where: string): AppError {
  return new AppError('MODEL_FILE_MISSING', `${path} is missing from ${where}: ${modelPath} stores its weights there (its external data)`);
}

export interface ModelWeights {
  /** For ORT's `externalData`: the name the model uses and the bytes. Undefined when the weights are inline. */
  externalData?: { path: string; data: Uint8Array }[];
  /** The scan of the model (absent when the manifest listed the files, which were then not scanned). */
  facts?: OnnxFacts;
}

/**
 * The external data for a session of `file`, whose .onnx bytes are `bytes`. A manifest's own list is used as it is
 * (the converter wrote it with the names the graph uses); otherwise — a plain export — the graph is scanned and
 * each file it names is read, after checking that it is there and within the cap.
 */
export async function modelWeights(
  reader: BundleReader, file: ModelFile, bytes: Uint8Array,
  onProgress?: (path: string, loaded: number, total: number) => void,
  /** Runs on the scan before any weights are read (throw to refuse the model). */
  check?: (facts: OnnxFacts) => void,
): Promise<ModelWeights> {
  const progress = (p: string) => (l: number, t: number) => onProgress?.(p, l, t);
  if (file.externalData?.length) {
    return { externalData: await Promise.all(file.externalData.map(async (x) => ({ path: x.path.split('/').pop()!, data: await externalBytes(reader, x.path, progress(x.path)) }))) };
  }
  const facts = await scanOnnxBytes(bytes, file.path);
  check?.(facts);
  const paths = externalPaths(file.path, facts);
  for (const x of paths) if (!(await reader.exists(x.path))) throw missingExternal(file.path, x.path, `the bundle at ${reader.label}`);
  const externalData = [];
  for (const x of paths) {
    const data = await externalBytes(reader, x.path, progress(x.path));
    checkExternalSize(file.path, x.path, data.byteLength);
    externalData.push({ path: x.location, data });
  }
  return { facts, ...(externalData.length ? { externalData } : {}) };
}
