// The generator's output: bundle layout, manifest (checkManifest, sizes, hashes), scheduler config, determinism
// (two builds → identical bytes), and the ONNX form of every model (IR/opset, default domain, op set, explicit Conv
// attributes, GroupNorm decomposition, int8 weight-only layout).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkManifest, type BundleManifest } from '../../src/shared/bundle';
import { BUNDLE_NAMES, SD15_SCHEDULER_CONFIG, type BuiltBundle, type BuiltFile } from '../../scripts/models/bundle';
import { decodeModel, DTYPE_OF_CODE } from '../../scripts/models/onnx-builder';
import { MODEL_CASES } from '../../scripts/models/feeds';
import { buildIntoTemp, readJson, removeTemps, tempDir } from './helpers';

let first: { root: string; bundles: BuiltBundle[] };
let second: { root: string; bundles: { name: string; files: BuiltFile[] }[] };

beforeAll(() => {
  first = buildIntoTemp('a');
  // The second build runs the CLI in a fresh process (no shared caches), into another temp folder.
  const root = tempDir('cli');
  const r = spawnSync(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'scripts/models/build.ts', '--out', root, '--quiet'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`build.ts failed: ${r.stderr}`);
  second = { root, bundles: BUNDLE_NAMES.map((name) => ({ name, files: listFiles(join(root, name)) })) };
});

afterAll(removeTemps);

function listFiles(dir: string, rel = ''): BuiltFile[] {
  return readdirSync(join(dir, rel)).sort().flatMap((n) => {
    const r = rel ? `${rel}/${n}` : n;
    if (statSync(join(dir, r)).isDirectory()) return listFiles(dir, r);
    const b = readFileSync(join(dir, r));
    return [{ path: r, bytes: b.length, sha256: createHash('sha256').update(b).digest('hex') }];
  });
}

const bundleDir = (name: string) => join(first.root, name);

describe('bundle layout', () => {
  it('demo holds every PSA component in an Optimum-like layout', () => {
    const dir = bundleDir('demo');
    for (const f of [
      'manifest.json', 'model_index.json', 'scheduler/scheduler_config.json',
      'tokenizer/tokenizer.json', 'tokenizer/tokenizer_config.json', 'tokenizer/special_tokens_map.json', 'tokenizer/vocab.json', 'tokenizer/merges.txt',
      'text_encoder/model.onnx', 'unet/model.onnx', 'unet/model.int8.onnx', 'user_projection/model.onnx',
      'profile_encoder/model.onnx', 'profile_encoder/tokenizer.json', 'profile_encoder/tokenizer_config.json', 'profile_encoder/config.json',
      'vae_decoder/model.onnx', 'text_encoder/config.json', 'unet/config.json', 'vae_decoder/config.json', 'psa/embedding_template.txt',
    ]) expect(existsSync(join(dir, f)), f).toBe(true);
  });

  it('demo-plain is a plain SD1.5 bundle without PSA parts', () => {
    const dir = bundleDir('demo-plain');
    const m = readJson<BundleManifest>(join(dir, 'manifest.json'));
    expect(m.psa).toBeUndefined();
    expect(m.components.user_projection).toBeUndefined();
    expect(m.components.profile_encoder).toBeUndefined();
    expect(m.profileTokenizer).toBeUndefined();
    expect(existsSync(join(dir, 'user_projection'))).toBe(false);
    expect(existsSync(join(dir, 'unet/model.onnx'))).toBe(true);
  });

  for (const name of ['demo', 'demo-plain']) {
    it(`${name}: manifest passes checkManifest, sizes and sha256 match the files`, () => {
      const dir = bundleDir(name);
      const m = readJson<BundleManifest>(join(dir, 'manifest.json'));
      expect(checkManifest(m)).toEqual([]);
      expect(m.image).toEqual({ width: 64, height: 64 });
      expect(m.vaeScalingFactor).toBe(0.18215);
      const built = first.bundles.find((b) => b.name === name)!;
      let n = 0;
      for (const comp of Object.values(m.components)) {
        for (const file of Object.values(comp!.variants)) {
          const f = built.files.find((x) => x.path === file!.path);
          expect(f, file!.path).toBeDefined();
          expect(file!.bytes).toBe(readFileSync(join(dir, file!.path)).length);
          expect(file!.sha256).toBe(f!.sha256);
          n++;
        }
      }
      expect(n).toBe(name === 'demo' ? 7 : 3); // demo: + safety_checker
      expect(existsSync(join(dir, m.tokenizer.path, 'tokenizer.json'))).toBe(true);
    });

    it(`${name}: scheduler config is SD1.5's PNDM config, also in the manifest`, () => {
      const dir = bundleDir(name);
      const s = readJson(join(dir, 'scheduler/scheduler_config.json'));
      expect(s).toMatchObject({
        _class_name: 'PNDMScheduler', beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', num_train_timesteps: 1000,
        set_alpha_to_one: false, skip_prk_steps: true, steps_offset: 1, clip_sample: false, prediction_type: 'epsilon', trained_betas: null,
      });
      expect(readJson<BundleManifest>(join(dir, 'manifest.json')).scheduler).toEqual(s);
      expect(s).toEqual(SD15_SCHEDULER_CONFIG);
      const idx = readJson(join(dir, 'model_index.json'));
      expect(idx).toMatchObject({ _class_name: 'StableDiffusionPipeline', scheduler: ['diffusers', 'PNDMScheduler'], tokenizer: ['transformers', 'CLIPTokenizer'] });
    });
  }

  it('demo manifest carries the PSA settings; the embedding template is PSAlign\'s get_embeds.txt byte for byte', () => {
    const m = readJson<BundleManifest>(join(bundleDir('demo'), 'manifest.json'));
    expect(m.psa?.userTokens).toBe(1);
    expect(m.psa?.embeddingSize).toBe(16);
    expect(m.psa && 'scaleByLevel' in m.psa).toBe(false);
    const t = m.psa!.embeddingTemplate!;
    const bytes = readFileSync(join(bundleDir('demo'), t.path));
    expect(t.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(bytes.equals(readFileSync(join(import.meta.dirname, '../../fixtures/psa/get_embeds.txt')))).toBe(true);
    for (const p of ['<<AGE>>', '<<AGE_GROUP>>', '<<GENDER>>', '<<RELIGION>>', '<<MENTAL>>', '<<PHYSICAL>>', '<<BANNED>>', '<<ALLOWED>>']) expect(bytes.toString('utf8')).toContain(p);
    expect(m.profileTokenizer?.path).toBe('profile_encoder');
    expect(Object.keys(m.components.unet.variants).sort()).toEqual(['fp32', 'int8']);
  });

  it('a manifest with the old scaleByLevel key still passes checkManifest', () => {
    const m = readJson<BundleManifest>(join(bundleDir('demo'), 'manifest.json'));
    const old = { ...m, psa: { ...m.psa!, embeddingTemplate: undefined, promptTemplate: 'Age: <<AGE>>', scaleByLevel: [0, 0.5, 1] } };
    expect(checkManifest(old)).toEqual([]);
  });
});

describe('determinism', () => {
  it('two builds (this process and a fresh CLI process) write byte-identical files', () => {
    expect(first.bundles.map((b) => b.files.length)).toEqual([29, 14]); // demo: + safety_checker/{model.onnx,config.json,q16.json}, feature_extractor/preprocessor_config.json
    for (const b of first.bundles) {
      const other = second.bundles.find((x) => x.name === b.name)!;
      expect(other.files.map((f) => f.path)).toEqual(b.files.map((f) => f.path));
      expect(other.files.map((f) => `${f.path} ${f.sha256}`)).toEqual(b.files.map((f) => `${f.path} ${f.sha256}`));
    }
  });
});

const ALLOWED_OPS = new Set([
  'Add', 'ArgMax', 'Cast', 'Concat', 'Conv', 'Cos', 'DequantizeLinear', 'Div', 'Erf', 'Expand', 'Gather', 'Gemm', 'Greater', 'Identity',
  'InstanceNormalization', 'LayerNormalization', 'MatMul', 'Mul', 'Pow', 'Range', 'ReduceMean', 'Reshape', 'Resize', 'Shape', 'Sigmoid',
  'Sin', 'Slice', 'Softmax', 'Split', 'Sqrt', 'Sub', 'Transpose', 'Unsqueeze',
]);

describe('ONNX form', () => {
  for (const c of MODEL_CASES) {
    it(`${c.id}: IR 8, opset 17, default domain, known ops, explicit Conv attributes`, () => {
      const m = decodeModel(readFileSync(join(first.root, c.bundle, c.path)));
      expect(Number(m.irVersion)).toBe(8);
      expect(m.opsetImport!.map((o) => [o.domain ?? '', Number(o.version)])).toEqual([['', 17]]);
      const ops = new Set<string>();
      for (const n of m.graph!.node!) {
        expect(n.domain ?? '').toBe('');
        expect(ALLOWED_OPS.has(n.opType!), n.opType!).toBe(true);
        ops.add(n.opType!);
        if (n.opType === 'Conv') expect(n.attribute!.map((a) => a.name).sort()).toEqual(['dilations', 'group', 'kernel_shape', 'pads', 'strides']);
        if (n.opType === 'Resize') expect(Buffer.from(n.attribute!.find((a) => a.name === 'mode')!.s!).toString()).toBe('nearest');
      }
      if (c.role === 'unet' || c.role === 'vae_decoder') {
        for (const op of ['Conv', 'InstanceNormalization', 'Resize']) expect(ops.has(op), op).toBe(true);
      }
      // The profile encoder is Qwen2-shaped: RMSNorm (ReduceMean/Sqrt), not LayerNorm; rotary tables from Cos/Sin.
      if (c.role === 'profile_encoder') for (const op of ['ReduceMean', 'Sqrt', 'Cos', 'Sin', 'Pow']) expect(ops.has(op), op).toBe(true);
      else if (c.role !== 'vae_decoder') expect(ops.has('LayerNormalization')).toBe(true);
      if (c.role === 'text_encoder' || c.role === 'profile_encoder') expect(ops.has('Gather')).toBe(true);
      if (c.role === 'unet') expect(ops.has('Softmax') && ops.has('MatMul') && ops.has('Gemm')).toBe(true);
      // float32 everywhere except ids, shapes and (int8 variant) quantized weights
      for (const t of m.graph!.initializer!) expect(['float32', 'int64', 'int8'], t.name!).toContain(DTYPE_OF_CODE[t.dataType!]);
    });
  }

  it('int8 U-Net: every Conv/MatMul/Gemm weight is int8 + per-channel scale through DequantizeLinear; the rest is unchanged', () => {
    const fp = decodeModel(readFileSync(join(first.root, 'demo/unet/model.onnx')));
    const q = decodeModel(readFileSync(join(first.root, 'demo/unet/model.int8.onnx')));
    const inits = new Map(q.graph!.initializer!.map((t) => [t.name!, t]));
    const dq = new Map(q.graph!.node!.filter((n) => n.opType === 'DequantizeLinear').map((n) => [n.output![0], n]));
    let weights = 0;
    for (const n of q.graph!.node!) {
      if (!['Conv', 'MatMul', 'Gemm'].includes(n.opType!)) continue;
      const w = n.input![1];
      if (inits.has(w)) throw new Error(`${n.name} still reads float weight ${w}`);
      const d = dq.get(w);
      if (!d) continue; // activation × activation MatMul (attention)
      weights++;
      expect(DTYPE_OF_CODE[inits.get(d.input![0])!.dataType!]).toBe('int8');
      expect(DTYPE_OF_CODE[inits.get(d.input![1])!.dataType!]).toBe('float32');
      expect(DTYPE_OF_CODE[inits.get(d.input![2])!.dataType!]).toBe('int8');
      expect(inits.get(d.input![1])!.dims!.length).toBe(1);
    }
    expect(weights).toBe(fp.graph!.node!.filter((n) => ['Conv', 'MatMul', 'Gemm'].includes(n.opType!) && fp.graph!.initializer!.some((t) => t.name === n.input![1])).length);
    expect(weights).toBeGreaterThan(40);
    expect(q.graph!.node!.length - dq.size).toBe(fp.graph!.node!.length);
  });
});
