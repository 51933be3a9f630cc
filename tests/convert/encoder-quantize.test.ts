// `--encoder-quantize` on the committed tiny Qwen2 fixture (fixtures/profile-encoder): `none` still writes exactly
// the committed float32 groups; q4 / q4f16 groups carry MatMulNBits (bits 4, block 32) on every linear weight, int8
// DequantizeLinear, fp16 float16 weights — float32 I/O in every variant; the int8 table's rows read back within half
// a step; each variant's PSA embedding (the engine's group runner, onnxruntime-node) stays within a bound of the
// float32 one, and so does the PSA U-Net's output at psa_scale 1; a q4 file with its nibbles swapped (a broken
// dequantization) falls outside the bound. In a bundle, the manifest lists each variant with what it needs, the
// installer plans (and sizes) only the variant a device runs, and the engine embeds from it.
import { createHash } from 'node:crypto';
import { closeSync, cpSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freshDatabase } from '../storage/helpers';
import { downstream, measureVariants, cosine, relErr, type Reference, type VariantResult } from '../../scripts/convert/encoder/accuracy';
import { FIXTURE_OPTIONS } from '../../scripts/convert/encoder/fixture';
import { writeLayerGroups } from '../../scripts/convert/encoder/index';
import { convert, type ConvertResult } from '../../scripts/convert/bundle';
import { externalRef, loadOnnx } from '../../scripts/convert/onnx-model';
import { FLOAT, FLOAT16 } from '../../scripts/convert/quantize/graph';
import { chooseVariants, checkManifest, encoderGroupFiles, restrictVariants, type EncoderGroupsEntry, type EncoderGroupsVariants } from '../../src/shared/bundle';
import { describeBundleEncoder } from '../../src/engine/embedding/bundle-encoder';
import { computeEmbedding } from '../../src/engine/embedding/compute';
import { folderEncoder } from '../../src/engine/embedding/encoder-source';
import { resolveBundle } from '../../src/engine/bundle-resolve';
import { Installer } from '../../src/engine/bundles/installer';
import { MemoryStore } from '../../src/engine/bundles/store';
import { nodeRuntime } from '../../src/engine/node-host';
import { fsReader } from '../../src/engine/node-reader';
import { serveBundle } from '../../scripts/serve-bundle';
import { adapterWithE32 } from './adapter-e32';
import { makeSd15, ROOT, tmpDir } from './helpers';

const FIXTURE = path.join(ROOT, 'fixtures', 'profile-encoder');
const refs = JSON.parse(readFileSync(path.join(FIXTURE, 'expected.json'), 'utf8')) as Reference;
const SMALL = 20_000;
const rt = nodeRuntime();
let tmp: string;
let results: VariantResult[];
const by = (v: string) => results.find((r) => r.variant === v)!;

beforeAll(async () => {
  tmp = tmpDir('encoder-quantize-');
  results = await measureVariants(FIXTURE, refs, path.join(tmp, 'variants'), { group: { groupBytes: SMALL } });
  await downstream(results, 32, tmp);
}, 600_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const hashes = (dir: string) => Object.fromEntries(readdirSync(dir).sort().map((f) => [f, createHash('sha256').update(readFileSync(path.join(dir, f))).digest('hex')]));
const groupModels = (dir: string) => {
  const index = JSON.parse(readFileSync(path.join(dir, 'encoder_groups.json'), 'utf8')) as { groups: { file: string }[]; quantize?: string };
  return { index, models: index.groups.map((g) => loadOnnx(path.join(dir, g.file), dir, g.file)) };
};
const ops = (m: ReturnType<typeof loadOnnx>, op: string) => (m.model.graph!.node ?? []).filter((n) => n.opType === op);

describe('converter: --encoder-quantize', () => {
  it('none writes byte for byte the committed float32 groups (fixtures/encoder-groups)', () => {
    const out = path.join(tmp, 'none-fixture');
    writeLayerGroups(FIXTURE, out, { ...FIXTURE_OPTIONS, quantize: 'none' });
    expect(hashes(out)).toEqual(hashes(path.join(ROOT, 'fixtures', 'encoder-groups')));
  });

  it('q4 / q4f16: every linear weight of every layer is MatMulNBits (bits 4, block 32), none left float; the norm-only group passes unchanged', () => {
    for (const v of ['q4', 'q4f16']) {
      const { index, models } = groupModels(path.join(tmp, 'variants', v));
      expect(index.quantize).toBe(v);
      // 7 linear layers per Qwen2 layer (q, k, v, o, gate, up, down); the fixture's groups: layers.0 | layers.1 | norm.
      expect(models.map((m) => ops(m, 'MatMulNBits').length)).toEqual([7, 7, 0]);
      for (const m of models) {
        for (const n of ops(m, 'MatMulNBits')) {
          const a = Object.fromEntries((n.attribute ?? []).map((x) => [x.name, Number(x.i)]));
          expect(a).toMatchObject({ bits: 4, block_size: 32 });
          expect(n.domain).toBe('com.microsoft');
        }
        expect(ops(m, 'MatMul').filter((n) => m.inits.has(n.input![1]))).toEqual([]);
        // float32 I/O whatever the activations: the groups chain the same way in every variant.
        for (const io of [...m.model.graph!.input!, ...m.model.graph!.output!]) if (io.name !== 'attention_mask') expect(io.type?.tensorType?.elemType).toBe(FLOAT);
      }
      const activations = models[0].model.graph!.node!.some((n) => n.opType === 'Cast' && n.attribute?.some((x) => Number(x.i) === FLOAT16));
      expect(activations).toBe(v === 'q4f16');
    }
  });

  it('int8: 7 DequantizeLinear per layer; fp16: float16 weights, float32 only for I/O and the rotary sin/cos', () => {
    expect(groupModels(path.join(tmp, 'variants', 'int8')).models.map((m) => ops(m, 'DequantizeLinear').length)).toEqual([7, 7, 0]);
    const fp16 = groupModels(path.join(tmp, 'variants', 'fp16')).models;
    for (const m of fp16) {
      const floats = [...m.inits.values()].filter((t) => t.dataType === FLOAT || t.dataType === FLOAT16);
      expect(floats.filter((t) => t.dataType === FLOAT16).length).toBeGreaterThan(0);
      // Any float32 initializer left feeds the float32 island (RoPE's angle) only.
      for (const t of floats.filter((x) => x.dataType === FLOAT)) expect(t.dims!.reduce((a, b) => a * Number(b), 1)).toBeLessThanOrEqual(32);
    }
  });

  it('the int8 table: [float32 scale, H codes] per row, each value within half a step of the source row', () => {
    const dir = path.join(tmp, 'variants', 'q4');
    const info = JSON.parse(readFileSync(path.join(dir, 'embed_tokens.json'), 'utf8'));
    expect(info).toMatchObject({ file: 'embed_tokens.i8', dtype: 'int8', shape: [659, 32] });
    const bytes = readFileSync(path.join(dir, 'embed_tokens.i8'));
    expect(bytes.length).toBe(659 * (32 + 4));
    const src = loadOnnx(path.join(FIXTURE, 'model.onnx'), FIXTURE, 'model.onnx').inits.get('model.embed_tokens.weight')!;
    const w = new Float32Array(Uint8Array.from(src.rawData!).buffer);
    let worst = 0;
    for (let r = 0; r < 659; r++) {
      const scale = bytes.readFloatLE(r * 36);
      let peak = 0;
      for (let e = 0; e < 32; e++) {
        peak = Math.max(peak, Math.abs(w[r * 32 + e]));
        worst = Math.max(worst, Math.abs(bytes.readInt8(r * 36 + 4 + e) * scale - w[r * 32 + e]) / scale);
      }
      expect(scale).toBeCloseTo(peak / 127, 6);
    }
    expect(worst).toBeLessThanOrEqual(0.5 + 1e-4);
  });
});

describe('accuracy against float32 (8 PSA profiles of expected.json)', () => {
  // Bounds: about twice what each variant measured here (README table), so a real regression fails while the
  // rounding of another ORT build does not. The tiny fixture is the hard case for q4: hidden 32 makes every block
  // of 32 a whole column and its init (std 0.25) is wide; the deep encoder measures q4 at cos 0.99+ (README).
  const BOUNDS: Record<string, { cos: number; rel: number; unetOfEffect: number }> = {
    none: { cos: 1 - 1e-9, rel: 1e-6, unetOfEffect: 1e-6 },
    fp16: { cos: 0.99999, rel: 5e-3, unetOfEffect: 2e-3 },
    int8: { cos: 0.9995, rel: 6e-2, unetOfEffect: 4e-2 },
    q4: { cos: 0.94, rel: 0.6, unetOfEffect: 0.25 },
    q4f16: { cos: 0.94, rel: 0.6, unetOfEffect: 0.25 },
  };
  it('each variant stays within its bound (embedding and the PSA U-Net at psa_scale 1); errors rank fp16 < int8 < q4', () => {
    for (const r of results) {
      const b = BOUNDS[r.variant];
      console.log(`${r.variant}: cos ${r.cosVsFp32.toFixed(6)}, rel ${r.relVsFp32.toExponential(2)}, U-Net Δ ${r.unetRel!.toExponential(2)} (${r.unetOfPsaEffect!.toExponential(2)} of the PSA effect)`);
      expect(r.cosVsFp32, r.variant).toBeGreaterThanOrEqual(b.cos);
      expect(r.relVsFp32, r.variant).toBeLessThanOrEqual(b.rel);
      expect(r.unetOfPsaEffect!, r.variant).toBeLessThanOrEqual(b.unetOfEffect);
    }
    // The app's default (int8) and fp16 keep every profile's embedding nearest its own float32 embedding; the
    // profiles' float32 embeddings are only ~0.003 apart in cosine (one template, one system prompt), which q4's
    // error exceeds (README) — why int8, not q4, is the default.
    expect(by('none').ownMargin).toBeGreaterThan(0);
    for (const v of ['fp16', 'int8']) expect(by(v).ownMargin, v).toBeGreaterThan(0);
    expect(by('none').relVsTorch).toBeLessThan(2e-3); // transformers' computation but for the fp16 table (encoder-groups.test.ts)
    expect(by('fp16').relVsFp32).toBeGreaterThan(0); // each variant really changed something
    expect(by('fp16').relVsFp32).toBeLessThan(by('int8').relVsFp32);
    expect(by('int8').relVsFp32).toBeLessThan(by('q4').relVsFp32);
  });

  it('a q4 encoder whose packed nibbles are swapped (a broken dequantization) falls outside the q4 bound', async () => {
    const dir = path.join(tmp, 'broken');
    cpSync(path.join(tmp, 'variants', 'q4'), dir, { recursive: true });
    for (const g of groupModels(dir).models) for (const t of g.inits.values()) {
      const ref = externalRef(t);
      if (!t.name?.endsWith('_Q4') || !ref) continue;
      const fd = openSync(path.join(dir, ref.location), 'r+');
      const b = Buffer.alloc(ref.length);
      readSync(fd, b, 0, b.length, ref.offset);
      for (let i = 0; i < b.length; i++) b[i] = ((b[i] & 15) << 4) | (b[i] >> 4);
      writeSync(fd, b, 0, b.length, ref.offset);
      closeSync(fd);
    }
    const src = await folderEncoder(fsReader(dir));
    const e = (await computeEmbedding(rt, src, refs.users[0].text)).embedding;
    const good = by('q4').embeddings[0];
    expect(relErr(good, by('none').embeddings[0])).toBeLessThan(0.6);
    const cos = cosine(e, by('none').embeddings[0]);
    console.log(`nibble-swapped q4: cos ${cos.toFixed(4)}, rel ${relErr(e, by('none').embeddings[0]).toExponential(2)}`);
    expect(cos).toBeLessThan(0.94);
  });
});

describe('npm run convert --profile-encoder: variants in the bundle', () => {
  let one: ConvertResult;
  let two: ConvertResult;
  beforeAll(() => {
    const psa = path.join(tmp, 'adapter-e32.safetensors');
    adapterWithE32(psa);
    one = convert({ sd15: makeSd15(tmp), psa, out: path.join(tmp, 'bundle-default'), profileEncoder: FIXTURE, encoderGroupBytes: SMALL });
    two = convert({ sd15: makeSd15(tmp), psa, out: path.join(tmp, 'bundle-q4-fp16'), profileEncoder: FIXTURE, encoderGroupBytes: SMALL, encoderQuantize: 'q4,fp16' });
  }, 300_000);
  beforeEach(freshDatabase); // the installer records its plans in IndexedDB (fake-indexeddb here)

  it('the default is int8 (DequantizeLinear groups, int8 table) in profile_encoder/int8/, the tokenizer in profile_encoder/; the engine embeds from it', async () => {
    expect(checkManifest(one.manifest)).toEqual([]);
    const eg = one.manifest.profileEncoderGroups as EncoderGroupsVariants;
    expect(Object.keys(eg.variants)).toEqual(['int8']);
    expect(eg.variants.int8!.table.path).toBe('profile_encoder/int8/embed_tokens.i8');
    expect(eg.variants.int8!.requires).toBeUndefined();
    expect(one.manifest.files.map((f) => f.path)).toContain('profile_encoder/tokenizer.json');
    expect(one.manifest.files.map((f) => f.path)).not.toContain('profile_encoder/int8/tokenizer.json');
    const reader = fsReader(one.dir);
    const info = await describeBundleEncoder(reader, await resolveBundle(reader), 'cpu', false);
    expect(info?.source).toMatchObject({ variant: 'int8', groups: { folder: 'profile_encoder/int8' }, tokenizerFolder: 'profile_encoder' });
    const e = (await computeEmbedding(rt, info!.source, refs.users[0].text)).embedding;
    expect(relErr(e, by('int8').embeddings[0])).toBe(0);
  });

  it('several variants: each with its needs; a device plans, sizes and runs only the one it can use', async () => {
    expect(checkManifest(two.manifest)).toEqual([]);
    const eg = two.manifest.profileEncoderGroups as EncoderGroupsVariants;
    expect(Object.keys(eg.variants).sort()).toEqual(['fp16', 'q4']);
    const bytesOf = (set: EncoderGroupsEntry) => encoderGroupFiles(set).reduce((n, f) => n + f.bytes!, 0);
    const wasm = { order: ['fp32', 'int8', 'fp16', 'q4'] as const, features: new Set<never>() };
    const f16 = { order: ['fp16', 'fp32', 'int8', 'q4'] as const, features: new Set(['webgpu', 'shader-f16'] as const) };
    expect(chooseVariants(two.manifest, [...wasm.order], wasm.features).profile_encoder).toBe('q4');
    expect(chooseVariants(two.manifest, [...f16.order], f16.features).profile_encoder).toBe('fp16');
    const kept = restrictVariants(two.manifest, chooseVariants(two.manifest, [...wasm.order], wasm.features));
    expect(Object.keys((kept.profileEncoderGroups as EncoderGroupsVariants).variants)).toEqual(['q4']);
    expect(kept.files.some((f) => f.path.startsWith('profile_encoder/fp16/'))).toBe(false);
    // The installer's plan (before any download): the encoder's size is the chosen variant's files, and only those.
    const server = await serveBundle({ dir: two.dir });
    try {
      for (const [device, v] of [[wasm, 'q4'], [f16, 'fp16']] as const) {
        const inst = new Installer({ store: new MemoryStore(), sleep: async () => undefined });
        const plan = await inst.plan(server.url, { order: [...device.order], features: device.features });
        expect(plan.variants.profile_encoder).toBe(v);
        expect(inst.describe(plan).encoder).toEqual({ bytes: bytesOf(eg.variants[v]!), removed: false });
        const other = v === 'q4' ? 'fp16' : 'q4';
        expect(plan.files.some((f) => f.path.startsWith(`profile_encoder/${other}/`))).toBe(false);
      }
    } finally {
      await server.close();
    }
    expect(bytesOf(eg.variants.q4!)).toBeLessThan(bytesOf(eg.variants.fp16!));
    const reader = fsReader(two.dir);
    const bundle = await resolveBundle(reader);
    expect((await describeBundleEncoder(reader, bundle, 'webgpu', true))?.source.variant).toBe('fp16');
    expect((await describeBundleEncoder(reader, bundle, 'webgpu', false))?.source.variant).toBe('q4');
  });

  it('bad --encoder-quantize lists are one-line errors', () => {
    const psa = path.join(tmp, 'adapter-e32.safetensors');
    const bad = (q: string) => () => convert({ sd15: makeSd15(tmp), psa, out: path.join(tmp, `bad-${q}`), profileEncoder: FIXTURE, encoderQuantize: q });
    expect(bad('q3')).toThrow('--encoder-quantize q3: unknown variant (none, fp16, int8, q4, q4f16)');
    expect(bad('q4,q4f16')).toThrow('--encoder-quantize q4 and q4f16 both fill');
  });
});
