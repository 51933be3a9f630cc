// The token-embedding table as a raw little-endian float16 (default) or float32 file [vocab, hidden], or int8 rows
// (+ `embed_tokens.json` describing it), so the engine gathers the ~200 rows a profile needs on the CPU instead of putting a 1.09 GB table (Qwen2.5-7B)
// on the GPU. Streamed a few MB of rows at a time from the source (external or inline fp32 / fp16 / bf16).
// int8 (the q4 / int8 encoders' table, half of float16's bytes): each row is its float32 little-endian scale
// (max |row| / 127) followed by its H int8 codes (symmetric, zero point 0: row ≈ code · scale), so one row is still
// one contiguous range of H + 4 bytes and the engine reads just the rows it needs. Per-row scales because Qwen's rows
// differ in magnitude; the rounding (≤ scale / 2 per element, ≤ 0.4 % of the row's peak) is far below what 4-bit
// weights do to the embedding (README's accuracy table).
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { toHalf } from '../../../src/engine/tensors';
import { ConvertError } from '../errors';
import { externalRef, num, type LoadedModel, type TensorProto } from '../onnx-model';
import { elementReader, type CheckpointDType } from '../tensor';

export const TABLE_FILES = { float16: 'embed_tokens.f16', float32: 'embed_tokens.f32', int8: 'embed_tokens.i8' } as const;
export type TableDtype = keyof typeof TABLE_FILES;
export const TABLE_JSON = 'embed_tokens.json';

/** What `embed_tokens.json` holds. */
export interface TableInfo {
  file: string;
  /** int8: rows of [float32 scale, H × int8] (see above). */
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
  const outRow = outType === 'float16' ? H * 2 : outType === 'int8' ? H + 4 : H * 4;
  const out = openSync(join(dir, file), 'w');
  const h = createHash('sha256');
  const rows = Math.max(1, Math.floor((8 << 20) / rowBytes));
  const inBuf = Buffer.allocUnsafe(rows * rowBytes);
  const half = new Uint16Array(rows * H);
  const f32 = new Float32Array(rows * H);
  const i8 = Buffer.alloc(rows * (H + 4));
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
      else if (outType === 'int8') int8Rows(get, n, H, i8);
      else for (let i = 0; i < n * H; i++) f32[i] = get(i);
      // Typed arrays are little-endian on every platform this runs on (x86, ARM).
      const le = outType === 'float16' ? Buffer.from(half.buffer, 0, n * H * 2) : outType === 'int8' ? i8.subarray(0, n * (H + 4)) : Buffer.from(f32.buffer, 0, n * H * 4);
      h.update(le);
      for (let off = 0; off < le.length; ) off += writeSync(out, le, off, le.length - off);
    }
  } finally {
    closeSync(out);
    if (fd >= 0) closeSync(fd);
  }
  return { info: { file, dtype: outType, byteOrder: 'little', shape: [V, H] }, bytes: V * outRow, sha256: h.digest('hex') };
}

/** `n` rows of `get` (H values each) as [float32 scale, H int8] rows into `out`. */
function int8Rows(get: (i: number) => number, n: number, H: number, out: Buffer): void {
  for (let r = 0; r < n; r++) {
    let peak = 0;
    for (let e = 0; e < H; e++) peak = Math.max(peak, Math.abs(get(r * H + e)));
    const scale = Math.fround(peak > 0 ? peak / 127 : 1);
    const base = r * (H + 4);
    out.writeFloatLE(scale, base);
    for (let e = 0; e < H; e++) out.writeInt8(Math.max(-127, Math.min(127, Math.round(get(r * H + e) / scale))), base + 4 + e);
  }
}
