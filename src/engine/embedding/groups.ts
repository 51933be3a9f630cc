// The profile encoder as layer groups (written by `npm run convert -- --profile-encoder`, see
// scripts/convert/encoder/): the token rows are gathered on the CPU from the raw embedding table, then each group is
// created, run, its hidden state copied to the CPU, and released before the next is created — so the GPU holds about
// one group's weights at a time (a 4–5 GB Qwen2.5-7B never has to be one session); on browser WebGPU each group runs
// on a GPUDevice of its own that is destroyed after the release (group-device.ts). The caller pools the last group's
// `last_hidden_state` (masked mean in fp32, NaN/Inf refused: pooling.ts).
// The table is read whole through the bundle reader (BundleReader has no range reads yet); only the needed rows are
// kept. Progress: 'load' with running bytes over every group file, 'run' with (group index, count), 'release' with
// (groups done, count).
import { AppError } from '../../shared/errors';
import { externalBytes, type BundleReader } from '../bundle-reader';
import type { InferenceSession, Tensor } from '../ort-types';
import { createSession, inputMeta, type Runtime } from '../sessions';
import { toHalf } from '../tensors';
import { groupDevice } from './group-device';
import { groupEvent } from './groups-ledger';
import { halfToFloat } from './pooling';

export const GROUPS_INDEX = 'encoder_groups.json';

export interface GroupsIndex {
  format: 'psa-web-encoder-groups';
  version: number;
  layers: number;
  hiddenSize: number;
  table: string;
  input: string;
  groups: { file: string; externalData: string[]; layers: [number, number] | null; finalNorm: boolean; output: string }[];
  /** The groups' weight variant (absent: float32); informational, every variant takes and returns float32. */
  quantize?: string;
}
export interface TableInfo {
  file: string;
  /** int8: each row is a float32 little-endian scale, then H int8 codes (row ≈ code · scale; the q4 / int8 encoders). */
  dtype: 'float16' | 'float32' | 'int8';
  byteOrder: 'little';
  shape: [number, number];
}

export type GroupProgress = (phase: 'load' | 'run' | 'release', loaded?: number, total?: number) => void;

export interface GroupHooks {
  signal?: AbortSignal;
  onProgress?: GroupProgress;
  /** Called after each session is created / released (live-session accounting, GPU ledger in tests). */
  onCreated?: (group: number) => void;
  onReleased?: (group: number) => void;
  /**
   * Every file's bytes as read (the caller hashes them for the encoder id when the manifest has no sha256s). Without
   * it, the table and the groups' external data are read by range where the reader can (a stored bundle: only the
   * table rows asked for, one initializer at a time — never a whole file); with it, every file is read whole.
   */
  onFile?: (path: string, bytes: Uint8Array) => void;
}

const at = (folder: string, f: string) => (folder ? `${folder}/${f}` : f);

async function json<T>(r: BundleReader, path: string): Promise<[T, Uint8Array]> {
  const bytes = await r.bytes(path);
  try {
    return [JSON.parse(new TextDecoder().decode(bytes)) as T, bytes];
  } catch (e) {
    throw new AppError('BUNDLE_INVALID', `${path} in ${r.label} is not valid JSON (${(e as Error).message})`);
  }
}

/** Reads and checks encoder_groups.json + the table description in `folder`. */
export async function readGroupsIndex(r: BundleReader, folder: string, hooks: GroupHooks = {}): Promise<{ index: GroupsIndex; table: TableInfo }> {
  const [index, ib] = await json<GroupsIndex>(r, at(folder, GROUPS_INDEX));
  hooks.onFile?.(at(folder, GROUPS_INDEX), ib);
  if (index?.format !== 'psa-web-encoder-groups' || !Array.isArray(index.groups) || !index.groups.length || typeof index.table !== 'string') {
    throw new AppError('BUNDLE_INVALID', `${at(folder, GROUPS_INDEX)} in ${r.label} is not a layer-group encoder index`);
  }
  const [table, tb] = await json<TableInfo>(r, at(folder, index.table));
  hooks.onFile?.(at(folder, index.table), tb);
  if (!['float16', 'float32', 'int8'].includes(table.dtype) || table.byteOrder !== 'little' || table.shape?.length !== 2 || table.shape[1] !== index.hiddenSize) {
    throw new AppError('BUNDLE_INVALID', `${at(folder, index.table)} in ${r.label} must describe a little-endian float16/float32/int8 [vocab, ${index.hiddenSize}] table`);
  }
  return { index, table };
}

/**
 * The rows of `ids` from the table as float32 [T × H]. A stored bundle's table is read row by row (a 7B encoder's
 * table is ~1 GB for a few hundred rows); otherwise, or when the caller hashes every file, it is read whole.
 */
export async function gatherRows(r: BundleReader, folder: string, table: TableInfo, ids: readonly number[], hooks: GroupHooks = {}): Promise<Float32Array> {
  const [V, H] = table.shape;
  const path = at(folder, table.file);
  const bytes = hooks.onFile ? await r.bytes(path) : await externalBytes(r, path);
  hooks.onFile?.(path, bytes);
  const rowBytes = table.dtype === 'float16' ? H * 2 : table.dtype === 'int8' ? H + 4 : H * 4;
  if (bytes.byteLength !== V * rowBytes) throw new AppError('MODEL_FILE_CORRUPT', `${path} in ${r.label} holds ${bytes.byteLength} bytes; ${V}×${H} ${table.dtype} needs ${V * rowBytes}`);
  const out = new Float32Array(ids.length * H);
  ids.forEach((id, t) => {
    if (!(id >= 0 && id < V)) throw new AppError('INVALID_REQUEST', `token id ${id} is outside the embedding table (${V} rows)`);
    const row = bytes.subarray(id * rowBytes, (id + 1) * rowBytes); // a read of just this row where ranged
    const dv = new DataView(row.buffer, row.byteOffset, row.byteLength);
    if (table.dtype === 'int8') {
      const scale = dv.getFloat32(0, true);
      for (let e = 0; e < H; e++) out[t * H + e] = dv.getInt8(4 + e) * scale;
    } else for (let e = 0; e < H; e++) out[t * H + e] = table.dtype === 'float16' ? halfToFloat(dv.getUint16(e * 2, true)) : dv.getFloat32(e * 4, true);
  });
  return out;
}

function checkAbort(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AppError('CANCELLED', 'the embedding was cancelled');
}

/** A hidden-state tensor in the element type the group declares (float16 as raw bits). */
function hiddenTensor(rt: Runtime, s: InferenceSession, data: Float32Array | Uint16Array, dims: number[]): Tensor {
  const want = inputMeta(s, 'hidden_states')?.type === 'float16' ? 'float16' : 'float32';
  if (want === 'float16') return new rt.ort.Tensor('float16', data instanceof Uint16Array ? data : Uint16Array.from(data, toHalf), dims);
  return new rt.ort.Tensor('float32', data instanceof Float32Array ? data : Float32Array.from(data, halfToFloat), dims);
}

/**
 * Runs the groups in order from the gathered rows; returns the last hidden state [1, T, H] on the CPU (float32, or
 * float16 bits when the last group outputs float16). Each session is released before the next is created, on
 * success, error and cancel alike.
 */
export async function runGroups(rt: Runtime, r: BundleReader, folder: string, index: GroupsIndex, rows: Float32Array, mask: readonly number[], hooks: GroupHooks = {}): Promise<{ data: Float32Array | Uint16Array; dims: number[] }> {
  const T = mask.length;
  const H = index.hiddenSize;
  const n = index.groups.length;
  const paths = index.groups.map((g) => [g.file, ...g.externalData].map((f) => at(folder, f)));
  let loaded = 0;
  let hidden: Float32Array | Uint16Array = rows;
  groupEvent('start', 0, n);
  for (let k = 0; k < n; k++) {
    checkAbort(hooks.signal);
    const g = index.groups[k];
    // External data of a stored bundle is handed to ORT by range (read as ORT copies each initializer, progress
    // reported then); everything else is read whole here.
    const read = async (p: string, external: boolean): Promise<Uint8Array> => {
      const base = loaded;
      const progress = (l: number) => hooks.onProgress?.('load', base + l);
      const byRange = external && !hooks.onFile && !!r.externalBytes;
      let b: Uint8Array;
      try {
        b = byRange ? await r.externalBytes!(p, progress) : await r.bytes(p, progress);
      } catch (e) {
        if (e instanceof AppError && e.code === 'MODEL_FILE_MISSING') throw new AppError('MODEL_FILE_MISSING', `profile encoder layer group ${k + 1} of ${n}: ${p} is missing (${e.message})`);
        throw e;
      }
      loaded += b.byteLength;
      if (!byRange) hooks.onProgress?.('load', loaded);
      hooks.onFile?.(p, b);
      return b;
    };
    const model = await read(paths[k][0], false);
    const externalData: { path: string; data: Uint8Array }[] = [];
    for (const x of g.externalData) externalData.push({ path: x, data: await read(at(folder, x), true) });
    checkAbort(hooks.signal);
    // On browser WebGPU each group gets a device of its own, destroyed after the release (group-device.ts says why).
    const device = rt.backend === 'webgpu' ? await groupDevice() : undefined;
    let session: InferenceSession | undefined;
    try {
      const grt: Runtime = device ? { ...rt, sessionOptions: { ...rt.sessionOptions, ...device.options } } : rt;
      session = await createSession(grt, model, { file: paths[k][0], externalData: externalData.length ? externalData : undefined });
    } catch (e) {
      device?.destroy();
      throw e;
    }
    hooks.onCreated?.(k);
    groupEvent('created', k, n);
    externalData.length = 0;
    try {
      hooks.onProgress?.('run', k, n);
      const feeds: Record<string, Tensor> = { hidden_states: hiddenTensor(rt, session, hidden, [1, T, H]) };
      if (inputMeta(session, 'attention_mask')) feeds.attention_mask = new rt.ort.Tensor('int64', BigInt64Array.from(mask, (x) => BigInt(x)), [1, T]);
      if (inputMeta(session, 'position_ids')) feeds.position_ids = new rt.ort.Tensor('int64', BigInt64Array.from({ length: T }, (_, i) => BigInt(i)), [1, T]);
      const s = session;
      const out = await rt.serial(() => s.run(feeds, [g.output]));
      const h = out[g.output];
      if (!h) throw new AppError('CONTRACT_MISMATCH', `${paths[k][0]} did not return ${g.output}`);
      // Copy out (getData downloads a GPU tensor; data is already CPU-side otherwise), then drop the tensor.
      const data = (h.location === 'gpu-buffer' ? await h.getData(true) : h.data) as Float32Array | Uint16Array;
      hidden = data instanceof Uint16Array ? Uint16Array.from(data) : Float32Array.from(data as Float32Array);
      h.dispose?.();
      if (hidden.length !== T * H) throw new AppError('CONTRACT_MISMATCH', `${paths[k][0]} returned ${hidden.length} values for [1, ${T}, ${H}]`);
    } finally {
      const s = session;
      session = undefined;
      try {
        await rt.serial(() => s.release());
      } catch {
        // nothing more to do; the caller's accounting still sees the release
      }
      device?.destroy();
      hooks.onReleased?.(k);
      groupEvent('released', k, n);
      hooks.onProgress?.('release', k + 1, n);
    }
  }
  return { data: hidden, dims: [1, T, H] };
}
