// Small tensor helpers: typed feeds in the element type a model declares (int32/int64 ids, int64/float32/float16
// timesteps, float16 activations), and float16 conversion for fp16 bundles.

import type { OrtLike, Tensor } from './ort-types';

export type Elem = 'float32' | 'float16' | 'int64' | 'int32';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half from a float (round to nearest even), as numpy's astype(float16). */
export function toHalf(x: number): number {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** A float tensor in the element type the model wants (float32 or float16). */
export function floatTensor(ort: OrtLike, type: Elem, data: Float32Array, dims: number[]): Tensor {
  if (type === 'float16') return new ort.Tensor('float16', Uint16Array.from(data, toHalf), dims);
  return new ort.Tensor('float32', data, dims);
}

/**
 * Float32 values of a float16 tensor's data. Why both forms: onnxruntime-web hands float16 data out as a
 * Float16Array where the platform has one (Chromium 135+: the values themselves) and as a Uint16Array of raw bits
 * elsewhere (onnxruntime-node, older browsers). Decoding a Float16Array's values as bits turns a picture flat.
 */
export function halfData(d: unknown): Float32Array {
  return d instanceof Uint16Array ? Float32Array.from(d, fromHalf) : Float32Array.from(d as ArrayLike<number>);
}

/** Float32 view of a CPU tensor's data (converting float16). */
export function floatData(t: Tensor): Float32Array {
  if (t.type === 'float16') return halfData(t.data);
  return t.data as Float32Array;
}

export function idsTensor(ort: OrtLike, type: Elem, rows: number[][]): Tensor {
  const flat = rows.flat();
  const dims = [rows.length, rows[0].length];
  if (type === 'int64') return new ort.Tensor('int64', BigInt64Array.from(flat, (x) => BigInt(x)), dims);
  return new ort.Tensor('int32', Int32Array.from(flat), dims);
}

/**
 * The U-Net timestep in the declared type. Integer exports get the timestep truncated toward zero, as diffusers'
 * OnnxStableDiffusionPipeline does with `np.array([t], dtype=int64)`; float exports get it exactly.
 */
export function timestepTensor(ort: OrtLike, type: Elem, t: number, n: number): Tensor {
  if (type === 'int64') return new ort.Tensor('int64', new BigInt64Array(n).fill(BigInt(Math.trunc(t))), [n]);
  if (type === 'float16') return new ort.Tensor('float16', new Uint16Array(n).fill(toHalf(t)), [n]);
  return new ort.Tensor('float32', new Float32Array(n).fill(t), [n]);
}
