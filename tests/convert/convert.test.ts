// The converted PSA U-Net against a direct PyTorch computation of PSA's attention processor
// (scripts/reference/psa_convert_fixture.py): psa_scale 0 / 0.5 / 1 / 3 to 1e-4, psa_scale 0 = the plain U-Net,
// the broadcast (U = 1) and attention graft forms agree, every input layout (inline weights, model.onnx_data,
// weights.pb) and checkpoint format (torch fp32 / fp16, safetensors fp32 / bf16) gives the same model, and the
// bundle's manifest lists every file with its real size and hash.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkManifest, type BundleManifest } from '../../src/shared/bundle';
import { PSA_EMBEDDING_TEMPLATE } from '../../src/safety/embedding-text';
import { convert, type ConvertResult } from '../../scripts/convert/bundle';
import { concatTokens, expected, FIX, makeSd15, maxAbsDiff, ref, runUnet, session, tmpDir } from './helpers';

const TOL = 1e-4;
let tmp: string;
let base: ConvertResult;
let userTokens: ort.Tensor;
let ehs: ort.Tensor;

beforeAll(async () => {
  tmp = tmpDir('convert-');
  base = convert({ sd15: makeSd15(tmp, 'unet-external'), psa: path.join(FIX, 'psa_adapter.bin'), out: path.join(tmp, 'out') });
  // user tokens through the converted user projection (checked against torch's PSAProjection below)
  const proj = await session(path.join(base.dir, 'user_projection', 'model.onnx'));
  const emb = ref('user_embeds');
  userTokens = (await proj.run({ user_embeds: new ort.Tensor('float32', emb.data, emb.shape) })).user_tokens;
  ehs = concatTokens(ref('encoder_hidden_states_text'), { shape: userTokens.dims as number[], data: userTokens.data as Float32Array });
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('npm run convert: the PSA U-Net', () => {
  it('user projection matches PSAProjection (Linear + LayerNorm) in torch', () => {
    const want = ref('user_tokens');
    expect(userTokens.dims).toEqual(want.shape);
    expect(maxAbsDiff(userTokens.data as Float32Array, want.data)).toBeLessThan(1e-5);
  });

  it('matches the PyTorch PSA processor for psa_scale 0, 0.5, 1 and 3', async () => {
    const s = await session(path.join(base.dir, 'unet', 'model.onnx'));
    const plain = ref('plain').data;
    for (const scale of expected.reference.scales as number[]) {
      const got = await runUnet(s, ehs, scale);
      const want = ref(`psa_scale_${scale.toFixed(1)}`).data;
      expect(maxAbsDiff(got, want), `psa_scale ${scale}`).toBeLessThan(TOL);
      // the reference itself moves with the scale, so the comparison can fail
      if (scale > 0) expect(maxAbsDiff(want, plain)).toBeGreaterThan(1e-2);
    }
  });

  it('psa_scale 0 equals the plain U-Net on the text tokens alone', async () => {
    const psa = await session(path.join(base.dir, 'unet', 'model.onnx'));
    const plain = await session(path.join(FIX, 'unet', 'model.onnx'));
    const text = ref('encoder_hidden_states_text');
    const a = await runUnet(psa, ehs, 0);
    const b = await runUnet(plain, new ort.Tensor('float32', text.data, text.shape));
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-6);
  });

  it('the broadcast (U = 1) and general attention forms agree', async () => {
    const att = convert({ sd15: makeSd15(tmp, 'unet'), psa: path.join(FIX, 'psa_adapter.bin'), out: path.join(tmp, 'out-attention'), graft: 'attention' });
    expect(att.graft.form).toBe('attention');
    expect(base.graft.form).toBe('broadcast');
    const a = await session(path.join(att.dir, 'unet', 'model.onnx'));
    const b = await session(path.join(base.dir, 'unet', 'model.onnx'));
    const ops = (dir: string) => (readFileSync(path.join(dir, 'unet', 'model.onnx')).toString('latin1').match(/\/psa\/[^\x00-\x1f]*?\/Softmax/g) ?? []).length;
    expect(ops(att.dir)).toBeGreaterThan(0); // the general form really attends
    expect(ops(base.dir)).toBe(0);
    for (const scale of [0.5, 3]) expect(maxAbsDiff(await runUnet(a, ehs, scale), await runUnet(b, ehs, scale))).toBeLessThan(1e-5);
  });

  it('puts the i-th PSA processor on the i-th attn2 in diffusers attn_processors order (down, up, mid)', () => {
    expect(base.graft.layers.map((l) => l.module)).toEqual(expected.psa.layers.map((l: { module: string }) => l.module));
    expect(base.graft.layers.map((l) => l.inner)).toEqual(expected.psa.layers.map((l: { hidden: number }) => l.hidden));
  });

  it('gives the same U-Net from inline weights, weights.pb and every checkpoint format', async () => {
    const runs: [string, string][] = [
      ['unet', 'psa_adapter.fp16.bin'],
      ['unet-weights-pb', 'psa_adapter.safetensors'],
      ['unet-external', 'psa_adapter.bf16.safetensors'],
    ];
    const want = ref('psa_scale_1.0').data;
    for (const [u, ck] of runs) {
      const r = convert({ sd15: makeSd15(tmp, u), psa: path.join(FIX, ck), out: path.join(tmp, `out-${u}-${ck}`) });
      const s = await session(path.join(r.dir, 'unet', 'model.onnx'));
      expect(maxAbsDiff(await runUnet(s, ehs, 1), want), `${u} + ${ck}`).toBeLessThan(TOL);
      expect(existsSync(path.join(r.dir, 'unet', 'model.onnx_data'))).toBe(u !== 'unet');
    }
  });

  it('splits external data into chunks when asked, and ORT loads them', async () => {
    const r = convert({ sd15: makeSd15(tmp, 'unet-external'), psa: path.join(FIX, 'psa_adapter.bin'), out: path.join(tmp, 'out-chunks'), chunkBytes: 100_000 });
    const chunks = r.manifest.components.unet.variants.fp32!.externalData!;
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.map((c) => c.path)).toEqual(chunks.map((_, i) => (i ? `unet/model.onnx_data_${i}` : 'unet/model.onnx_data')));
    for (const c of chunks) expect(c.bytes).toBeLessThanOrEqual(100_000 + 64 * 1024); // a tensor larger than a chunk gets its own
    const s = await session(path.join(r.dir, 'unet', 'model.onnx'));
    expect(maxAbsDiff(await runUnet(s, ehs, 3), ref('psa_scale_3.0').data)).toBeLessThan(TOL);
  });
});

describe('npm run convert: the bundle', () => {
  it('writes a valid format-2 manifest listing every file with its true size and SHA-256', () => {
    const m = JSON.parse(readFileSync(path.join(base.dir, 'manifest.json'), 'utf8')) as BundleManifest;
    expect(checkManifest(m)).toEqual([]);
    const onDisk = (dir: string, rel = ''): string[] =>
      readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? onDisk(dir, path.posix.join(rel, d.name)) : [path.posix.join(rel, d.name)]));
    expect(m.files.map((f) => f.path).sort()).toEqual(onDisk(base.dir).filter((f) => f !== 'manifest.json').sort());
    for (const f of m.files) {
      const b = readFileSync(path.join(base.dir, f.path));
      expect([f.bytes, f.sha256], f.path).toEqual([b.length, createHash('sha256').update(b).digest('hex')]);
    }
    expect(m.psa).toMatchObject({ userTokens: 1, embeddingSize: expected.psa.embeddingSize });
    expect(readFileSync(path.join(base.dir, m.psa!.embeddingTemplate!.path), 'utf8')).toBe(PSA_EMBEDDING_TEMPLATE);
    expect(Object.keys(m.components).sort()).toEqual(['text_encoder', 'unet', 'user_projection', 'vae_decoder']);
    expect(m.license.text).toMatch(/CreativeML OpenRAIL-M[\s\S]*Copyright \(c\) 2025 Torpedo2648/);
    expect(m.image).toEqual({ width: 64, height: 64 });
  });

  it('declares the PSA inputs on the U-Net and keeps the other components byte for byte', async () => {
    const s = await session(path.join(base.dir, 'unet', 'model.onnx'));
    expect([...s.inputNames].sort()).toEqual(['encoder_hidden_states', 'psa_scale', 'sample', 'timestep']);
    for (const f of ['text_encoder/model.onnx', 'vae_decoder/model.onnx', 'tokenizer/vocab.json', 'scheduler/scheduler_config.json']) {
      expect(readFileSync(path.join(base.dir, f)).equals(readFileSync(path.join(tmp, 'sd15-unet-external', f))), f).toBe(true);
    }
    const readme = readFileSync(path.join(base.dir, 'README.md'), 'utf8');
    expect(readme).toContain('psa_adapter.bin');
    expect(readme).toContain('mid_block.attentions.0.transformer_blocks.0.attn2');
  });
});
