// Deterministic sample inputs for every generated model, as plain JSON-able arrays, shared by the Node tests and
// the browser harness spec (so both sides run exactly the same feeds). Also the model list of a bundle: which file,
// which role, which feeds.
import type { ModelRole } from '../../src/shared/contract';
import { CLIP_BOS, CLIP_EOS, CLIP_MAX_LENGTH } from '../../src/shared/contract';
import { stream } from './rng';

export type PlainType = 'float32' | 'int64' | 'int32';
export interface PlainTensor {
  type: PlainType;
  dims: number[];
  data: number[];
}
export type PlainFeeds = Record<string, PlainTensor>;

/** Approximately N(0, std²) values (Irwin–Hall of 4 uniforms), deterministic. */
export function noise(name: string, n: number, std = 1): number[] {
  const r = stream(7, name);
  return Array.from({ length: n }, () => Math.fround((r() + r() + r() + r() - 2) * Math.sqrt(3) * std));
}

export function clipIds(tokens: number[][], type: 'int32' | 'int64'): PlainTensor {
  const data: number[] = [];
  for (const t of tokens) {
    const row = [CLIP_BOS, ...t, CLIP_EOS];
    while (row.length < CLIP_MAX_LENGTH) row.push(CLIP_EOS);
    data.push(...row.slice(0, CLIP_MAX_LENGTH));
  }
  return { type, dims: [tokens.length, CLIP_MAX_LENGTH], data };
}

/** "a photo of a cat" and "" (the unconditional prompt). */
export const PROMPT_TOKENS = [[320, 1125, 539, 320, 2368], []];

export function unetFeeds(opts: { userTokens: number; psaScale?: number; latent?: number; batch?: number; user?: number[] }): PlainFeeds {
  const { userTokens: U, psaScale = 1, latent = 8, batch = 2 } = opts;
  const D = 32, S = 77 + U;
  const text = noise('unet.text', batch * 77 * D);
  const user = opts.user ?? noise('unet.user', batch * U * D);
  const ehs: number[] = [];
  for (let b = 0; b < batch; b++) {
    ehs.push(...text.slice(b * 77 * D, (b + 1) * 77 * D));
    ehs.push(...user.slice(b * U * D, (b + 1) * U * D));
  }
  const feeds: PlainFeeds = {
    sample: { type: 'float32', dims: [batch, 4, latent, latent], data: noise('unet.sample', batch * 4 * latent * latent) },
    timestep: { type: 'int64', dims: [1], data: [981] },
    encoder_hidden_states: { type: 'float32', dims: [batch, S, D], data: ehs },
  };
  if (U) feeds.psa_scale = { type: 'float32', dims: [1], data: [psaScale] };
  return feeds;
}

export function profileFeeds(): PlainFeeds {
  // Row 0: 10 real tokens; row 1: left-padded, 3 pads (<|endoftext|> = 352) then 7 tokens.
  const T = 10;
  const ids = [353, 286, 198, 32, 328, 25, 220, 16, 17, 354, 352, 352, 352, 353, 311, 82, 331, 265, 83, 198];
  const mask = [...Array(T).fill(1), 0, 0, 0, ...Array(7).fill(1)];
  return {
    input_ids: { type: 'int64', dims: [2, T], data: ids },
    attention_mask: { type: 'int64', dims: [2, T], data: mask },
  };
}

export interface ModelCase {
  /** Short id used in test names. */
  id: string;
  role: ModelRole;
  /** Path inside the bundle folder. */
  path: string;
  bundle: 'demo' | 'demo-plain';
  feeds: () => PlainFeeds;
}

/** Every model the generator writes, with the inputs tests run it on. */
export const MODEL_CASES: ModelCase[] = [
  { id: 'text_encoder', role: 'text_encoder', bundle: 'demo', path: 'text_encoder/model.onnx', feeds: () => ({ input_ids: clipIds(PROMPT_TOKENS, 'int32') }) },
  { id: 'text_encoder_int64', role: 'text_encoder', bundle: 'demo-plain', path: 'text_encoder/model.onnx', feeds: () => ({ input_ids: clipIds(PROMPT_TOKENS, 'int64') }) },
  { id: 'unet_psa', role: 'unet', bundle: 'demo', path: 'unet/model.onnx', feeds: () => unetFeeds({ userTokens: 1 }) },
  { id: 'unet_plain', role: 'unet', bundle: 'demo-plain', path: 'unet/model.onnx', feeds: () => unetFeeds({ userTokens: 0 }) },
  { id: 'unet_int8', role: 'unet', bundle: 'demo', path: 'unet/model.int8.onnx', feeds: () => unetFeeds({ userTokens: 1 }) },
  {
    id: 'user_projection',
    role: 'user_projection',
    bundle: 'demo',
    path: 'user_projection/model.onnx',
    feeds: () => ({ user_embeds: { type: 'float32', dims: [2, 16], data: [...noise('user_embeds', 16, 3), ...Array(16).fill(0)] } }),
  },
  { id: 'profile_encoder', role: 'profile_encoder', bundle: 'demo', path: 'profile_encoder/model.onnx', feeds: profileFeeds },
  {
    id: 'vae_decoder',
    role: 'vae_decoder',
    bundle: 'demo',
    path: 'vae_decoder/model.onnx',
    feeds: () => ({ latent_sample: { type: 'float32', dims: [1, 4, 8, 8], data: noise('latents', 256).map((x) => Math.fround(x / 0.18215)) } }),
  },
];

/** max|a−b| / max(1e-6, max|b|). */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return Number.isNaN(num) ? Infinity : num / Math.max(1e-6, den);
}
