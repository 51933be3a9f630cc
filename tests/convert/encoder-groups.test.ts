// The profile encoder as layer groups: the committed tiny Qwen2 fixture (transformers' own Qwen2, exported by
// torch.onnx; 2 layers) is cut into 3 groups (layers.0 | layers.1 | final norm) with external files cut to ≤ 20 KB,
// plus the CPU embedding table; the engine's group runner (one session alive at a time) gives the same PSA embedding
// as the single graph and as transformers' fp32 computation (expected.json). The fp16 table's only effect is the
// rounding of the table itself (shown against the single graph with a rounded table). Bad inputs name what is wrong.
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLayerGroups } from '../../scripts/convert/encoder/index';
import { ConvertError } from '../../scripts/convert/errors';
import { loadOnnx, onnx, externalRef } from '../../scripts/convert/onnx-model';
import { computeEmbedding, liveEncoderSessions, encoderSessionsCreated } from '../../src/engine/embedding/compute';
import { folderEncoder } from '../../src/engine/embedding/encoder-source';
import { nodeRuntime } from '../../src/engine/node-host';
import { fsReader } from '../../src/engine/node-reader';
import { toHalf } from '../../src/engine/tensors';
import { halfToFloat } from '../../src/engine/embedding/pooling';
import { convert } from '../../scripts/convert/bundle';
import { checkManifest, type EncoderGroupsEntry } from '../../src/shared/bundle';
import { resolveBundle } from '../../src/engine/bundle-resolve';
import { describeBundleEncoder } from '../../src/engine/embedding/bundle-encoder';
import { adapterWithE32 } from './adapter-e32';
import { makeSd15, ROOT, tmpDir } from './helpers';
import { relDiff } from '../helpers/pixels';

const FIXTURE = path.join(ROOT, 'fixtures', 'profile-encoder');
const expected = JSON.parse(readFileSync(path.join(FIXTURE, 'expected.json'), 'utf8')) as { users: { user_id: number; text: string; embedding: number[] }[] };
const SMALL = 20_000; // bytes per external file: every layer's weights span several files


let tmp: string;
let f32Dir: string;
let f16Dir: string;
beforeAll(() => {
  tmp = tmpDir('encoder-groups-');
  f32Dir = path.join(tmp, 'f32');
  f16Dir = path.join(tmp, 'f16');
  writeLayerGroups(FIXTURE, f32Dir, { groupBytes: SMALL, tableDtype: 'float32' });
  writeLayerGroups(FIXTURE, f16Dir, { groupBytes: SMALL });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('converter: layer groups', () => {
  it('writes ≥ 3 groups in order, the last ending with the final norm, every initializer external in small files', () => {
    const index = JSON.parse(readFileSync(path.join(f16Dir, 'encoder_groups.json'), 'utf8'));
    expect(index.groups.length).toBeGreaterThanOrEqual(3);
    expect(index.groups.map((g: { layers: unknown }) => g.layers)).toEqual([[0, 0], [1, 1], null]);
    expect(index.groups.at(-1)).toMatchObject({ finalNorm: true, output: 'last_hidden_state' });
    for (const g of index.groups) {
      const m = loadOnnx(path.join(f16Dir, g.file), f16Dir, g.file);
      expect(m.model.graph!.input!.map((i) => i.name)[0]).toBe('hidden_states');
      expect(m.model.graph!.output!.map((o) => o.name)).toEqual([g.output]);
      // no embedding table inside a group; every initializer with data is external
      expect([...m.inits.keys()].some((k) => k.includes('embed_tokens'))).toBe(false);
      for (const t of m.inits.values()) if ((t.dims ?? []).length) expect(externalRef(t), `${g.file}: ${t.name}`).toBeDefined();
      for (const x of g.externalData) expect(statSync(path.join(f16Dir, x)).size).toBeLessThanOrEqual(SMALL);
    }
    expect(index.groups.slice(0, 2).every((g: { externalData: string[] }) => g.externalData.length >= 2)).toBe(true); // multi-file mapping exercised
    const table = JSON.parse(readFileSync(path.join(f16Dir, 'embed_tokens.json'), 'utf8'));
    expect(table).toEqual({ file: 'embed_tokens.f16', dtype: 'float16', byteOrder: 'little', shape: [659, 32] });
    expect(statSync(path.join(f16Dir, 'embed_tokens.f16')).size).toBe(659 * 32 * 2);
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'config.json']) expect(existsSync(path.join(f16Dir, f))).toBe(true);
  });

  it('refuses a graph whose node names carry no layers.N, naming the problem', () => {
    const dir = path.join(tmp, 'no-layers');
    cpSync(FIXTURE, dir, { recursive: true });
    const m = onnx.ModelProto.decode(readFileSync(path.join(dir, 'model.onnx')));
    for (const n of m.graph!.node!) n.name = (n.name ?? '').replace(/layers\.(\d+)/, 'block$1');
    writeFileSync(path.join(dir, 'model.onnx'), onnx.ModelProto.encode(m).finish());
    expect(() => writeLayerGroups(dir, path.join(tmp, 'no-layers-out'))).toThrow(ConvertError);
    expect(() => writeLayerGroups(dir, path.join(tmp, 'no-layers-out'))).toThrow(/cannot be cut into layer groups: no node name carries "layers\.N"/);
  });
});

describe('engine: the layer-group runner', () => {
  const rt = nodeRuntime();

  it('equals the single graph and transformers (expected.json) to 1e-4 with the float32 table, one session alive at a time', async () => {
    const grouped = await folderEncoder(fsReader(f32Dir));
    const single = await folderEncoder(fsReader(FIXTURE));
    let worstSingle = 0;
    let worstTorch = 0;
    for (const u of expected.users) {
      const before = encoderSessionsCreated();
      const livePeak: number[] = [];
      const g = await computeEmbedding(rt, grouped, u.text, { onProgress: (p) => p === 'run' && livePeak.push(liveEncoderSessions()) });
      expect(encoderSessionsCreated() - before).toBe(3);
      expect(Math.max(...livePeak)).toBe(1);
      expect(liveEncoderSessions()).toBe(0);
      const s = await computeEmbedding(rt, single, u.text);
      worstSingle = Math.max(worstSingle, relDiff(g.embedding, s.embedding));
      worstTorch = Math.max(worstTorch, relDiff(g.embedding, u.embedding));
    }
    console.log(`layer groups (fp32 table) vs single graph: ${worstSingle.toExponential(2)}, vs transformers: ${worstTorch.toExponential(2)} (max |Δ| / max |ref|, 8 users)`);
    expect(worstSingle).toBeLessThan(1e-4);
    expect(worstTorch).toBeLessThan(1e-4);
  });

  it('with the float16 table: equals the single graph whose table is rounded to fp16 (1e-4); the rounding alone moves it by a bounded amount', async () => {
    // The single graph with its embed_tokens.weight rounded to fp16 (stored fp32): the same input the groups get.
    const dir = path.join(tmp, 'rounded');
    cpSync(FIXTURE, dir, { recursive: true });
    const m = loadOnnx(path.join(dir, 'model.onnx'), dir, 'model.onnx');
    const t = m.inits.get('model.embed_tokens.weight')!;
    const raw = t.rawData!;
    const v = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    for (let i = 0; i < v.length; i++) v[i] = halfToFloat(toHalf(v[i]));
    t.rawData = new Uint8Array(v.buffer);
    writeFileSync(path.join(dir, 'model.onnx'), onnx.ModelProto.encode(m.model).finish());
    const grouped = await folderEncoder(fsReader(f16Dir));
    const rounded = await folderEncoder(fsReader(dir));
    let worstRounded = 0;
    let worstTorch = 0;
    for (const u of expected.users) {
      const g = await computeEmbedding(rt, grouped, u.text);
      worstRounded = Math.max(worstRounded, relDiff(g.embedding, (await computeEmbedding(rt, rounded, u.text)).embedding));
      worstTorch = Math.max(worstTorch, relDiff(g.embedding, u.embedding));
    }
    console.log(`layer groups (fp16 table) vs single graph with the fp16-rounded table: ${worstRounded.toExponential(2)}; vs transformers fp32: ${worstTorch.toExponential(2)}`);
    expect(worstRounded).toBeLessThan(1e-4);
    expect(worstTorch).toBeGreaterThan(0); // the table really is fp16
    expect(worstTorch).toBeLessThan(2e-3);
  });

  it('an export whose shape constants are int64 initializers (not Constant nodes) still runs: they stay inline in the groups', async () => {
    // ORT reads shape tensors while it builds the session (Reshape targets, constant folding); moved to external data
    // with the weights, session creation failed ("Cannot parse data from external tensors").
    const dir = path.join(tmp, 'int64-inits');
    cpSync(FIXTURE, dir, { recursive: true });
    const m = onnx.ModelProto.decode(readFileSync(path.join(dir, 'model.onnx')));
    const g = m.graph!;
    let moved = 0;
    g.node = g.node!.filter((n) => {
      const value = n.opType === 'Constant' ? n.attribute?.find((a) => a.name === 'value')?.t : undefined;
      if (!value || value.dataType !== onnx.TensorProto.DataType.INT64 || !(value.dims ?? []).length) return true;
      g.initializer!.push(onnx.TensorProto.create({ ...value, name: n.output![0] }));
      moved++;
      return false;
    });
    expect(moved).toBeGreaterThan(0);
    writeFileSync(path.join(dir, 'model.onnx'), onnx.ModelProto.encode(m).finish());
    const out = path.join(tmp, 'int64-inits-out');
    writeLayerGroups(dir, out, { groupBytes: SMALL, tableDtype: 'float32' });
    const index = JSON.parse(readFileSync(path.join(out, 'encoder_groups.json'), 'utf8'));
    for (const grp of index.groups) {
      const gm = loadOnnx(path.join(out, grp.file), out, grp.file);
      for (const t of gm.inits.values()) if (t.dataType === onnx.TensorProto.DataType.INT64) expect(externalRef(t), `${grp.file}: ${t.name}`).toBeUndefined();
    }
    const u = expected.users[0];
    const e = await computeEmbedding(rt, await folderEncoder(fsReader(out)), u.text);
    expect(relDiff(e.embedding, u.embedding)).toBeLessThan(1e-4);
  });

  it('a missing group file gives an error naming it, and no session is left alive', async () => {
    const dir = path.join(tmp, 'missing');
    cpSync(f16Dir, dir, { recursive: true });
    renameSync(path.join(dir, 'group_1.onnx_data_1'), path.join(dir, 'gone'));
    const src = await folderEncoder(fsReader(dir));
    await expect(computeEmbedding(rt, src, expected.users[0].text)).rejects.toThrow(/layer group 2 of 3: group_1\.onnx_data_1 is missing/);
    expect(liveEncoderSessions()).toBe(0);
    rmSync(path.join(dir, 'group_2.onnx'));
    renameSync(path.join(dir, 'gone'), path.join(dir, 'group_1.onnx_data_1'));
    await expect(computeEmbedding(rt, src, expected.users[0].text)).rejects.toThrow(/layer group 3 of 3: group_2\.onnx is missing/);
    expect(readdirSync(dir)).not.toContain('group_2.onnx');
  });
});

describe('npm run convert --profile-encoder', () => {
  it('--encoder-quantize none: puts the float32 layer groups in the bundle, lists them in order in the manifest (the single-set form), and the engine embeds from it', async () => {
    const psa = path.join(tmp, 'adapter-e32.safetensors');
    adapterWithE32(psa);
    const out = path.join(tmp, 'bundle');
    const r = convert({ sd15: makeSd15(tmp), psa, out, profileEncoder: FIXTURE, encoderGroupBytes: SMALL, encoderQuantize: 'none' });
    expect(checkManifest(r.manifest)).toEqual([]);
    const eg = r.manifest.profileEncoderGroups as EncoderGroupsEntry;
    expect(eg.groups.map((g) => g.path)).toEqual(['profile_encoder/group_0.onnx', 'profile_encoder/group_1.onnx', 'profile_encoder/group_2.onnx']);
    expect(eg.table.path).toBe('profile_encoder/embed_tokens.f16');
    for (const g of eg.groups) for (const x of [g, ...(g.externalData ?? [])]) expect(r.manifest.files.find((f) => f.path === x.path)).toEqual({ path: x.path, bytes: x.bytes, sha256: x.sha256 });
    expect(eg.groups.every((g) => (g.externalData ?? []).every((x) => x.bytes! <= SMALL))).toBe(true);
    const reader = fsReader(out);
    const info = await describeBundleEncoder(reader, await resolveBundle(reader), 'cpu', false);
    expect(info?.source.groups).toEqual({ folder: 'profile_encoder' });
    const fromBundle = await computeEmbedding(rt0, info!.source, expected.users[0].text);
    const fromFolder = await computeEmbedding(rt0, await folderEncoder(fsReader(f16Dir)), expected.users[0].text);
    expect(relDiff(fromBundle.embedding, fromFolder.embedding)).toBe(0);
    expect(fromBundle.encoderId).toBe(info!.id);
  });
});
const rt0 = nodeRuntime();
