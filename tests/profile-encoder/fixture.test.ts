// The profile-encoder parity fixture (fixtures/profile-encoder, made by scripts/reference/qwen2_fixture.py from
// transformers' own Qwen2 and PSAlign's own get_embeds.py) is reproducible with psa-web's runtime libraries:
// transformers.js, given only the fixture's tokenizer.json + tokenizer_config.json, renders the same chat text with
// Qwen2.5's template and produces the same ids as transformers' Qwen2Tokenizer; onnxruntime-node running model.onnx
// on those ids gives the stored masked-mean embeddings — alone, and in a left-padded batch as PSA ran them.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Qwen2Tokenizer } from '@huggingface/transformers';
import ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const DIR = path.resolve(__dirname, '..', '..', 'fixtures', 'profile-encoder');

interface UserRecord {
  user_id: number;
  profile: Record<string, string | number>;
  text: string;
  chat_text: string;
  input_ids: number[];
  tokens: number;
  embedding: number[];
  embedding_batched_like_psa: number[];
}
interface Expected {
  encoder: { hidden_size: number; vocab_size: number; special_tokens: Record<string, number> };
  users: UserRecord[];
}

const expected: Expected = JSON.parse(readFileSync(path.join(DIR, 'expected.json'), 'utf8'));
const readJson = (name: string) => JSON.parse(readFileSync(path.join(DIR, name), 'utf8')) as Record<string, unknown>;
const DEFAULT_SYSTEM = 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.';
const REL_TOL = 1e-5;

/** max |a - b| / max |b|: the relative error of a whole vector. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

/** get_embeds.py's pooling: sum over positions of hidden * mask, divided by the mask's sum, per batch row. */
function maskedMean(hidden: Float32Array, mask: BigInt64Array, [B, T, E]: readonly number[]): Float64Array[] {
  const rows: Float64Array[] = [];
  for (let b = 0; b < B; b++) {
    const acc = new Float64Array(E);
    let n = 0;
    for (let t = 0; t < T; t++) {
      if (mask[b * T + t] === 0n) continue;
      n++;
      for (let e = 0; e < E; e++) acc[e] += hidden[(b * T + t) * E + e];
    }
    rows.push(acc.map((v) => v / n));
  }
  return rows;
}

describe('fixture records', () => {
  it('covers PSA users 1001, 501 and a religion-None user, rendered as pandas 2 read them', () => {
    const ids = expected.users.map((u) => u.user_id);
    expect(ids).toEqual(expect.arrayContaining([1001, 501]));
    const none = expected.users.filter((u) => u.profile.Religion === 'None');
    expect(none.length).toBeGreaterThan(0);
    for (const u of none) expect(u.text).toContain('- Religion: nan\n');
    for (const u of expected.users) {
      expect(u.embedding).toHaveLength(expected.encoder.hidden_size);
      expect(u.tokens).toBe(u.input_ids.length);
    }
  });
});

describe('transformers.js tokenizer = transformers Qwen2Tokenizer', () => {
  const tokenizer = new Qwen2Tokenizer(readJson('tokenizer.json'), readJson('tokenizer_config.json'));

  it.each(expected.users.map((u) => [u.user_id, u] as const))('user %i: chat text and ids', (_id, u) => {
    const chat = tokenizer.apply_chat_template([{ role: 'user', content: u.text }], { tokenize: false, add_generation_prompt: true });
    expect(chat).toBe(u.chat_text);
    expect(chat.startsWith(`<|im_start|>system\n${DEFAULT_SYSTEM}<|im_end|>\n<|im_start|>user\n`)).toBe(true);
    expect(chat.endsWith('<|im_end|>\n<|im_start|>assistant\n')).toBe(true);
    expect(tokenizer.encode(chat)).toEqual(u.input_ids);
  });

  it('maps the chat special tokens to their added ids', () => {
    for (const [token, id] of Object.entries(expected.encoder.special_tokens)) {
      expect(tokenizer.encode(token, { add_special_tokens: false })).toEqual([id]);
    }
  });
});

describe('model.onnx (onnxruntime-node) = torch', () => {
  let session: ort.InferenceSession;
  beforeAll(async () => {
    session = await ort.InferenceSession.create(path.join(DIR, 'model.onnx'));
  });
  afterAll(async () => {
    await session?.release();
  });

  it('has the feature-extraction signature', () => {
    expect(session.inputNames).toEqual(['input_ids', 'attention_mask']);
    expect(session.outputNames).toEqual(['last_hidden_state']);
  });

  it.each(expected.users.map((u) => [u.user_id, u] as const))('user %i alone: masked mean = stored embedding', async (_id, u) => {
    const T = u.input_ids.length;
    const mask = new BigInt64Array(T).fill(1n);
    const out = await session.run({
      input_ids: new ort.Tensor('int64', BigInt64Array.from(u.input_ids, BigInt), [1, T]),
      attention_mask: new ort.Tensor('int64', mask, [1, T]),
    });
    const h = out.last_hidden_state;
    expect(h.dims).toEqual([1, T, expected.encoder.hidden_size]);
    const [emb] = maskedMean(h.data as Float32Array, mask, h.dims);
    expect(relErr(emb, u.embedding)).toBeLessThanOrEqual(REL_TOL);
  });

  it('left-padded batch (as get_embeds.py batched): each row = its single-user embedding', async () => {
    const users = expected.users;
    const T = Math.max(...users.map((u) => u.input_ids.length));
    const pad = expected.encoder.special_tokens['<|endoftext|>'];
    const ids = new BigInt64Array(users.length * T).fill(BigInt(pad));
    const mask = new BigInt64Array(users.length * T);
    users.forEach((u, b) => {
      const start = b * T + (T - u.input_ids.length);
      u.input_ids.forEach((id, t) => {
        ids[start + t] = BigInt(id);
        mask[start + t] = 1n;
      });
    });
    const out = await session.run({
      input_ids: new ort.Tensor('int64', ids, [users.length, T]),
      attention_mask: new ort.Tensor('int64', mask, [users.length, T]),
    });
    const rows = maskedMean(out.last_hidden_state.data as Float32Array, mask, out.last_hidden_state.dims);
    users.forEach((u, b) => {
      expect(relErr(rows[b], u.embedding)).toBeLessThanOrEqual(REL_TOL);
      expect(relErr(rows[b], u.embedding_batched_like_psa)).toBeLessThanOrEqual(REL_TOL);
    });
  });
});
