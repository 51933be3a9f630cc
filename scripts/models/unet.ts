// Tiny SD1.5-shaped conditional U-Net with PSA's decoupled user-token cross-attention.
// conv_in → down block (ResNet + Transformer, stride-2 conv) → mid (ResNet + Transformer) → up block (nearest
// Resize ×2 + conv, concat skip, ResNet + Transformer) → GroupNorm/SiLU/conv_out. Timestep: sinusoidal embedding
// (flip_sin_to_cos, freq_shift 0) + Linear/SiLU/Linear. Every cross-attention (attn2) splits
// encoder_hidden_states [B,77+U,D] into text and user tokens and adds
// `psa_scale × softmax(q·k_userᵀ/√d)·v_user` (bias-free to_k_user/to_v_user) to the text attention before to_out.
// U = 0 builds the plain U-Net (no psa_scale input) from the same seeded parameter streams. Also builds the
// deliberately broken variants tests feed to the contract validator.
import { LATENT_CHANNELS } from '../../src/shared/contract';
import { A, GraphBuilder } from './onnx-builder';
import { INT64_MAX, Layers } from './layers';
import { Params } from './rng';

export interface UnetConfig {
  /** User tokens appended after the 77 text tokens; 0 = plain SD U-Net without psa_scale. */
  userTokens: number;
  /** Cross-attention (text) hidden size D. */
  crossDim: number;
  /** Channels of the two resolution levels. */
  channels: [number, number];
  headDim: number;
  groups: number;
  seed: number;
  /** Extra outputs `psa_term.<layer>` = psa_scale × user attention, [B, h·w, C] (tests only). */
  debugOutputs?: boolean;
  /** Deliberate contract defect (tests only). */
  defect?: UnetDefect;
}
export type UnetDefect = 'renamed-input' | 'wrong-rank';

export const UNET_DEFAULTS: UnetConfig = { userTokens: 1, crossDim: 32, channels: [32, 64], headDim: 16, groups: 8, seed: 1502 };

/** Names of the PSA cross-attention layers, in graph order (their parameters end in to_k_user / to_v_user). */
export const PSA_LAYERS = ['down_blocks.0.attentions.0', 'mid_block.attentions.0', 'up_blocks.0.attentions.0'] as const;

export function buildUnet(cfg: Partial<UnetConfig> = {}): Uint8Array {
  const c = { ...UNET_DEFAULTS, ...cfg };
  const [C0, C1] = c.channels;
  const temb = 4 * C0;
  const U = c.userTokens;
  const g = new GraphBuilder(U ? 'tiny_psa_unet' : 'tiny_sd_unet');
  const L = new Layers(g, new Params(c.seed));

  // Inputs (Optimum names; dims symbolic so any latent size works).
  let sample: string;
  if (c.defect === 'wrong-rank') {
    // Declared rank 3 (a broken export); reshaped to 8×? so the model still loads and runs.
    const s = g.input('sample', 'float32', ['batch', LATENT_CHANNELS, 'height_x_width']);
    sample = g.op('Reshape', [s, g.i64([0, LATENT_CHANNELS, 8, -1])]);
  } else {
    sample = g.input('sample', 'float32', ['batch', LATENT_CHANNELS, 'height', 'width']);
  }
  const timestep = g.input('timestep', 'int64', ['steps']);
  const ehsName = c.defect === 'renamed-input' ? 'text_embeds' : 'encoder_hidden_states';
  const ehs = g.input(ehsName, 'float32', U ? ['batch', 77 + U, c.crossDim] : ['batch', 'sequence_length', c.crossDim]);
  const psaScale = U ? g.input('psa_scale', 'float32', [1]) : undefined;

  // Text / user token split, shared by every attn2 (end_pos = seq_len − U, as the reference processor does).
  let text = ehs, user: string | undefined;
  if (U) {
    text = g.op('Slice', [ehs, g.i64([0]), g.i64([-U]), g.i64([1])], {}, { name: 'text_tokens/Slice' });
    user = g.op('Slice', [ehs, g.i64([-U]), g.i64([INT64_MAX]), g.i64([1])], {}, { name: 'user_tokens/Slice' });
  }
  const debug: { name: string; value: string; C: number }[] = [];

  // Time embedding.
  const emb = (() => {
    const half = C0 / 2;
    const freqs = new Float32Array(half);
    for (let i = 0; i < half; i++) freqs[i] = Math.exp((-Math.log(10000) * i) / half);
    const t = g.op('Cast', [timestep], { to: A.i(1) });
    const batch = g.op('Slice', [g.op('Shape', [sample]), g.i64([0]), g.i64([1]), g.i64([0])]);
    const tb = g.op('Expand', [t, batch]); // timesteps.expand(sample.shape[0])
    const arg = g.op('Mul', [g.op('Unsqueeze', [tb, g.i64([1])]), g.f32(freqs, [1, half])]);
    const sinusoid = g.op('Concat', [g.op('Cos', [arg]), g.op('Sin', [arg])], { axis: A.i(-1) }); // flip_sin_to_cos
    return L.in('time_embedding', () => L.gemm(L.silu(L.gemm(sinusoid, C0, temb, 'linear_1')), temb, temb, 'linear_2'));
  })();

  const resnet = (x: string, inC: number, outC: number, name: string): string =>
    L.in(name, () => {
      let h = L.conv(L.silu(L.groupNorm(x, inC, c.groups, 1e-5, 'norm1')), inC, outC, 3, 'conv1');
      const t = L.gemm(L.silu(emb), temb, outC, 'time_emb_proj');
      h = g.op('Add', [h, g.op('Unsqueeze', [t, g.i64([2, 3])])]);
      h = L.conv(L.silu(L.groupNorm(h, outC, c.groups, 1e-5, 'norm2')), outC, outC, 3, 'conv2');
      const skip = inC === outC ? x : L.conv(x, inC, outC, 1, 'conv_shortcut');
      return g.op('Add', [skip, h]);
    });

  const crossAttention = (x: string, C: number, layer: string): string =>
    L.in('attn2', () => {
      const heads = C / c.headDim, dh = c.headDim;
      const q = L.splitHeads(L.linear(x, C, C, 'to_q', { bias: false }), heads, dh);
      const k = L.linear(text, c.crossDim, C, 'to_k', { bias: false });
      const v = L.linear(text, c.crossDim, C, 'to_v', { bias: false });
      let o = L.mergeHeads(L.sdpa(q, L.splitHeads(k, heads, dh), L.splitHeads(v, heads, dh), dh), C);
      if (U && user && psaScale) {
        const ku = L.linear(user, c.crossDim, C, 'to_k_user', { bias: false });
        const vu = L.linear(user, c.crossDim, C, 'to_v_user', { bias: false });
        const ou = L.mergeHeads(L.sdpa(q, L.splitHeads(ku, heads, dh), L.splitHeads(vu, heads, dh), dh), C);
        const term = g.op('Mul', [ou, psaScale], {}, { name: 'psa_scale/Mul' });
        debug.push({ name: `psa_term.${layer}`, value: term, C });
        o = g.op('Add', [o, term], {}, { name: 'psa/Add' });
      }
      return L.linear(o, C, C, 'to_out.0');
    });

  const transformer = (x: string, C: number, name: string): string =>
    L.in(name, () => {
      const layer = g.prefix.slice(0, -1);
      const heads = C / c.headDim, dh = c.headDim;
      const shape = g.op('Shape', [x]);
      let h = L.conv(L.groupNorm(x, C, c.groups, 1e-6, 'norm'), C, C, 1, 'proj_in');
      // [B,C,H,W] → [B,HW,C]
      h = g.op('Transpose', [g.op('Reshape', [h, g.i64([0, C, -1])])], { perm: A.ints([0, 2, 1]) });
      h = L.in('transformer_blocks.0', () => {
        const n1 = L.layerNorm(h, C, 1e-5, 'norm1');
        const a1 = L.in('attn1', () => {
          const q = L.linear(n1, C, C, 'to_q', { bias: false });
          const k = L.linear(n1, C, C, 'to_k', { bias: false });
          const v = L.linear(n1, C, C, 'to_v', { bias: false });
          const o = L.sdpa(L.splitHeads(q, heads, dh), L.splitHeads(k, heads, dh), L.splitHeads(v, heads, dh), dh);
          return L.linear(L.mergeHeads(o, C), C, C, 'to_out.0');
        });
        const r1 = g.op('Add', [a1, h]);
        const a2 = crossAttention(L.layerNorm(r1, C, 1e-5, 'norm2'), C, layer);
        const r2 = g.op('Add', [a2, r1]);
        const n3 = L.layerNorm(r2, C, 1e-5, 'norm3');
        const ff = L.in('ff', () => {
          const inner = 4 * C;
          const proj = L.in('net.0', () => L.linear(n3, C, 2 * inner, 'proj')); // GEGLU
          const [hidden, gate] = g.opN('Split', [proj, g.i64([inner, inner])], { axis: A.i(-1) }, { outputs: 2 });
          return L.linear(g.op('Mul', [hidden, L.gelu(gate)]), inner, C, 'net.2');
        });
        return g.op('Add', [ff, r2]);
      });
      // [B,HW,C] → [B,C,H,W]
      h = g.op('Reshape', [g.op('Transpose', [h], { perm: A.ints([0, 2, 1]) }), shape]);
      return g.op('Add', [L.conv(h, C, C, 1, 'proj_out'), x]);
    });

  let h = L.conv(sample, LATENT_CHANNELS, C0, 3, 'conv_in');
  const skip = L.in('down_blocks.0', () => transformer(resnet(h, C0, C0, 'resnets.0'), C0, 'attentions.0'));
  h = L.in('down_blocks.0', () => L.in('downsamplers.0', () => L.conv(skip, C0, C0, 3, 'conv', { stride: 2 })));
  h = L.in('mid_block', () => transformer(resnet(h, C0, C1, 'resnets.0'), C1, 'attentions.0'));
  h = L.in('up_blocks.0', () => {
    const up = L.in('upsamplers.0', () => L.conv(L.upsample2x(h), C1, C1, 3, 'conv'));
    const cat = g.op('Concat', [up, skip], { axis: A.i(1) });
    return transformer(resnet(cat, C1 + C0, C0, 'resnets.0'), C0, 'attentions.0');
  });
  h = L.silu(L.groupNorm(h, C0, c.groups, 1e-5, 'conv_norm_out'));
  const out = L.conv(h, C0, LATENT_CHANNELS, 3, 'conv_out');

  g.output(out, 'out_sample', 'float32', ['batch', LATENT_CHANNELS, 'height', 'width']);
  if (c.debugOutputs) for (const d of debug) g.output(d.value, d.name, 'float32', ['batch', 'hw', d.C]);
  return g.toBytes(`tiny ${U ? `PSA (U=${U}) ` : ''}SD1.5-shaped U-Net (channels ${c.channels.join('/')}, cross dim ${c.crossDim}), seeded weights`);
}
