// Tiny Qwen2-style decoder standing in for the profile encoder (Qwen2.5-7B-Instruct in PSA), laid out as
// transformers' Qwen2Model: token embedding (no learned positions), N layers of [RMSNorm → self-attention with
// rotary position embedding, grouped-query attention (fewer K/V heads than Q heads), causal + padding mask →
// residual → RMSNorm → SwiGLU MLP → residual], final RMSNorm → last_hidden_state [B,T,E] (= Hugging Face
// `hidden_states[-1]`). Inputs input_ids / attention_mask, int64 [B,T]; positions are 0..T-1, as Qwen2Model uses when
// no position_ids are given (PSA's get_embeds.py gives none). The engine takes the masked mean (not part of the graph).
// Parameter names follow the PyTorch state dict (model.layers.0.self_attn.q_proj.weight, …).
import { A, GraphBuilder } from './onnx-builder';
import { Layers } from './layers';
import { Params } from './rng';

export interface ProfileEncoderConfig {
  vocabSize: number;
  hidden: number;
  heads: number;
  /** Key/value heads (grouped-query attention: each K/V head serves heads / kvHeads query heads). */
  kvHeads: number;
  layers: number;
  intermediate: number;
  ropeTheta: number;
  rmsEps: number;
  seed: number;
}

export const PROFILE_ENCODER_DEFAULTS: Omit<ProfileEncoderConfig, 'vocabSize'> = {
  hidden: 16,
  heads: 4,
  kvHeads: 2,
  layers: 2,
  intermediate: 48,
  ropeTheta: 1_000_000,
  rmsEps: 1e-6,
  seed: 1505,
};

/** Qwen2RMSNorm: x / sqrt(mean(x²) + eps) · weight (no bias, no mean subtraction). */
function rmsNorm(L: Layers, x: string, C: number, eps: number, name: string): string {
  const g = L.g;
  return L.in(name, () => {
    const w = g.init(g.prefix + 'weight', [C], L.p.normWeight(g.prefix + 'weight', C));
    const variance = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: A.ints([-1]), keepdims: A.i(1) });
    const norm = g.op('Div', [x, g.op('Sqrt', [g.op('Add', [variance, g.f32([eps], [])])])]);
    return g.op('Mul', [norm, w]);
  });
}

/** rotate_half(x) = concat(−x[…, d/2:], x[…, :d/2]). */
function rotateHalf(g: GraphBuilder, x: string, dh: number): string {
  const half = dh / 2;
  const x1 = g.op('Slice', [x, g.i64([0]), g.i64([half]), g.i64([-1])]);
  const x2 = g.op('Slice', [x, g.i64([half]), g.i64([dh]), g.i64([-1])]);
  return g.op('Concat', [g.op('Mul', [x2, g.f32([-1], [])]), x1], { axis: A.i(-1) });
}

export function buildProfileEncoder(cfg: Partial<ProfileEncoderConfig> & { vocabSize: number }): Uint8Array {
  const c = { ...PROFILE_ENCODER_DEFAULTS, ...cfg };
  const g = new GraphBuilder('tiny_qwen2_profile_encoder');
  emitProfileEncoder(g, new Params(c.seed), c);
  return g.toBytes(`tiny Qwen2-style profile encoder (vocab ${c.vocabSize}, E=${c.hidden}, ${c.layers} layers, ${c.heads} heads / ${c.kvHeads} kv heads), seeded weights`);
}

/**
 * The encoder's graph into `g`, parameters drawn from `p` by name. Separate from buildProfileEncoder so a caller can
 * supply its own builder and parameter source: the full-depth synthetic encoder (scripts/convert/encoder/
 * deep-synthetic.ts) makes Qwen2.5-7B's shapes with every weight as external data it never holds.
 */
export function emitProfileEncoder(g: GraphBuilder, p: Params, c: ProfileEncoderConfig & { vocabSize: number; lengthFromEmbeds?: boolean }): void {
  const E = c.hidden, H = c.heads, KV = c.kvHeads, dh = E / H, rep = H / KV;
  if (!Number.isInteger(dh) || dh % 2 || !Number.isInteger(rep)) throw new Error(`profile encoder: hidden ${E}, heads ${H}, kvHeads ${KV} do not divide`);
  const L = new Layers(g, p);
  const ids = g.input('input_ids', 'int64', ['batch', 'tokens']);
  const mask = g.input('attention_mask', 'int64', ['batch', 'tokens']);

  let h = L.in('model', () => {
    const tok = g.init('model.embed_tokens.weight', [c.vocabSize, E], L.p.embedding('model.embed_tokens.weight', c.vocabSize * E, 1));
    return g.op('Gather', [tok, ids], { axis: A.i(0) });
  });

  // Shared by every layer: additive mask [B,1,T,T] (−1e9 where the key is padding or in the future; a finite value so
  // a query row with every key masked stays finite) and the rotary tables cos/sin [T, dh].
  const { addMask, cos, sin } = L.in('model', () => {
    const neg = g.f32([-1e9], []);
    const pad = g.op('Mul', [g.op('Sub', [g.f32([1], []), g.op('Cast', [mask], { to: A.i(1) })]), neg]);
    const pad4 = g.op('Unsqueeze', [pad, g.i64([1, 2])]);
    // The sequence length from input_ids (the tiny bundles), or from the token embeddings as transformers' Qwen2Model
    // and its torch exports take it (`lengthFromEmbeds`): a layer-group cut can then drop input_ids from every group.
    const T = g.op('Gather', [g.op('Shape', [c.lengthFromEmbeds ? h : ids]), g.i64([1], [])], { axis: A.i(0) });
    const r = g.op('Range', [g.i64([0], []), T, g.i64([1], [])]);
    const future = g.op('Greater', [g.op('Unsqueeze', [r, g.i64([0])]), g.op('Unsqueeze', [r, g.i64([1])])]);
    const causal = g.op('Mul', [g.op('Cast', [future], { to: A.i(1) }), neg]);
    const addMask = g.op('Add', [pad4, causal]);
    return L.in('rotary_emb', () => {
      // inv_freq = 1 / θ^(2i/dh), computed in the graph in float32 as transformers does.
      const exps = g.f32(Array.from({ length: dh / 2 }, (_, i) => (2 * i) / dh));
      const invFreq = g.op('Div', [g.f32([1], []), g.op('Pow', [g.f32([c.ropeTheta], []), exps])]);
      const pos = g.op('Unsqueeze', [g.op('Cast', [r], { to: A.i(1) }), g.i64([1])]);
      const freqs = g.op('Mul', [pos, g.op('Unsqueeze', [invFreq, g.i64([0])])]);
      const emb = g.op('Concat', [freqs, freqs], { axis: A.i(-1) });
      return { addMask, cos: g.op('Cos', [emb]), sin: g.op('Sin', [emb]) };
    });
  });
  const rope = (x: string) => g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotateHalf(g, x, dh), sin])]);
  /** repeat_kv: [B,KV,T,dh] → [B,H,T,dh], each K/V head repeated for its group of query heads. */
  const repeatKv = (x: string) => {
    if (rep === 1) return x;
    const u = g.op('Unsqueeze', [x, g.i64([2])]);
    return g.op('Reshape', [g.op('Concat', Array(rep).fill(u), { axis: A.i(2) }), g.i64([0, H, -1, dh])]);
  };

  for (let l = 0; l < c.layers; l++) {
    h = L.in('model', () =>
      L.in(`layers.${l}`, () => {
        const n1 = rmsNorm(L, h, E, c.rmsEps, 'input_layernorm');
        const a = L.in('self_attn', () => {
          const q = rope(L.splitHeads(L.linear(n1, E, H * dh, 'q_proj'), H, dh));
          const k = rope(L.splitHeads(L.linear(n1, E, KV * dh, 'k_proj'), KV, dh));
          const v = L.splitHeads(L.linear(n1, E, KV * dh, 'v_proj'), KV, dh);
          return L.linear(L.mergeHeads(L.sdpa(q, repeatKv(k), repeatKv(v), dh, addMask), E), H * dh, E, 'o_proj', { bias: false });
        });
        const r1 = g.op('Add', [h, a]);
        const n2 = rmsNorm(L, r1, E, c.rmsEps, 'post_attention_layernorm');
        const m = L.in('mlp', () => {
          const gate = L.silu(L.linear(n2, E, c.intermediate, 'gate_proj', { bias: false }));
          const up = L.linear(n2, E, c.intermediate, 'up_proj', { bias: false });
          return L.linear(g.op('Mul', [gate, up]), c.intermediate, E, 'down_proj', { bias: false });
        });
        return g.op('Add', [r1, m]);
      }),
    );
  }
  const out = L.in('model', () => rmsNorm(L, h, E, c.rmsEps, 'norm'));
  g.output(out, 'last_hidden_state', 'float32', ['batch', 'tokens', E]);
}

/** transformers' Qwen2Config for the tiny encoder (config.json of the profile encoder folder). */
export function profileEncoderConfigJson(vocabSize: number, specialIds: { endoftext: number; imEnd: number }): Record<string, unknown> {
  const c = PROFILE_ENCODER_DEFAULTS;
  return {
    architectures: ['Qwen2Model'],
    model_type: 'qwen2',
    hidden_size: c.hidden,
    intermediate_size: c.intermediate,
    num_attention_heads: c.heads,
    num_key_value_heads: c.kvHeads,
    num_hidden_layers: c.layers,
    hidden_act: 'silu',
    rms_norm_eps: c.rmsEps,
    rope_theta: c.ropeTheta,
    max_position_embeddings: 2048,
    vocab_size: vocabSize,
    bos_token_id: specialIds.endoftext,
    eos_token_id: specialIds.imEnd,
    tie_word_embeddings: false,
    use_sliding_window: false,
    attention_dropout: 0,
    torch_dtype: 'float32',
  };
}
