// The PSA user embedding from the encoder's last hidden state: the mean over the attention-mask tokens (what
// PSAlign's get_embeds.py computed for the embeddings that trained the adapters; not the sum its on-the-fly helper
// uses). Accumulated in float64 and returned as float32; float16 outputs are widened first. Any NaN/Inf — Qwen2 in
// fp16 is known to overflow — is refused with a message naming where it appeared, never passed on as conditioning.
import { AppError } from '../../shared/errors';

/** float16 bits → number (IEEE 754 half precision). */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

export type HiddenData = Float32Array | Uint16Array | { readonly length: number; readonly [i: number]: number };

/**
 * Masked mean of `hidden` [1, T, E] over the tokens whose mask is 1. Tokens with mask 0 are skipped, not multiplied
 * by zero (a fully masked query row may hold NaN in some exports, and NaN · 0 is NaN).
 */
export function maskedMean(hidden: HiddenData, dims: readonly number[], mask: ArrayLike<number | bigint>, opts: { float16?: boolean } = {}): Float32Array {
  if (dims.length !== 3 || dims[0] !== 1) throw new AppError('CONTRACT_MISMATCH', `profile encoder output last_hidden_state has shape [${dims.join(',')}]; expected [1, tokens, E]`);
  const [, T, E] = dims;
  if (mask.length !== T) throw new AppError('CONTRACT_MISMATCH', `profile encoder returned ${T} token states for ${mask.length} input tokens`);
  const read = opts.float16 ? (i: number) => halfToFloat((hidden as Uint16Array)[i]) : (i: number) => Number(hidden[i]);
  const sum = new Float64Array(E);
  let n = 0;
  for (let t = 0; t < T; t++) {
    if (Number(mask[t]) === 0) continue;
    n++;
    for (let e = 0; e < E; e++) {
      const v = read(t * E + e);
      if (!Number.isFinite(v)) {
        throw new AppError('INTERNAL', `the profile encoder produced ${Number.isNaN(v) ? 'NaN' : 'an infinite value'} at token ${t}, dimension ${e} (a numerical overflow, e.g. float16 weights); no embedding was made`);
      }
      sum[e] += v;
    }
  }
  if (n === 0) throw new AppError('INVALID_REQUEST', 'the embedding text produced no tokens to average');
  const out = new Float32Array(E);
  for (let e = 0; e < E; e++) out[e] = sum[e] / n;
  return out;
}
