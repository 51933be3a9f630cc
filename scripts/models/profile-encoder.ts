// Tiny causal text model standing in for the profile encoder (Qwen2.5-7B-Instruct in PSA): token + learned
// position embeddings, one pre-LN decoder layer (self-attention with causal + padding mask, SwiGLU MLP), final
// LayerNorm → last_hidden_state [B,T,E]. Inputs input_ids / attention_mask / position_ids, all int64 [B,T].
// The engine sums the hidden states over the attention mask to get the user embedding (not part of the graph).
import { A, GraphBuilder } from './onnx-builder';
import { Layers } from './layers';
import { Params } from './rng';

export interface ProfileEncoderConfig {
  vocabSize: number;
  hidden: number;
  heads: number;
  maxPositions: number;
  seed: number;
}

export const PROFILE_ENCODER_DEFAULTS: Omit<ProfileEncoderConfig, 'vocabSize'> = { hidden: 16, heads: 2, maxPositions: 2048, seed: 1505 };

export function buildProfileEncoder(cfg: Partial<ProfileEncoderConfig> & { vocabSize: number }): Uint8Array {
  const c = { ...PROFILE_ENCODER_DEFAULTS, ...cfg };
  const E = c.hidden, dh = E / c.heads;
  const g = new GraphBuilder('tiny_profile_encoder');
  const L = new Layers(g, new Params(c.seed));
  const ids = g.input('input_ids', 'int64', ['batch', 'tokens']);
  const mask = g.input('attention_mask', 'int64', ['batch', 'tokens']);
  const pos = g.input('position_ids', 'int64', ['batch', 'tokens']);

  let h = L.in('model', () => {
    const tok = g.init('model.embed_tokens.weight', [c.vocabSize, E], L.p.embedding('model.embed_tokens.weight', c.vocabSize * E, 1));
    const pe = g.init('model.embed_positions.weight', [c.maxPositions, E], L.p.embedding('model.embed_positions.weight', c.maxPositions * E, 0.5));
    return g.op('Add', [g.op('Gather', [tok, ids], { axis: A.i(0) }), g.op('Gather', [pe, pos], { axis: A.i(0) })]);
  });

  // Additive mask [B,1,T,T]: −1e9 where the key is padding or lies in the future.
  const addMask = L.in('model', () => {
    const neg = g.f32([-1e9], []);
    const pad = g.op('Mul', [g.op('Sub', [g.f32([1], []), g.op('Cast', [mask], { to: A.i(1) })]), neg]);
    const pad4 = g.op('Unsqueeze', [pad, g.i64([1, 2])]);
    const T = g.op('Gather', [g.op('Shape', [ids]), g.i64([1], [])], { axis: A.i(0) });
    const r = g.op('Range', [g.i64([0], []), T, g.i64([1], [])]);
    const future = g.op('Greater', [g.op('Unsqueeze', [r, g.i64([0])]), g.op('Unsqueeze', [r, g.i64([1])])]);
    const causal = g.op('Mul', [g.op('Cast', [future], { to: A.i(1) }), neg]);
    return g.op('Add', [pad4, causal]);
  });

  h = L.in('model', () =>
    L.in('layers.0', () => {
      const n1 = L.layerNorm(h, E, 1e-6, 'input_layernorm');
      const a = L.in('self_attn', () => {
        const q = L.splitHeads(L.linear(n1, E, E, 'q_proj'), c.heads, dh);
        const k = L.splitHeads(L.linear(n1, E, E, 'k_proj'), c.heads, dh);
        const v = L.splitHeads(L.linear(n1, E, E, 'v_proj'), c.heads, dh);
        return L.linear(L.mergeHeads(L.sdpa(q, k, v, dh, addMask), E), E, E, 'o_proj', { bias: false });
      });
      const r1 = g.op('Add', [h, a]);
      const n2 = L.layerNorm(r1, E, 1e-6, 'post_attention_layernorm');
      const m = L.in('mlp', () => {
        const gate = L.silu(L.linear(n2, E, 4 * E, 'gate_proj', { bias: false }));
        const up = L.linear(n2, E, 4 * E, 'up_proj', { bias: false });
        return L.linear(g.op('Mul', [gate, up]), 4 * E, E, 'down_proj', { bias: false });
      });
      return g.op('Add', [r1, m]);
    }),
  );
  const out = L.in('model', () => L.layerNorm(h, E, 1e-6, 'norm'));
  g.output(out, 'last_hidden_state', 'float32', ['batch', 'tokens', E]);
  return g.toBytes(`tiny causal profile encoder (vocab ${c.vocabSize}, E=${E}), seeded weights`);
}
