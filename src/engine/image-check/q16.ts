// Q16 (Schramowski et al., FAccT 2022; github ml-research/Q16, MIT): "is this image inappropriate?" from a CLIP
// image embedding and two learned prompt embeddings. This module owns the prompt data's format and Q16's decision,
// as Q16's own code computes it (main/clip_classifier/classify/utils.py SimClassifier, main/paper_experiments/
// experiments.py eval_model_):
//   logits = 100 · normalize(image_embeds) · normalize(prompts)ᵀ       (scale 100, both sides L2-normalised)
//   probs  = softmax(logits);  label = argmax(probs);  labels = ['non inappropriate', 'inappropriate']
// so "inappropriate" is index 1 and Q16's verdict is probs[1] > probs[0], i.e. probs[1] > 0.5 (`Q16_THRESHOLD`);
// psa-web flags at p > threshold so a request can state the rule it wants (the app sends Q16's 0.5).
// The image embedding is the SD safety checker's own: vision tower pooled output → visual_projection (graph-scores.ts
// exposes it), which for SD1.5's checker is a CLIP ViT-L/14 image embedding — what Q16's ViT-L/14 prompts were tuned
// on. The built-in prompts (q16-vit-l-14.json, converted by scripts/reference/q16_prompts.py) fit only 768-d
// embeddings; a bundle may ship its own (`safety_checker/q16.json`, same format), as the tiny demo bundle does.
// Arithmetic is float64 on float32 data; Q16 itself ran float16 on a GPU (see fixtures/q16/ for the gap it leaves).

import { AppError } from '../../shared/errors';

/** Q16's decision: argmax of two classes = probability of "inappropriate" above one half. */
export const Q16_THRESHOLD = 0.5;
/** Q16's logit scale (SimClassifier: `100.0 * image_features_norm @ embeddings_norm.T`). */
export const Q16_SCALE = 100;

/** The JSON file format (q16-vit-l-14.json and a bundle's safety_checker/q16.json). */
export interface Q16PromptFile {
  labels: string[];
  inappropriateIndex: number;
  scale: number;
  shape: [number, number];
  dtype: 'float32-le';
  /** base64 of little-endian float32 [2 × dim], prompt-major. */
  data: string;
  source?: Record<string, unknown>;
}

export interface Q16Prompts {
  dim: number;
  scale: number;
  inappropriateIndex: number;
  /** The two prompts, each already L2-normalised (Q16 normalises them on every call; same numbers). */
  rows: [Float64Array, Float64Array];
}

export interface Q16Score {
  /** Probability of "inappropriate" (Q16's softmax). */
  probability: number;
  /** probability > threshold. */
  flagged: boolean;
  /** The two logits (scale × cosine), in Q16's label order. */
  logits: [number, number];
}

function bad(where: string, what: string): never {
  throw new AppError('MODEL_FILE_CORRUPT', `${where}: ${what}`);
}

/** Checks and decodes a Q16 prompt file; `where` names it in errors. */
export function parseQ16Prompts(json: unknown, where: string): Q16Prompts {
  const f = json as Partial<Q16PromptFile> | null;
  if (!f || typeof f !== 'object') bad(where, 'not a JSON object');
  if (f.dtype !== 'float32-le') bad(where, `dtype must be "float32-le" (got ${JSON.stringify(f.dtype)})`);
  if (!Array.isArray(f.shape) || f.shape.length !== 2 || f.shape[0] !== 2 || !Number.isInteger(f.shape[1]) || f.shape[1] < 1) bad(where, `shape must be [2, dim] (got ${JSON.stringify(f.shape)})`);
  if (f.inappropriateIndex !== 0 && f.inappropriateIndex !== 1) bad(where, `inappropriateIndex must be 0 or 1 (got ${JSON.stringify(f.inappropriateIndex)})`);
  if (typeof f.scale !== 'number' || !(f.scale > 0)) bad(where, `scale must be a positive number (got ${JSON.stringify(f.scale)})`);
  if (typeof f.data !== 'string') bad(where, 'data must be a base64 string');
  const dim = f.shape[1];
  let bin: string;
  try {
    bin = atob(f.data);
  } catch {
    return bad(where, 'data is not valid base64');
  }
  if (bin.length !== 2 * dim * 4) bad(where, `data holds ${bin.length} bytes; shape [2, ${dim}] float32 needs ${2 * dim * 4}`);
  const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  const floats = new Float32Array(bytes.buffer);
  const row = (k: number): Float64Array => {
    const r = Float64Array.from(floats.subarray(k * dim, (k + 1) * dim));
    const n = Math.hypot(...r);
    if (!Number.isFinite(n) || n === 0) bad(where, `prompt ${k} is zero or not finite`);
    return r.map((x) => x / n);
  };
  return { dim, scale: f.scale, inappropriateIndex: f.inappropriateIndex, rows: [row(0), row(1)] };
}

/** Q16 on one image embedding (any scale; it is normalised here, as Q16 does). */
export function q16Score(prompts: Q16Prompts, embedding: ArrayLike<number>, threshold = Q16_THRESHOLD): Q16Score {
  if (embedding.length !== prompts.dim) {
    throw new AppError('CONTRACT_MISMATCH', `Q16: the image embedding has ${embedding.length} values; these prompts need ${prompts.dim}`);
  }
  if (!(threshold >= 0 && threshold < 1)) throw new AppError('INVALID_REQUEST', `imageCheck.q16.threshold must be in [0, 1) (got ${threshold})`);
  let norm = 0;
  for (let i = 0; i < embedding.length; i++) norm += embedding[i] * embedding[i];
  norm = Math.sqrt(norm);
  if (!Number.isFinite(norm) || norm === 0) throw new AppError('CONTRACT_MISMATCH', 'Q16: the image embedding is zero or not finite');
  const logit = (r: Float64Array) => {
    let dot = 0;
    for (let i = 0; i < r.length; i++) dot += r[i] * embedding[i];
    return (prompts.scale * dot) / norm;
  };
  const logits: [number, number] = [logit(prompts.rows[0]), logit(prompts.rows[1])];
  // softmax of two: p_k = 1 / (1 + exp(l_other − l_k)), stable for the ±100 range of the logits
  const k = prompts.inappropriateIndex;
  const probability = 1 / (1 + Math.exp(logits[1 - k] - logits[k]));
  return { probability, flagged: probability > threshold, logits };
}
