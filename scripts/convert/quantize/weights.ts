// The quantization arithmetic, on one float32 weight at a time (pure functions, no ONNX):
// - int8: symmetric, per output channel (scale = max|w| / 127 over the channel, zero point 0), as DequantizeLinear
//   with `axis` reads it back: w ≈ q · scale[channel].
// - q4: onnxruntime's MatMulNBits layout (com.microsoft, bits 4): for every output column n and every block of
//   `block` consecutive rows along K, codes 0..15 with the default zero point 8, packed two per byte, low nibble
//   first; B is [N, K/block, block/2] uint8 and scales [N · K/block] (n-major). Like ORT's own symmetric quantizer,
//   the scale is (the block's value of largest magnitude) / −8, so that value is represented exactly.

/** Per-channel symmetric int8 of `w` with the channel on `axis` of `dims`. */
export function quantizeInt8(w: Float32Array, dims: readonly number[], axis: number): { q: Int8Array; scale: Float32Array } {
  const channels = dims[axis];
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const maxAbs = new Float32Array(channels);
  for (let i = 0; i < w.length; i++) {
    const ch = Math.floor(i / inner) % channels;
    const a = Math.abs(w[i]);
    if (a > maxAbs[ch]) maxAbs[ch] = a;
  }
  const scale = maxAbs.map((a) => (a > 0 ? a / 127 : 1));
  const q = new Int8Array(w.length);
  for (let i = 0; i < w.length; i++) {
    const ch = Math.floor(i / inner) % channels;
    q[i] = Math.max(-127, Math.min(127, Math.round(w[i] / scale[ch])));
  }
  return { q, scale };
}

/**
 * 4-bit block quantization for MatMulNBits. `w` is [K, N] (a MatMul weight, `kMajor`) or [N, K] (Gemm with
 * transB = 1). K must be a multiple of `block`.
 */
export function quantizeQ4(w: Float32Array, K: number, N: number, kMajor: boolean, block = 32): { packed: Uint8Array; scales: Float32Array } {
  if (K % block) throw new Error(`quantizeQ4: K = ${K} is not a multiple of the block size ${block}`);
  const nb = K / block;
  const blob = block / 2;
  const packed = new Uint8Array(N * nb * blob);
  const scales = new Float32Array(N * nb);
  const at = kMajor ? (k: number, n: number) => w[k * N + n] : (k: number, n: number) => w[n * K + k];
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < nb; b++) {
      let peak = 0;
      for (let k = b * block; k < (b + 1) * block; k++) {
        const v = at(k, n);
        if (Math.abs(v) > Math.abs(peak)) peak = v;
      }
      const scale = Math.fround(peak / -8);
      scales[n * nb + b] = scale;
      const inv = scale ? 1 / scale : 0;
      const base = (n * nb + b) * blob;
      for (let j = 0; j < block; j++) {
        const code = Math.max(0, Math.min(15, Math.round(at(b * block + j, n) * inv) + 8));
        packed[base + (j >> 1)] |= j & 1 ? code << 4 : code;
      }
    }
  }
  return { packed, scales };
}

/** The float weight MatMulNBits computes with, as [K, N] (for tests and error estimates). */
export function dequantizeQ4(packed: Uint8Array, scales: Float32Array, K: number, N: number, block = 32): Float32Array {
  const nb = K / block;
  const out = new Float32Array(K * N);
  for (let n = 0; n < N; n++) {
    for (let k = 0; k < K; k++) {
      const b = Math.floor(k / block), j = k % block;
      const byte = packed[(n * nb + b) * (block / 2) + (j >> 1)];
      const code = j & 1 ? byte >> 4 : byte & 15;
      out[k * N + n] = (code - 8) * scales[n * nb + b];
    }
  }
  return out;
}
