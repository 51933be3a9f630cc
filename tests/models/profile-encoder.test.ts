// The demo profile encoder is a Qwen2 decoder: its ONNX output equals a plain JavaScript Qwen2Model forward pass
// written from transformers' modeling_qwen2 (RMSNorm, rotary embedding with rotate_half, grouped-query attention with
// repeat_kv, causal softmax, SwiGLU, final norm) over the graph's own initializers, for a real chat-formatted text.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeModel, readFloatInit } from '../../scripts/models/onnx-builder';
import { PROFILE_ENCODER_DEFAULTS as C } from '../../scripts/models/profile-encoder';
import { buildIntoTemp, removeTemps } from './helpers';

let dir = '';
beforeAll(() => {
  dir = join(buildIntoTemp('qwen2').root, 'demo', 'profile_encoder');
});
afterAll(removeTemps);

/** y[T, out] = x[T, in] · W[in, out] (+ b): the generator stores Linear weights as [in, out]. */
function linear(x: Float64Array, T: number, inF: number, W: Float32Array, outF: number, b?: Float32Array): Float64Array {
  const y = new Float64Array(T * outF);
  for (let t = 0; t < T; t++) for (let o = 0; o < outF; o++) {
    let s = b ? b[o] : 0;
    for (let i = 0; i < inF; i++) s += x[t * inF + i] * W[i * outF + o];
    y[t * outF + o] = s;
  }
  return y;
}

function rms(x: Float64Array, T: number, E: number, w: Float32Array, eps: number): Float64Array {
  const y = new Float64Array(T * E);
  for (let t = 0; t < T; t++) {
    let ms = 0;
    for (let e = 0; e < E; e++) ms += x[t * E + e] ** 2;
    const inv = 1 / Math.sqrt(ms / E + eps);
    for (let e = 0; e < E; e++) y[t * E + e] = x[t * E + e] * inv * w[e];
  }
  return y;
}

/** Rotary embedding on [T, heads·dh] in place (rotate_half convention). */
function rope(x: Float64Array, T: number, heads: number, dh: number, theta: number): void {
  const half = dh / 2;
  for (let t = 0; t < T; t++) for (let h = 0; h < heads; h++) for (let i = 0; i < half; i++) {
    const a = t / theta ** ((2 * i) / dh);
    const o = t * heads * dh + h * dh;
    const x1 = x[o + i], x2 = x[o + i + half];
    x[o + i] = x1 * Math.cos(a) - x2 * Math.sin(a);
    x[o + i + half] = x2 * Math.cos(a) + x1 * Math.sin(a);
  }
}

function qwen2(ids: number[], w: (n: string) => Float32Array): Float64Array {
  const { hidden: E, heads: H, kvHeads: KV, layers, intermediate: I, ropeTheta, rmsEps } = C;
  const T = ids.length, dh = E / H, rep = H / KV;
  const emb = w('model.embed_tokens.weight');
  let x = new Float64Array(T * E);
  ids.forEach((id, t) => x.set(emb.subarray(id * E, (id + 1) * E), t * E));
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}.`;
    const n = rms(x, T, E, w(p + 'input_layernorm.weight'), rmsEps);
    const q = linear(n, T, E, w(p + 'self_attn.q_proj.weight'), H * dh, w(p + 'self_attn.q_proj.bias'));
    const k = linear(n, T, E, w(p + 'self_attn.k_proj.weight'), KV * dh, w(p + 'self_attn.k_proj.bias'));
    const v = linear(n, T, E, w(p + 'self_attn.v_proj.weight'), KV * dh, w(p + 'self_attn.v_proj.bias'));
    rope(q, T, H, dh, ropeTheta);
    rope(k, T, KV, dh, ropeTheta);
    const att = new Float64Array(T * H * dh);
    for (let h = 0; h < H; h++) {
      const kv = Math.floor(h / rep); // repeat_kv: query head h reads K/V head h // n_rep
      for (let i = 0; i < T; i++) {
        const s = new Float64Array(i + 1);
        for (let j = 0; j <= i; j++) {
          let d = 0;
          for (let c = 0; c < dh; c++) d += q[i * H * dh + h * dh + c] * k[j * KV * dh + kv * dh + c];
          s[j] = d / Math.sqrt(dh);
        }
        const m = Math.max(...s);
        let z = 0;
        for (let j = 0; j <= i; j++) z += (s[j] = Math.exp(s[j] - m));
        for (let c = 0; c < dh; c++) {
          let o = 0;
          for (let j = 0; j <= i; j++) o += (s[j] / z) * v[j * KV * dh + kv * dh + c];
          att[i * H * dh + h * dh + c] = o;
        }
      }
    }
    const o = linear(att, T, H * dh, w(p + 'self_attn.o_proj.weight'), E);
    x = x.map((a, i) => a + o[i]);
    const n2 = rms(x, T, E, w(p + 'post_attention_layernorm.weight'), rmsEps);
    const g = linear(n2, T, E, w(p + 'mlp.gate_proj.weight'), I);
    const u = linear(n2, T, E, w(p + 'mlp.up_proj.weight'), I);
    const gu = g.map((a, i) => (a / (1 + Math.exp(-a))) * u[i]);
    const d = linear(gu, T, I, w(p + 'mlp.down_proj.weight'), E);
    x = x.map((a, i) => a + d[i]);
  }
  return rms(x, T, E, w('model.norm.weight'), rmsEps);
}

describe('demo profile encoder = Qwen2Model', () => {
  it('matches a direct JavaScript Qwen2 forward pass (1e-4 relative) on a chat-formatted text', async () => {
    const bytes = readFileSync(join(dir, 'model.onnx'));
    const m = decodeModel(bytes);
    const w = (name: string) => readFloatInit(m, name).data;
    const { PreTrainedTokenizer } = await import('@huggingface/transformers');
    const tok = new PreTrainedTokenizer(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')), JSON.parse(readFileSync(join(dir, 'tokenizer_config.json'), 'utf8')));
    const chat = tok.apply_chat_template([{ role: 'user', content: 'Age: 9 (children)\nReligion: nan' }], { tokenize: false, add_generation_prompt: true }) as string;
    const ids = tok.encode(chat);
    expect(ids.length).toBeGreaterThan(20);
    const s = await ort.InferenceSession.create(bytes);
    const T = ids.length;
    const out = await s.run({
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, T]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(T).fill(1n), [1, T]),
    });
    await s.release();
    const got = out.last_hidden_state.data as Float32Array;
    const ref = qwen2(ids, w);
    let num = 0, den = 0;
    for (let i = 0; i < ref.length; i++) {
      num = Math.max(num, Math.abs(got[i] - ref[i]));
      den = Math.max(den, Math.abs(ref[i]));
    }
    expect(got.length).toBe(ref.length);
    expect(num / den).toBeLessThan(1e-4);
  });
});
