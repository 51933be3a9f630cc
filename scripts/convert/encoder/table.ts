// The token-embedding table as a raw little-endian float16 (default) or float32 file [vocab, hidden] (+ `embed_tokens.json` describing
// it), so the engine gathers the ~200 rows a profile needs on the CPU instead of putting a 1.09 GB table (Qwen2.5-7B)
// on the GPU. Streamed a few MB of rows at a time from the source (external or inline fp32 / fp16 / bf16).
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { toHalf } from '../../../src/engine/tensors';
import { ConvertError } from '../errors';
import { externalRef, num, type LoadedModel, type TensorProto } from '../onnx-model';
import { elementReader, type CheckpointDType } from '../tensor';

export const TABLE_FILES = { float16: 'embed_tokens.f16', float32: 'embed_tokens.f32' } as const;
export type TableDtype = keyof typeof TABLE_FILES;
export const TABLE_JSON = 'embed_tokens.json';

/** What `embed_tokens.json` holds. */
export interface TableInfo {
  file: string;
  dtype: TableDtype;
  byteOrder: 'little';
  shape: [number, number];
}

const DTYPES: Record<number, CheckpointDType> = { 1: 'float32', 10: 'float16', 16: 'bfloat16', 11: 'float64' };
const BYTES: Record<CheckpointDType, number> = { float32: 4, float16: 2, bfloat16: 2, float64: 8 };

/** `dtype` float32 keeps an fp32 source exact (tests, parity); float16 is the browser default (half the bytes). */
export function writeTable(src: LoadedModel, t: TensorProto, dir: string, label: string, outType: TableDtype = 'float16'): { info: TableInfo; bytes: number; sha256: string } {
  const dtype = DTYPES[t.dataType ?? 0];
  if (!dtype) throw new ConvertError(`${label}: the embedding table ${t.name} has element type ${t.dataType}; expected float32, float16 or bfloat16`);
  const [V, H] = (t.dims ?? []).map(num);
  const rowBytes = H * BYTES[dtype];
  const ref = externalRef(t);
  const fd = ref ? openSync(join(src.dir, ref.location), 'r') : -1;
  if (!ref && (t.rawData?.length ?? 0) !== V * rowBytes) throw new ConvertError(`${label}: the embedding table ${t.name} is not stored as raw data of ${V}×${H}`);
  const file = TABLE_FILES[outType];
  const ob = outType === 'float16' ? 2 : 4;
  const out = openSync(join(dir, file), 'w');
  const h = createHash('sha256');
  const rows = Math.max(1, Math.floor((8 << 20) / rowBytes));
  const inBuf = Buffer.allocUnsafe(rows * rowBytes);
  const half = new Uint16Array(rows * H);
  const f32 = new Float32Array(rows * H);
  try {
    for (let r0 = 0; r0 < V; r0 += rows) {
      const n = Math.min(rows, V - r0);
      let src8: Uint8Array;
      if (ref) {
        const want = n * rowBytes;
        for (let got = 0; got < want; ) {
          const k = readSync(fd, inBuf, got, want - got, ref.offset + r0 * rowBytes + got);
          if (k <= 0) throw new ConvertError(`${label}: ${ref.location} ended inside the embedding table`);
          got += k;
        }
        src8 = inBuf.subarray(0, want);
      } else src8 = t.rawData!.subarray(r0 * rowBytes, (r0 + n) * rowBytes);
      const get = elementReader(src8, dtype);
      if (outType === 'float16') for (let i = 0; i < n * H; i++) half[i] = toHalf(get(i)); // nearest even; fp16 sources pass unchanged
      else for (let i = 0; i < n * H; i++) f32[i] = get(i);
      // Typed arrays are little-endian on every platform this runs on (x86, ARM).
      const le = outType === 'float16' ? Buffer.from(half.buffer, 0, n * H * 2) : Buffer.from(f32.buffer, 0, n * H * 4);
      h.update(le);
      for (let off = 0; off < le.length; ) off += writeSync(out, le, off, le.length - off);
    }
  } finally {
    closeSync(out);
    if (fd >= 0) closeSync(fd);
  }
  return { info: { file, dtype: outType, byteOrder: 'little', shape: [V, H] }, bytes: V * H * ob, sha256: h.digest('hex') };
}
