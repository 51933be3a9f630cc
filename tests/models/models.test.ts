// Every generated model runs in onnxruntime-node with the right output shapes and finite values, satisfies the
// I/O contract (`validateModelIO` on real session metadata), and behaves like the architecture it claims to be
// (causal text/profile encoders, CLIP pooling at EOS, user projection = Linear → LayerNorm, VAE range, symbolic
// latent sizes). The deliberately broken U-Nets are rejected with messages naming the role and the tensor.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateModelIO } from '../../src/shared/contract';
import { buildDefectiveModel } from '../../scripts/models/defects';
import { MODEL_CASES, unetFeeds, type PlainFeeds } from '../../scripts/models/feeds';
import { decodeModel, readFloatInit } from '../../scripts/models/onnx-builder';
import { allFinite, buildIntoTemp, maxAbsDiff, removeTemps, run, session, sessionFromBytes, type Outputs } from './helpers';

let root = '';
const file = (bundle: string, path: string) => join(root, bundle, path);
const caseFile = (id: string) => {
  const c = MODEL_CASES.find((x) => x.id === id)!;
  return file(c.bundle, c.path);
};
const runCase = async (id: string, feeds?: PlainFeeds): Promise<Outputs> => run(await session(caseFile(id)), feeds ?? MODEL_CASES.find((x) => x.id === id)!.feeds());

beforeAll(() => {
  root = buildIntoTemp('run').root;
});

afterAll(removeTemps);

const EXPECTED_SHAPES: Record<string, Record<string, number[]>> = {
  text_encoder: { last_hidden_state: [2, 77, 32], pooler_output: [2, 32] },
  text_encoder_int64: { last_hidden_state: [2, 77, 32], pooler_output: [2, 32] },
  unet_psa: { out_sample: [2, 4, 8, 8] },
  unet_plain: { out_sample: [2, 4, 8, 8] },
  unet_int8: { out_sample: [2, 4, 8, 8] },
  user_projection: { user_tokens: [2, 1, 32] },
  profile_encoder: { last_hidden_state: [2, 10, 16] },
  vae_decoder: { sample: [1, 3, 64, 64] },
};

describe('every model runs in onnxruntime-node and meets the contract', () => {
  for (const c of MODEL_CASES) {
    it(`${c.id}: contract, shapes, finite values`, async () => {
      const s = await session(caseFile(c.id));
      expect(validateModelIO(c.role, { inputs: s.inputMetadata, outputs: s.outputMetadata }, c.path)).toEqual([]);
      const out = await run(s, c.feeds());
      expect(Object.keys(out).sort()).toEqual(Object.keys(EXPECTED_SHAPES[c.id]).sort());
      for (const [name, dims] of Object.entries(EXPECTED_SHAPES[c.id])) {
        expect(out[name].dims, name).toEqual(dims);
        expect(allFinite(out[name].data), name).toBe(true);
        expect(Math.max(...Array.from(out[name].data, Math.abs)), name).toBeGreaterThan(1e-3);
      }
    });
  }

  it('declared input types: int32 ids (PSA demo), int64 ids (plain demo), int64 timestep, float32 psa_scale', async () => {
    const meta = async (id: string) => Object.fromEntries((await session(caseFile(id))).inputMetadata.map((m) => [m.name, m.isTensor ? m.type : '?']));
    expect(await meta('text_encoder')).toEqual({ input_ids: 'int32' });
    expect(await meta('text_encoder_int64')).toEqual({ input_ids: 'int64' });
    expect(await meta('unet_psa')).toEqual({ sample: 'float32', timestep: 'int64', encoder_hidden_states: 'float32', psa_scale: 'float32' });
    expect(await meta('unet_plain')).toEqual({ sample: 'float32', timestep: 'int64', encoder_hidden_states: 'float32' });
    expect(await meta('profile_encoder')).toEqual({ input_ids: 'int64', attention_mask: 'int64' });
  });
});

describe('contract defects are caught', () => {
  it('renamed input: encoder_hidden_states → text_embeds', async () => {
    const s = await sessionFromBytes(buildDefectiveModel('unet', 'renamed-input'));
    const problems = validateModelIO('unet', { inputs: s.inputMetadata, outputs: s.outputMetadata });
    expect(problems.map((p) => p.tensor).sort()).toEqual(['encoder_hidden_states', 'text_embeds']);
    for (const p of problems) {
      expect(p.role).toBe('unet');
      expect(p.message).toMatch(/^unet /);
      expect(p.message).toContain(`\`${p.tensor}\``);
    }
  });

  it('wrong rank: sample declared rank 3', async () => {
    const s = await sessionFromBytes(buildDefectiveModel('unet', 'wrong-rank'));
    const problems = validateModelIO('unet', { inputs: s.inputMetadata, outputs: s.outputMetadata }, 'unet/model.onnx');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ role: 'unet', tensor: 'sample' });
    expect(problems[0].message).toContain('unet (unet/model.onnx) input `sample` has rank 3');
    // the broken model still runs, so only the contract check stops it
    const f = unetFeeds({ userTokens: 1, batch: 1 });
    f.sample.dims = [1, 4, 64];
    expect((await run(s, f)).out_sample.dims).toEqual([1, 4, 8, 8]);
  });

  it('renamed input on the other roles', async () => {
    for (const role of ['text_encoder', 'user_projection', 'profile_encoder', 'vae_decoder'] as const) {
      const s = await sessionFromBytes(buildDefectiveModel(role, 'renamed-input'));
      const problems = validateModelIO(role, { inputs: s.inputMetadata, outputs: s.outputMetadata });
      expect(problems.length, role).toBe(2);
      for (const p of problems) expect(p.message.startsWith(role)).toBe(true);
    }
  });
});

describe('text encoder', () => {
  it('pooler_output is the hidden state at the EOS (argmax id) position; int32 and int64 ids agree', async () => {
    const a = await runCase('text_encoder');
    const b = await runCase('text_encoder_int64');
    expect(maxAbsDiff(a.last_hidden_state.data, b.last_hidden_state.data)).toBe(0);
    expect(maxAbsDiff(a.pooler_output.data, b.pooler_output.data)).toBe(0);
    const eos = [6, 1]; // "a photo of a cat" → EOS at 6; "" → EOS at 1
    for (let i = 0; i < 2; i++) {
      const row = a.last_hidden_state.data.slice((i * 77 + eos[i]) * 32, (i * 77 + eos[i] + 1) * 32);
      expect(maxAbsDiff(row, a.pooler_output.data.slice(i * 32, (i + 1) * 32))).toBe(0);
    }
  });

  it('is causal: changing token 10 leaves positions 0..9 unchanged and changes 10', async () => {
    const f = MODEL_CASES.find((x) => x.id === 'text_encoder')!.feeds();
    const a = await runCase('text_encoder', f);
    f.input_ids.data[10] = 1125;
    const b = await runCase('text_encoder', f);
    expect(maxAbsDiff(a.last_hidden_state.data.slice(0, 10 * 32), b.last_hidden_state.data.slice(0, 10 * 32))).toBe(0);
    expect(maxAbsDiff(a.last_hidden_state.data.slice(10 * 32, 11 * 32), b.last_hidden_state.data.slice(10 * 32, 11 * 32))).toBeGreaterThan(1e-3);
  });
});

describe('profile encoder', () => {
  it('is causal and ignores masked (left-padding) tokens', async () => {
    const base = MODEL_CASES.find((x) => x.id === 'profile_encoder')!.feeds();
    const a = await runCase('profile_encoder', base);
    const E = 16, T = 10;
    // row 1 has 3 left pads: changing a pad id must not move the unpadded positions 3..9
    const f = MODEL_CASES.find((x) => x.id === 'profile_encoder')!.feeds();
    f.input_ids.data[T + 1] = 100;
    const b = await runCase('profile_encoder', f);
    expect(maxAbsDiff(a.last_hidden_state.data.slice((T + 3) * E), b.last_hidden_state.data.slice((T + 3) * E))).toBeLessThan(1e-6);
    // row 0: changing the last token moves only the last position
    const g = MODEL_CASES.find((x) => x.id === 'profile_encoder')!.feeds();
    g.input_ids.data[T - 1] = 100;
    const c = await runCase('profile_encoder', g);
    expect(maxAbsDiff(a.last_hidden_state.data.slice(0, (T - 1) * E), c.last_hidden_state.data.slice(0, (T - 1) * E))).toBe(0);
    expect(maxAbsDiff(a.last_hidden_state.data.slice((T - 1) * E, T * E), c.last_hidden_state.data.slice((T - 1) * E, T * E))).toBeGreaterThan(1e-3);
  });
});

describe('user projection', () => {
  it('equals LayerNorm(Linear(user_embeds)) computed from its own initializers', async () => {
    const m = decodeModel(readFileSync(caseFile('user_projection')));
    const W = readFloatInit(m, 'proj.weight'), bias = readFloatInit(m, 'proj.bias').data;
    const gamma = readFloatInit(m, 'norm.weight').data, beta = readFloatInit(m, 'norm.bias').data;
    expect(W.dims).toEqual([32, 16]);
    const feeds = MODEL_CASES.find((x) => x.id === 'user_projection')!.feeds();
    const out = await runCase('user_projection', feeds);
    const x = feeds.user_embeds.data;
    for (let b = 0; b < 2; b++) {
      const y = Array.from({ length: 32 }, (_, o) => bias[o] + x.slice(b * 16, b * 16 + 16).reduce((s, v, i) => s + v * W.data[o * 16 + i], 0));
      const mean = y.reduce((s, v) => s + v, 0) / 32;
      const variance = y.reduce((s, v) => s + (v - mean) ** 2, 0) / 32;
      const ref = y.map((v, i) => ((v - mean) / Math.sqrt(variance + 1e-5)) * gamma[i] + beta[i]);
      expect(maxAbsDiff(ref, out.user_tokens.data.slice(b * 32, b * 32 + 32))).toBeLessThan(1e-5);
    }
  });
});

describe('U-Net and VAE shapes', () => {
  it('U-Net takes any latent size and batch (symbolic dims); the timestep matters', async () => {
    const f = unetFeeds({ userTokens: 1, batch: 1, latent: 8 });
    f.sample = { type: 'float32', dims: [1, 4, 8, 12], data: Array.from({ length: 4 * 8 * 12 }, (_, i) => Math.sin(i)) };
    const a = await runCase('unet_psa', f);
    expect(a.out_sample.dims).toEqual([1, 4, 8, 12]);
    f.timestep.data = [1];
    const b = await runCase('unet_psa', f);
    expect(maxAbsDiff(a.out_sample.data, b.out_sample.data)).toBeGreaterThan(1e-3);
  });

  it('VAE decoder: 8× upsampling of any latent size, outputs mostly inside [-1, 1] without a clamp', async () => {
    const out = await runCase('vae_decoder');
    const d = out.sample.data;
    const inside = d.filter((v) => v >= -1 && v <= 1).length / d.length;
    expect(inside).toBeGreaterThan(0.99);
    const f: PlainFeeds = { latent_sample: { type: 'float32', dims: [2, 4, 4, 6], data: Array.from({ length: 2 * 4 * 24 }, (_, i) => Math.cos(i) * 4) } };
    expect((await runCase('vae_decoder', f)).sample.dims).toEqual([2, 3, 32, 48]);
  });
});
