// The rows of the U-Net batch and everything that depends on them, in one place: which rows there are (with CFG:
// [uncond ; cond], diffusers' torch.cat([negative_prompt_embeds, prompt_embeds]) order), what conditions each row
// (its text, and for PSA bundles its user embedding: the person's for `cond`, zeros for `uncond` — PSA's CFG
// recipe), and how the rows' U-Net outputs combine into one noise prediction. SLD's safety-concept row is the third
// role ([uncond ; cond ; safety], diffusers' StableDiffusionPipelineSafe order; zero user embedding like uncond).

import { LATENT_CHANNELS } from '../../shared/contract';
import type { GenerateParams } from '../../shared/types';
import { encodeClip } from '../clip-tokenizer';
import { buildConcatKernel } from '../kernels';
import type { LoadedModels } from '../models';
import type { Tensor } from '../ort-types';
import type { Runtime } from '../sessions';
import { floatTensor, idsTensor } from '../tensors';
import { dispose, kernelSession, run, type Timer } from './ort-calls';
import { sldActive, sldApplies, sldCombine, sldScalars } from './sld';

export type RowRole = 'uncond' | 'cond' | 'safety';

/**
 * The batch's rows in U-Net order: CFG needs the unconditional row (first), guidance ≤ 1 does not (diffusers);
 * active SLD appends the safety-concept row.
 */
export function rowRoles(p: GenerateParams): RowRole[] {
  if (sldActive(p)) return ['uncond', 'cond', 'safety'];
  return p.guidance > 1 ? ['uncond', 'cond'] : ['cond'];
}

export interface Conditioning {
  roles: RowRole[];
  /** encoder_hidden_states for all rows, [rows, 77 (+ user tokens), hidden]. */
  ehs: Tensor;
  /** Tokens dropped from the prompt / negative prompt / SLD concept (CLIP takes 77 with BOS/EOS). */
  truncated: { prompt: number; negative: number; concept?: number };
}

/** Text encoder (one batch over all rows), then for PSA bundles the user projection and the concat kernel. */
export async function encodeConditioning(rt: Runtime, m: LoadedModels, p: GenerateParams, roles: RowRole[], timer: Timer): Promise<Conditioning> {
  const { ort } = rt;
  const io = m.io;
  const prompt = encodeClip(m.tokenizer, p.prompt);
  const negative = encodeClip(m.tokenizer, p.negativePrompt ?? '');
  const concept = roles.includes('safety') ? encodeClip(m.tokenizer, p.sld!.concept) : undefined;
  const truncated = { prompt: prompt.truncated, negative: negative.truncated, ...(concept ? { concept: concept.truncated } : {}) };
  const rows = roles.map((r) => (r === 'uncond' ? negative.ids : r === 'safety' ? concept!.ids : prompt.ids));
  // Only last_hidden_state is fetched (the pooler output is unused). ORT still evaluates the pooler's ArgMax and
  // reads its 16-byte index back for a CPU-placed Gather: the one GPU read outside ours (see gpuMapReads.text).
  const text = await run(rt, m.text, { input_ids: idsTensor(ort, io.idsType, rows) }, timer, ['last_hidden_state']);
  const textStates = text.last_hidden_state;
  if (!m.userProjection) return { roles, ehs: textStates, truncated };
  const batch = roles.length;
  const E = io.embeddingSize;
  const emb = new Float32Array(batch * E); // zeros: the unconditional and safety rows' embedding
  roles.forEach((r, i) => {
    if (r === 'cond' && p.userEmbedding) emb.set(Float32Array.from(p.userEmbedding), i * E);
  });
  const user = await run(rt, m.userProjection, { user_embeds: floatTensor(ort, io.userIn, emb, [batch, E]) }, timer);
  const concat = await kernelSession(rt, m, `concat-${batch}`, () =>
    buildConcatKernel({ batch, textTokens: 77, userTokens: io.userTokens, hidden: io.hidden, text: io.textOut, user: io.userOut, out: io.ehsType }),
  );
  const joined = await run(rt, concat, { text: textStates, user: user.user_tokens }, timer);
  dispose(textStates, user.user_tokens);
  return { roles, ehs: joined.encoder_hidden_states, truncated };
}

/**
 * CPU form of the guidance combine (the step kernel does the same on the device): the rows' outputs [rows·n] → one
 * noise prediction [n]. CFG: eps = u + g·(c − u), float32 at every operation, as torch and the kernel compute it.
 */
export function combineRows(roles: RowRole[], out: Float32Array, n: number, guidance: number): Float32Array {
  if (roles.length === 1) return out;
  const u = roles.indexOf('uncond') * n;
  const c = roles.indexOf('cond') * n;
  const eps = new Float32Array(n);
  const g = Math.fround(guidance);
  for (let k = 0; k < n; k++) eps[k] = Math.fround(out[u + k] + Math.fround(g * Math.fround(out[c + k] - out[u + k])));
  return eps;
}

/**
 * The reference loop's combine, step by step: CFG alone is stateless; with SLD it holds the momentum ν (zeros at the
 * start, updated every step) and applies g ← g − γ from the warm-up on. `step` is the 0-based step index.
 */
export function makeCombiner(roles: RowRole[], p: GenerateParams, n: number): (out: Float32Array, step: number) => Float32Array {
  if (!roles.includes('safety')) return (out) => combineRows(roles, out, n, p.guidance);
  const sld = p.sld!;
  const k = sldScalars(sld);
  const nu = new Float32Array(n);
  const rows = { u: roles.indexOf('uncond') * n, c: roles.indexOf('cond') * n, s: roles.indexOf('safety') * n };
  return (out, step) => sldCombine(out, rows, n, p.guidance, k, nu, sldApplies(sld, step));
}

/** The U-Net input for every row: the same scaled latents repeated (rows differ only in their conditioning). */
export function repeatRows(roles: RowRole[], scaled: Float32Array): Float32Array {
  const n = scaled.length;
  const input = new Float32Array(roles.length * n);
  for (let b = 0; b < roles.length; b++) input.set(scaled, b * n);
  return input;
}

/** [rows, 4, h, w]: the U-Net's sample shape for this batch. */
export const unetDims = (roles: RowRole[], lh: number, lw: number): number[] => [roles.length, LATENT_CHANNELS, lh, lw];
