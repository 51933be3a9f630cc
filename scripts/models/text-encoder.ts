// Tiny CLIP text encoder (CLIPTextModel-shaped): 49408×D token embedding + 77×D position embedding, causal pre-LN
// transformer layers (self-attention with a causal mask, QuickGELU MLP), final LayerNorm; outputs
// `last_hidden_state` [B,77,D] and `pooler_output` [B,D] = the hidden state at the EOS position (argmax of the ids,
// as CLIP does). `input_ids` is int32 or int64 (Optimum exports have used both).
import { CLIP_MAX_LENGTH, CLIP_VOCAB_SIZE } from '../../src/shared/contract';
import { A, GraphBuilder } from './onnx-builder';
import { Layers } from './layers';
import { Params } from './rng';

export interface TextEncoderConfig {
  hidden: number;
  heads: number;
  layers: number;
  idsType: 'int32' | 'int64';
  seed: number;
}

export const TEXT_ENCODER_DEFAULTS: TextEncoderConfig = { hidden: 32, heads: 2, layers: 1, idsType: 'int32', seed: 1501 };

export function buildTextEncoder(cfg: Partial<TextEncoderConfig> = {}): Uint8Array {
  const c = { ...TEXT_ENCODER_DEFAULTS, ...cfg };
  const D = c.hidden, T = CLIP_MAX_LENGTH, dh = D / c.heads;
  const g = new GraphBuilder('tiny_clip_text_encoder');
  const L = new Layers(g, new Params(c.seed));
  const ids = g.input('input_ids', c.idsType, ['batch', T]);

  let h = L.in('text_model', () =>
    L.in('embeddings', () => {
      const tok = g.init('text_model.embeddings.token_embedding.weight', [CLIP_VOCAB_SIZE, D], L.p.embedding('text_model.embeddings.token_embedding.weight', CLIP_VOCAB_SIZE * D, 0.035));
      const pos = g.init('text_model.embeddings.position_embedding.weight', [T, D], L.p.embedding('text_model.embeddings.position_embedding.weight', T * D, 0.02));
      const posIds = g.init('text_model.embeddings.position_ids', [1, T], BigInt64Array.from({ length: T }, (_, i) => BigInt(i)));
      const te = g.op('Gather', [tok, ids], { axis: A.i(0) }, { name: 'token_embedding/Gather' });
      const pe = g.op('Gather', [pos, posIds], { axis: A.i(0) }, { name: 'position_embedding/Gather' });
      return g.op('Add', [te, pe]);
    }),
  );

  // Causal mask [1,1,77,77]: 0 on and below the diagonal, a large negative above (CLIP uses finfo.min).
  const mask = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) mask[i * T + j] = -3.4028234663852886e38;
  const causal = g.const([1, 1, T, T], mask, 'causal_mask');

  for (let l = 0; l < c.layers; l++) {
    h = L.in('text_model', () =>
      L.in('encoder', () =>
        L.in(`layers.${l}`, () => {
          const n1 = L.layerNorm(h, D, 1e-5, 'layer_norm1');
          const a = L.in('self_attn', () => {
            const q = L.linear(n1, D, D, 'q_proj');
            const k = L.linear(n1, D, D, 'k_proj');
            const v = L.linear(n1, D, D, 'v_proj');
            const o = L.sdpa(L.splitHeads(q, c.heads, dh), L.splitHeads(k, c.heads, dh), L.splitHeads(v, c.heads, dh), dh, causal);
            return L.linear(L.mergeHeads(o, D), D, D, 'out_proj');
          });
          const r1 = g.op('Add', [h, a]);
          const n2 = L.layerNorm(r1, D, 1e-5, 'layer_norm2');
          const m = L.in('mlp', () => L.linear(L.quickGelu(L.linear(n2, D, 4 * D, 'fc1')), 4 * D, D, 'fc2'));
          return g.op('Add', [r1, m]);
        }),
      ),
    );
  }
  const last = L.in('text_model', () => L.layerNorm(h, D, 1e-5, 'final_layer_norm'));

  // pooled = last[arange(B), input_ids.to(int).argmax(-1)], exported as a flat Gather.
  const pooled = g.scope('text_model', () => {
    const ids32 = g.op('Cast', [ids], { to: A.i(6) });
    const eos = g.op('ArgMax', [ids32], { axis: A.i(-1), keepdims: A.i(0), select_last_index: A.i(0) });
    const batch = g.op('Gather', [g.op('Shape', [ids]), g.i64([0], [])], { axis: A.i(0) });
    const rows = g.op('Range', [g.i64([0], []), batch, g.i64([1], [])]);
    const flatIdx = g.op('Add', [g.op('Mul', [rows, g.i64([T], [])]), eos]);
    const flat = g.op('Reshape', [last, g.i64([-1, D])]);
    return g.op('Gather', [flat, flatIdx], { axis: A.i(0) });
  });

  g.output(last, 'last_hidden_state', 'float32', ['batch', T, D]);
  g.output(pooled, 'pooler_output', 'float32', ['batch', D]);
  return g.toBytes(`tiny CLIP text encoder (D=${D}, ${c.layers} layer, ${c.idsType} ids), seeded weights`);
}
