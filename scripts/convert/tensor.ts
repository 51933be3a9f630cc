// A checkpoint tensor as the converter uses it: shape + float32 values (fp16 / bf16 / fp64 widened on read).
// Checkpoint dtypes are recorded so the README can say what the adapter shipped as.

export type CheckpointDType = 'float32' | 'float16' | 'bfloat16' | 'float64';

export interface Tensor {
  shape: number[];
  dtype: CheckpointDType;
  data: Float32Array;
}

export const DTYPE_BYTES: Record<CheckpointDType, number> = { float32: 4, float16: 2, bfloat16: 2, float64: 8 };

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** Element `i` of a little-endian buffer holding `dtype` values, as a JS number. */
export function elementReader(bytes: Uint8Array, dtype: CheckpointDType): (i: number) => number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'float32': return (i) => dv.getFloat32(i * 4, true);
    case 'float64': return (i) => dv.getFloat64(i * 8, true);
    case 'float16': return (i) => halfToFloat(dv.getUint16(i * 2, true));
    case 'bfloat16': {
      const tmp = new DataView(new ArrayBuffer(4));
      return (i) => (tmp.setUint32(0, dv.getUint16(i * 2, true) << 16), tmp.getFloat32(0));
    }
  }
}

/** Gathers a (possibly strided) view of a storage into a dense float32 tensor. */
export function materialize(bytes: Uint8Array, dtype: CheckpointDType, offset: number, shape: number[], stride: number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  const get = elementReader(bytes, dtype);
  const idx = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < n; k++) {
    let src = offset;
    for (let d = 0; d < shape.length; d++) src += idx[d] * stride[d];
    out[k] = get(src);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

export const shapeText = (s: readonly number[]): string => `[${s.join(', ')}]`;
