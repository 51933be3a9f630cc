// A public causal-LM export as the profile encoder: fixtures/profile-encoder-withpast/ holds the tiny Qwen2 of
// fixtures/profile-encoder/ in Optimum's text-generation-with-past form (input_ids, attention_mask, position_ids,
// past_key_values.N.* → logits, present.N.*; weights in onnx/model.onnx_data), exported by torch.onnx from
// transformers' own model (scripts/reference/qwen2_withpast_fixture.py), and its q4 version onnx/model_q4.onnx
// (MatMulNBits, by the project's q4 writer: scripts/convert/encoder/withpast-q4.ts). The converter edits the graph
// (final norm's output out, logits / present gone, past folded to length 0, position_ids computed) and cuts it into
// layer groups; the engine's group runner then gives transformers' masked mean (fp32) or stays within the q4 bound
// of encoder-quantize.test.ts (q4). The fixture itself is first shown to be a working with-past decoder.
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cosine, relErr } from '../../scripts/convert/encoder/accuracy';
import { writeLayerGroups, checkGroupSource } from '../../scripts/convert/encoder/index';
import { writeWithPastQ4 } from '../../scripts/convert/encoder/withpast-q4';
import { ConvertError } from '../../scripts/convert/errors';
import { loadOnnx, onnx } from '../../scripts/convert/onnx-model';
import { computeEmbedding } from '../../src/engine/embedding/compute';
import { folderEncoder } from '../../src/engine/embedding/encoder-source';
import { nodeRuntime } from '../../src/engine/node-host';
import { fsReader } from '../../src/engine/node-reader';
import { convert } from '../../scripts/convert/bundle';
import { checkManifest, type EncoderGroupsEntry } from '../../src/shared/bundle';
import { resolveBundle } from '../../src/engine/bundle-resolve';
import { describeBundleEncoder } from '../../src/engine/embedding/bundle-encoder';
import { adapterWithE32 } from './adapter-e32';
import { makeSd15, ROOT, tmpDir } from './helpers';
import { relDiff } from '../helpers/pixels';

const FIXTURE = path.join(ROOT, 'fixtures', 'profile-encoder-withpast');
const FEATURE = path.join(ROOT, 'fixtures', 'profile-encoder');
interface Expected {
  users: { user_id: number; text: string; input_ids: number[]; embedding: number[] }[];
  with_past_check: {
    input_ids: number[][];
    attention_mask: number[][];
    position_ids: number[][];
    past_shape: number[];
    past: Record<string, number[]>;
    logits_last: number[];
    logits_shape: number[];
    'present.1.value': number[];
    present_shape: number[];
  };
}
const expected = JSON.parse(readFileSync(path.join(FIXTURE, 'expected.json'), 'utf8')) as Expected;
const SMALL = 20_000;
// The bounds of the existing encoder tests: encoder-groups.test.ts (fp32 groups vs transformers, 1e-4) and
// encoder-quantize.test.ts (q4 vs float32: cos ≥ 0.94, max rel ≤ 0.6).
const FP32_REL = 1e-4;
const Q4 = { cos: 0.94, rel: 0.6 };

const i64 = (rows: number[][]) => new ort.Tensor('int64', BigInt64Array.from(rows.flat().map(BigInt)), [rows.length, rows[0].length]);

let tmp: string;
let f32Dir: string;
let q4Dir: string;
beforeAll(() => {
  tmp = tmpDir('encoder-withpast-');
  f32Dir = path.join(tmp, 'f32');
  q4Dir = path.join(tmp, 'q4');
  writeLayerGroups(FIXTURE, f32Dir, { groupBytes: SMALL, tableDtype: 'float32' });
  writeLayerGroups(FIXTURE, q4Dir, { groupBytes: SMALL, tableDtype: 'float32', model: 'onnx/model_q4.onnx', quantize: 'q4' });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the with-past fixture (what the converter reads)', () => {
  it('is a working with-past decoder: onnxruntime on a past of length 3 gives torch\'s logits and present (1e-4)', async () => {
    const c = expected.with_past_check;
    const s = await ort.InferenceSession.create(path.join(FIXTURE, 'onnx', 'model.onnx'));
    expect(s.inputNames).toEqual(['input_ids', 'attention_mask', 'position_ids', 'past_key_values.0.key', 'past_key_values.0.value', 'past_key_values.1.key', 'past_key_values.1.value']);
    expect(s.outputNames).toEqual(['logits', 'present.0.key', 'present.0.value', 'present.1.key', 'present.1.value']);
    const feeds: Record<string, ort.Tensor> = { input_ids: i64(c.input_ids), attention_mask: i64(c.attention_mask), position_ids: i64(c.position_ids) };
    for (const [k, v] of Object.entries(c.past)) feeds[k] = new ort.Tensor('float32', Float32Array.from(v), c.past_shape);
    const out = await s.run(feeds);
    expect(out.logits.dims).toEqual(c.logits_shape);
    const [B, T, V] = c.logits_shape;
    const logits = out.logits.data as Float32Array;
    const last = new Float32Array(B * V);
    for (let b = 0; b < B; b++) last.set(logits.subarray((b * T + T - 1) * V, (b * T + T) * V), b * V);
    expect(out['present.1.value'].dims).toEqual(c.present_shape);
    expect(relDiff(last, c.logits_last)).toBeLessThan(1e-4);
    expect(relDiff(out['present.1.value'].data as Float32Array, c['present.1.value'])).toBeLessThan(1e-4);
    await s.release();
  });

  it('its merged form (decoder_model_merged.onnx, If on use_cache_branch) is a working decoder on both branches', async () => {
    const c = expected.with_past_check;
    const s = await ort.InferenceSession.create(path.join(FIXTURE, 'onnx', 'decoder_model_merged.onnx'));
    expect(s.inputNames.at(-1)).toBe('use_cache_branch');
    const feeds: Record<string, ort.Tensor> = { input_ids: i64(c.input_ids), attention_mask: i64(c.attention_mask), position_ids: i64(c.position_ids), use_cache_branch: new ort.Tensor('bool', [true], [1]) };
    for (const [k, v] of Object.entries(c.past)) feeds[k] = new ort.Tensor('float32', Float32Array.from(v), c.past_shape);
    const withPast = await s.run(feeds);
    expect(relDiff(withPast['present.1.value'].data as Float32Array, c['present.1.value'])).toBeLessThan(1e-4);
    // The no-past branch on the 4 new tokens alone equals the plain with-past graph on a length-0 past.
    const plain = await ort.InferenceSession.create(path.join(FIXTURE, 'onnx', 'model.onnx'));
    const first: Record<string, ort.Tensor> = { input_ids: i64(c.input_ids), attention_mask: i64(c.input_ids.map((r) => r.map(() => 1))), position_ids: i64(c.input_ids.map((r) => r.map((_, i) => i))) };
    const empty: Record<string, ort.Tensor> = {};
    for (const k of Object.keys(c.past)) empty[k] = new ort.Tensor('float32', new Float32Array(0), [2, c.past_shape[1], 0, c.past_shape[3]]);
    const a = await s.run({ ...first, ...empty, use_cache_branch: new ort.Tensor('bool', [false], [1]) });
    const b = await plain.run({ ...first, ...empty });
    expect(relDiff(a.logits.data as Float32Array, b.logits.data as Float32Array)).toBeLessThan(1e-5);
    await s.release();
    await plain.release();
  });

  it('the weights are in onnx/model.onnx_data; the q4 version has MatMulNBits for every linear weight, lm_head included', () => {
    const f = loadOnnx(path.join(FIXTURE, 'onnx', 'model.onnx'), path.join(FIXTURE, 'onnx'), 'model.onnx');
    expect([...f.externalFiles.keys()]).toEqual(['model.onnx_data']);
    const q = loadOnnx(path.join(FIXTURE, 'onnx', 'model_q4.onnx'), path.join(FIXTURE, 'onnx'), 'model_q4.onnx');
    const nbits = q.model.graph!.node!.filter((n) => n.opType === 'MatMulNBits');
    expect(nbits.length).toBe(2 * 7 + 1);
    expect(nbits.some((n) => (n.name ?? '').includes('lm_head'))).toBe(true);
    expect(q.model.graph!.input!.map((i) => i.name)).toEqual(f.model.graph!.input!.map((i) => i.name));
  });

  it('the committed q4 file is what the q4 writer makes from model.onnx now', () => {
    const dir = path.join(tmp, 'q4-again');
    cpSync(FIXTURE, dir, { recursive: true });
    writeWithPastQ4(dir, 'again.onnx');
    expect(readFileSync(path.join(dir, 'onnx', 'again.onnx')).equals(readFileSync(path.join(FIXTURE, 'onnx', 'model_q4.onnx')))).toBe(true);
  });
});

describe('converter: a with-past causal-LM export → layer groups', () => {
  it('cuts at layers.N into 3 groups whose graphs take hidden_states (+ attention_mask) only: no past, no position_ids, no lm_head', () => {
    const c = checkGroupSource(FIXTURE);
    expect(c.model).toBe('onnx/model.onnx');
    expect(c.causalLm).toMatchObject({ past: ['past_key_values.0.key', 'past_key_values.0.value', 'past_key_values.1.key', 'past_key_values.1.value'], positionIds: true, mergedIf: false });
    expect(c.causalLm!.removedOutputs).toEqual(['logits', 'present.0.key', 'present.0.value', 'present.1.key', 'present.1.value']);
    expect(c.causalLm!.droppedNodes).toBeGreaterThan(0);
    const index = JSON.parse(readFileSync(path.join(f32Dir, 'encoder_groups.json'), 'utf8'));
    expect(index.groups.map((g: { layers: unknown }) => g.layers)).toEqual([[0, 0], [1, 1], null]);
    for (const g of index.groups) {
      const m = loadOnnx(path.join(f32Dir, g.file), f32Dir, g.file);
      const inputs = m.model.graph!.input!.map((i) => i.name);
      expect(inputs[0]).toBe('hidden_states');
      expect(inputs.every((n) => n === 'hidden_states' || n === 'attention_mask'), inputs.join()).toBe(true);
      expect(m.model.graph!.output!.map((o) => o.name)).toEqual([g.output]);
      expect([...m.inits.keys()].some((k) => k.includes('lm_head') || k.includes('embed_tokens'))).toBe(false);
    }
    expect(JSON.parse(readFileSync(path.join(f32Dir, 'embed_tokens.json'), 'utf8')).shape).toEqual([659, 32]);
  });

  it('fp32: the engine\'s group runner gives transformers\' masked mean of last_hidden_state (8 PSA profiles, 1e-4)', async () => {
    const rt = nodeRuntime();
    const grouped = await folderEncoder(fsReader(f32Dir));
    let worst = 0;
    for (const u of expected.users) {
      const r = await computeEmbedding(rt, grouped, u.text, { details: true });
      expect(r.details!.ids).toEqual(u.input_ids); // the copied tokenizer and chat template give the reference's ids
      worst = Math.max(worst, relDiff(r.embedding, u.embedding));
    }
    console.log(`with-past export → groups (fp32) vs transformers: ${worst.toExponential(2)} (max |Δ| / max |ref|, 8 users)`);
    expect(worst).toBeLessThan(FP32_REL);
  });

  it('q4 (MatMulNBits passed through): within the q4 bound of transformers, and equal to the feature-extraction export quantized by the same writer', async () => {
    const rt = nodeRuntime();
    const index = JSON.parse(readFileSync(path.join(q4Dir, 'encoder_groups.json'), 'utf8'));
    expect(index.quantize).toBe('q4');
    const g0 = loadOnnx(path.join(q4Dir, index.groups[0].file), q4Dir, 'group_0');
    expect(g0.model.graph!.node!.filter((n) => n.opType === 'MatMulNBits').length).toBe(7);
    // The same q4 rounding applied to the feature-extraction fixture by the converter's own q4 variant.
    const viaFeature = path.join(tmp, 'feature-q4');
    writeLayerGroups(FEATURE, viaFeature, { groupBytes: SMALL, tableDtype: 'float32', quantize: 'q4' });
    const [q4, ref] = [await folderEncoder(fsReader(q4Dir)), await folderEncoder(fsReader(viaFeature))];
    let minCos = 1;
    let worstRel = 0;
    let worstSame = 0;
    for (const u of expected.users) {
      const e = (await computeEmbedding(rt, q4, u.text)).embedding;
      const f = (await computeEmbedding(rt, ref, u.text)).embedding;
      minCos = Math.min(minCos, cosine(e, u.embedding));
      worstRel = Math.max(worstRel, relErr(e, u.embedding));
      worstSame = Math.max(worstSame, relDiff(e, f));
    }
    console.log(`with-past q4 export → groups vs transformers: cos ${minCos.toFixed(6)}, rel ${worstRel.toExponential(2)}; vs the feature-extraction export's q4: ${worstSame.toExponential(2)}`);
    expect(minCos).toBeGreaterThanOrEqual(Q4.cos);
    expect(worstRel).toBeLessThanOrEqual(Q4.rel);
    expect(worstRel).toBeGreaterThan(1e-3); // it really is 4-bit
    expect(worstSame).toBeLessThan(1e-5);
  });

  it('the merged decoder: its no-past branch inlined, the same groups and transformers\' masked mean (1e-4)', async () => {
    const c = checkGroupSource(FIXTURE, 'onnx/decoder_model_merged.onnx');
    expect(c.causalLm).toMatchObject({ mergedIf: true, positionIds: true });
    const out = path.join(tmp, 'merged');
    writeLayerGroups(FIXTURE, out, { groupBytes: SMALL, tableDtype: 'float32', model: 'onnx/decoder_model_merged.onnx' });
    const index = JSON.parse(readFileSync(path.join(out, 'encoder_groups.json'), 'utf8'));
    expect(index.groups.map((g: { layers: unknown }) => g.layers)).toEqual([[0, 0], [1, 1], null]);
    for (const g of index.groups) expect(loadOnnx(path.join(out, g.file), out, g.file).model.graph!.node!.some((n) => n.opType === 'If')).toBe(false);
    const rt = nodeRuntime();
    const merged = await folderEncoder(fsReader(out));
    let worst = 0;
    for (const u of expected.users) worst = Math.max(worst, relDiff((await computeEmbedding(rt, merged, u.text)).embedding, u.embedding));
    console.log(`merged decoder → groups (fp32) vs transformers: ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(FP32_REL);
  });

  it('--encoder-groups 1 keeps the whole encoder in one graph (besides the CPU table), equal to transformers (1e-4)', async () => {
    const out = path.join(tmp, 'whole');
    writeLayerGroups(FIXTURE, out, { groups: 1, tableDtype: 'float32' });
    const index = JSON.parse(readFileSync(path.join(out, 'encoder_groups.json'), 'utf8'));
    expect(index.groups).toHaveLength(1);
    expect(index.groups[0]).toMatchObject({ layers: [0, 1], finalNorm: true, output: 'last_hidden_state' });
    const rt = nodeRuntime();
    const whole = await folderEncoder(fsReader(out));
    let worst = 0;
    for (const u of expected.users) worst = Math.max(worst, relDiff((await computeEmbedding(rt, whole, u.text)).embedding, u.embedding));
    expect(worst).toBeLessThan(FP32_REL);
  });

  it('an already 4-bit export is refused as any variant but q4, naming why', () => {
    expect(() => writeLayerGroups(FIXTURE, path.join(tmp, 'q4-as-int8'), { model: 'onnx/model_q4.onnx', quantize: 'int8' })).toThrow(/already 4-bit \(MatMulNBits\).*\(--encoder-quantize q4\), not int8/);
  });
});

describe('npm run convert --profile-encoder <public export> --encoder-model onnx/model_q4.onnx --encoder-quantize q4', () => {
  it('puts the q4 groups in the bundle (the manifest\'s q4 set), and the engine embeds from it as from the folder', async () => {
    const psa = path.join(tmp, 'adapter-e32.safetensors');
    adapterWithE32(psa);
    const out = path.join(tmp, 'bundle');
    const r = convert({ sd15: makeSd15(tmp), psa, out, profileEncoder: FIXTURE, encoderModel: 'onnx/model_q4.onnx', encoderGroupBytes: SMALL, encoderQuantize: 'q4', encoderTable: 'float32' });
    expect(checkManifest(r.manifest)).toEqual([]);
    const sets = (r.manifest.profileEncoderGroups as { variants: Record<string, EncoderGroupsEntry> }).variants;
    expect(Object.keys(sets)).toEqual(['q4']);
    expect(sets.q4.groups.map((g) => g.path)).toEqual(['profile_encoder/q4/group_0.onnx', 'profile_encoder/q4/group_1.onnx', 'profile_encoder/q4/group_2.onnx']);
    const reader = fsReader(out);
    const info = await describeBundleEncoder(reader, await resolveBundle(reader), 'cpu', false);
    const rt = nodeRuntime();
    const fromBundle = await computeEmbedding(rt, info!.source, expected.users[0].text);
    const fromFolder = await computeEmbedding(rt, await folderEncoder(fsReader(q4Dir)), expected.users[0].text);
    expect(relDiff(fromBundle.embedding, fromFolder.embedding)).toBe(0);
    expect(() => convert({ sd15: makeSd15(tmp), psa, out: path.join(tmp, 'bundle-2'), encoderModel: 'onnx/model_q4.onnx' })).toThrow(/--encoder-model needs --profile-encoder/);
  });
});

describe('converter: exports it cannot read', () => {
  const edited = (name: string, edit: (g: import('onnx-proto').onnx.IGraphProto) => void): string => {
    const dir = path.join(tmp, name);
    cpSync(FIXTURE, dir, { recursive: true });
    const p = path.join(dir, 'onnx', 'model.onnx');
    const m = onnx.ModelProto.decode(readFileSync(p));
    edit(m.graph!);
    writeFileSync(p, onnx.ModelProto.encode(m).finish());
    return dir;
  };

  it('a past read by a fused attention op, a graph without logits, a file that is not ONNX, an int8 or float16 export: each error names what was expected', () => {
    const fused = edited('fused', (g) => {
      const n = g.node!.find((x) => x.opType === 'Concat' && x.input!.includes('past_key_values.0.key'))!;
      n.opType = 'GroupQueryAttention';
      n.domain = 'com.microsoft';
    });
    expect(() => checkGroupSource(fused)).toThrow(ConvertError);
    expect(() => checkGroupSource(fused)).toThrow(/past_key_values\.0\.key is read by GroupQueryAttention .*only exports that Concat the past/);
    const noLogits = edited('no-logits', (g) => {
      g.output = g.output!.filter((o) => o.name !== 'logits');
    });
    expect(() => checkGroupSource(noLogits)).toThrow(/no "logits" output .*expected Optimum's text-generation\(-with-past\) form/);
    const garbage = path.join(tmp, 'garbage');
    cpSync(FIXTURE, garbage, { recursive: true });
    writeFileSync(path.join(garbage, 'onnx', 'model.onnx'), Buffer.from('not a protobuf at all \u00ff\u00fe'));
    expect(() => checkGroupSource(garbage)).toThrow(/--profile-encoder onnx\/model\.onnx is not a readable ONNX model/);
    expect(() => checkGroupSource(FIXTURE, 'onnx/model_q8.onnx')).toThrow(/--encoder-model onnx\/model_q8\.onnx is not in/);
    const int8 = edited('int8', (g) => {
      const n = g.node!.find((x) => x.opType === 'MatMul' && (x.name ?? '').includes('layers.0'))!;
      n.opType = 'MatMulInteger';
    });
    expect(() => checkGroupSource(int8)).toThrow(/holds MatMulInteger \(node \/model\/layers\.0\/.*quantized in a form this converter does not read/);
    // A float16 export (q4f16-like: the lm_head's MatMulNBits scales in float16) is refused, not mislabelled float32.
    const half = path.join(tmp, 'half');
    cpSync(FIXTURE, half, { recursive: true });
    const q = onnx.ModelProto.decode(readFileSync(path.join(half, 'onnx', 'model_q4.onnx')));
    const head = q.graph!.node!.find((n) => n.opType === 'MatMulNBits' && (n.name ?? '').includes('lm_head'))!;
    q.graph!.initializer!.find((t) => t.name === head.input![2])!.dataType = 10;
    writeFileSync(path.join(half, 'onnx', 'model_q4.onnx'), onnx.ModelProto.encode(q).finish());
    expect(() => checkGroupSource(half, 'onnx/model_q4.onnx')).toThrow(/computes in float16 .*use the export's float32 model\.onnx or its model_q4\.onnx/);
  });
});
