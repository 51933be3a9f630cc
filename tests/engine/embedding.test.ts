// The engine's PSA user embedding under onnxruntime-node with the demo's Qwen2-style profile encoder: the masked
// mean equals a direct computation (same model run by hand, tokens from transformers.js loaded the ordinary way),
// padding is skipped, float16 outputs are decoded, NaN/Inf is refused, the encoder session is released after every
// computation (success, error, cancel), and the Engine's embed follows the busy rules and reports the encoder.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AutoTokenizer, env } from '@huggingface/transformers';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { computeEmbedding, liveEncoderSessions } from '../../src/engine/embedding/compute';
import { folderEncoder, type EncoderSource } from '../../src/engine/embedding/encoder-source';
import { halfToFloat, maskedMean } from '../../src/engine/embedding/pooling';
import { nodeEngine, nodeRuntime } from '../../src/engine/node-host';
import { fsReader } from '../../src/engine/node-reader';
import type { InferenceSession, OrtLike } from '../../src/engine/ort-types';
import type { Runtime } from '../../src/engine/sessions';
import { AppError } from '../../src/shared/errors';
import { PSA_EMBEDDING_TEMPLATE, renderEmbeddingText } from '../../src/safety/embedding-text';
import { DEMO, ensureDemoBundles } from '../helpers/bundles';

const ENCODER = path.join(DEMO, 'profile_encoder');
const TEXT = renderEmbeddingText(PSA_EMBEDDING_TEMPLATE, {
  Age: 9, Age_Group: 'children', Gender: 'male', Religion: 'None', Physical_Condition: 'healthy', Mental_Condition: 'healthy',
  Banned_Categories: ['Violence', 'Hate', 'Sexuality'], Allowed_Categories: ['Propaganda'],
});

let source: EncoderSource;
beforeAll(async () => {
  await ensureDemoBundles();
  source = await folderEncoder(fsReader(ENCODER));
});

/** A runtime whose sessions are recorded (and whose run output can be tampered with). */
function spyRuntime(tamper?: (h: Float32Array) => void): { rt: Runtime; created: InferenceSession[]; released: number[] } {
  const base = nodeRuntime();
  const created: InferenceSession[] = [];
  const released: number[] = [];
  const fake: OrtLike = {
    Tensor: base.ort.Tensor,
    InferenceSession: {
      async create(bytes, options) {
        const s = await base.ort.InferenceSession.create(bytes, options);
        const i = created.length;
        created.push(s);
        const release = s.release.bind(s);
        s.release = async () => {
          released.push(i);
          return release();
        };
        if (tamper) {
          const run = s.run.bind(s) as (f: InferenceSession.FeedsType, o?: readonly string[]) => Promise<InferenceSession.ReturnType>;
          (s as { run: unknown }).run = async (f: InferenceSession.FeedsType, o?: readonly string[]) => {
            const out = await run(f, o);
            tamper(out.last_hidden_state.data as Float32Array);
            return out;
          };
        }
        return s;
      },
    },
  };
  return { rt: { ...base, ort: fake }, created, released };
}

describe('masked mean', () => {
  it('averages only the tokens with mask 1 and skips masked rows even when they hold NaN', () => {
    // [1, 3, 2]: token 1 is padding and holds NaN.
    const h = Float32Array.from([1, 2, NaN, NaN, 3, 6]);
    expect(Array.from(maskedMean(h, [1, 3, 2], [1, 0, 1]))).toEqual([2, 4]);
    expect(Array.from(maskedMean(h.slice(4), [1, 1, 2], [1n]))).toEqual([3, 6]);
  });

  it('refuses NaN or Inf inside the mask, naming the token and dimension', () => {
    expect(() => maskedMean(Float32Array.from([1, 2, Infinity, 0]), [1, 2, 2], [1, 1])).toThrow(/infinite value at token 1, dimension 0/);
    expect(() => maskedMean(Float32Array.from([1, NaN]), [1, 1, 2], [1])).toThrow(/NaN at token 0, dimension 1/);
  });

  it('decodes float16 bits (normal, subnormal, ±0, Inf, NaN)', () => {
    expect([0x3c00, 0xc000, 0x3555, 0x0001, 0x8000, 0x7c00].map(halfToFloat)).toEqual([1, -2, 0.333251953125, 2 ** -24, -0, Infinity]);
    expect(halfToFloat(0x7e00)).toBeNaN();
    expect(Array.from(maskedMean(Uint16Array.from([0x3c00, 0x4000, 0x4200, 0x4400]), [1, 2, 2], [1, 1], { float16: true }))).toEqual([2, 3]);
    expect(() => maskedMean(Uint16Array.from([0x7c00, 0]), [1, 1, 2], [1], { float16: true })).toThrow(/infinite/);
  });
});

describe('computeEmbedding with the demo encoder', () => {
  it('equals the masked mean of last_hidden_state computed directly, tokens as transformers.js gives them', async () => {
    const r = await computeEmbedding(nodeRuntime(), source, TEXT, { details: true });
    // Direct: the tokenizer loaded the ordinary transformers.js way (local folder), the model run by hand.
    env.allowRemoteModels = false;
    env.localModelPath = DEMO + '/';
    const tok = await AutoTokenizer.from_pretrained('profile_encoder');
    const chat = tok.apply_chat_template([{ role: 'user', content: TEXT }], { tokenize: false, add_generation_prompt: true }) as string;
    expect(r.details!.chat).toBe(chat);
    expect(chat.startsWith('<|im_start|>system\n')).toBe(true); // the template's default system message
    expect(chat.endsWith('<|im_end|>\n<|im_start|>assistant\n')).toBe(true);
    const ids = tok.encode(chat);
    expect(r.details!.ids).toEqual(ids);
    expect(r.tokens).toBe(ids.length);
    const s = await ort.InferenceSession.create(readFileSync(path.join(ENCODER, 'model.onnx')));
    const T = ids.length;
    const out = await s.run({
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, T]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(T).fill(1n), [1, T]),
    });
    await s.release();
    const h = out.last_hidden_state.data as Float32Array;
    const E = out.last_hidden_state.dims[2];
    expect(r.embedding.length).toBe(E);
    for (let e = 0; e < E; e++) {
      let sum = 0;
      for (let t = 0; t < T; t++) sum += h[t * E + e];
      expect(r.embedding[e]).toBeCloseTo(sum / T, 5);
    }
    // An honest embedding: not constant, not all zero.
    expect(new Set(Array.from(r.embedding)).size).toBeGreaterThan(E / 2);
    expect(r.encoderId).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives different embeddings for different profiles and the same one for the same text', async () => {
    const a = await computeEmbedding(nodeRuntime(), source, TEXT);
    const b = await computeEmbedding(nodeRuntime(), source, TEXT.replace('Age: 9 (children)', 'Age: 30 (young adults)'));
    const c = await computeEmbedding(nodeRuntime(), source, TEXT);
    expect(Array.from(c.embedding)).toEqual(Array.from(a.embedding));
    expect(Math.max(...Array.from(a.embedding, (x, i) => Math.abs(x - b.embedding[i])))).toBeGreaterThan(1e-4);
  });

  it('releases the encoder session after computing, and reports the phases in order', async () => {
    const { rt, created, released } = spyRuntime();
    const phases: string[] = [];
    let liveDuringRun = -1;
    await computeEmbedding(rt, source, TEXT, {
      onProgress: (p) => {
        if (phases.at(-1) !== p) phases.push(p);
        if (p === 'run') liveDuringRun = liveEncoderSessions();
      },
    });
    expect(created).toHaveLength(1);
    expect(released).toEqual([0]);
    expect(liveDuringRun).toBe(1);
    expect(liveEncoderSessions()).toBe(0);
    expect(phases).toEqual(['tokenize', 'load', 'run', 'release']);
  });

  it('refuses a NaN hidden state with a clear error and still releases the session', async () => {
    const { rt, created, released } = spyRuntime((h) => (h[5] = NaN));
    const err = await computeEmbedding(rt, source, TEXT).catch((e) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as Error).message).toMatch(/profile encoder produced NaN at token 0, dimension 5/);
    expect(created).toHaveLength(1);
    expect(released).toEqual([0]);
    expect(liveEncoderSessions()).toBe(0);
  });

  it('releases the session when cancelled during the run', async () => {
    const { rt, created, released } = spyRuntime();
    const c = new AbortController();
    const err = await computeEmbedding(rt, source, TEXT, { signal: c.signal, onProgress: (p) => p === 'run' && c.abort() }).catch((e) => e);
    expect((err as AppError).code).toBe('CANCELLED');
    expect(created).toHaveLength(1);
    expect(released).toEqual([0]);
  });

  it('names a missing encoder file', async () => {
    const err = await folderEncoder(fsReader(DEMO)).catch((e) => e);
    expect((err as AppError).code).toBe('MODEL_FILE_MISSING');
    expect((err as Error).message).toMatch(/model\.onnx is missing from the profile encoder folder/);
  });
});

describe('Engine.embed on the demo bundle', () => {
  it('reports the bundle encoder (id, template), embeds like the standalone folder, and refuses overlap with BUSY', async () => {
    const engine = nodeEngine();
    const info = await engine.load({ url: DEMO, backend: 'cpu' });
    expect(info.profileEncoder?.template).toBe(PSA_EMBEDDING_TEMPLATE);
    const direct = await computeEmbedding(nodeRuntime(), source, TEXT);
    // Same files, same identity: the manifest's sha256s equal the hashes of the folder's bytes.
    expect(info.profileEncoder?.id).toBe(direct.encoderId);
    const progress: string[] = [];
    const r = await engine.embed('e1', TEXT, (p) => progress.push(p));
    expect(r.encoderId).toBe(info.profileEncoder!.id);
    expect(Array.from(r.embedding)).toEqual(Array.from(direct.embedding));
    expect(r.ms).toBeGreaterThan(0);
    expect(progress).toContain('release');
    expect(liveEncoderSessions()).toBe(0);

    const first = engine.embed('e2', TEXT);
    const second = await engine.embed('e3', TEXT).catch((e) => e);
    const gen = await engine.generate('g', { prompt: 'x', seed: 1, steps: 2, scheduler: 'euler', guidance: 7.5, width: 64, height: 64 }).catch((e) => e);
    expect((second as AppError).code).toBe('BUSY');
    expect((gen as AppError).code).toBe('BUSY');
    await first;
    await engine.unload();
    expect((await engine.embed('e4', TEXT).catch((e) => e) as AppError).code).toBe('NOT_LOADED');
  });

  it('a bundle without a profile encoder says so', async () => {
    const engine = nodeEngine();
    const info = await engine.load({ url: path.join(DEMO, '..', 'demo-plain'), backend: 'cpu' });
    expect(info.profileEncoder).toBeUndefined();
    const err = await engine.embed('e', TEXT).catch((e) => e);
    expect((err as AppError).code).toBe('INVALID_REQUEST');
    expect((err as Error).message).toMatch(/has no profile encoder/);
    await engine.unload();
  });
});

describe('the fixture encoder (transformers\' own tiny Qwen2, Qwen2.5 chat template; fixtures/profile-encoder)', () => {
  it('gives PSA\'s chat text, token ids and embeddings (1e-4 relative) for every reference user', async () => {
    const dir = path.join(import.meta.dirname, '..', '..', 'fixtures', 'profile-encoder');
    const expected = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8')) as {
      users: { user_id: string; text: string; chat_text: string; input_ids: number[]; embedding: number[] }[];
    };
    const src = await folderEncoder(fsReader(dir));
    for (const u of expected.users) {
      const r = await computeEmbedding(nodeRuntime(), src, u.text, { details: true });
      expect(r.details!.chat, `user ${u.user_id}`).toBe(u.chat_text);
      expect(r.details!.ids, `user ${u.user_id}`).toEqual(u.input_ids);
      let num = 0, den = 0;
      for (let i = 0; i < u.embedding.length; i++) {
        num = Math.max(num, Math.abs(r.embedding[i] - u.embedding[i]));
        den = Math.max(den, Math.abs(u.embedding[i]));
      }
      expect(r.embedding.length).toBe(u.embedding.length);
      expect(num / den, `user ${u.user_id}`).toBeLessThan(1e-4);
    }
  });
});
