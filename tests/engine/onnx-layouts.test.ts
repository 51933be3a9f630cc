// Public export layouts through the engine's Node path (onnxruntime-node, files from disk): the .onnx header scan
// (engine/onnx-scan.ts) against the onnx package's own reading of the same files, and loading each layout of
// fixtures/layouts (made by scripts/reference/layouts_fixture.py with python's onnx.save_model) — weight files under
// any name, one file per tensor, float16 — with the external-data names taken from each .onnx, never guessed.
// The 2 GiB refusal is tested without writing 2 GB: a real small .onnx whose external_data `offset` entry points
// past 2 GiB is enough, because the check reads the sizes the graph declares before any weights file is opened.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { loadOnnx } from '../../scripts/convert/onnx-model';
import { decodePng } from '../../scripts/lib/png';
import { resolveBundle } from '../../src/engine/bundle-resolve';
import { externalPaths, MAX_EXTERNAL_FILE_BYTES } from '../../src/engine/external-data';
import { loadImageChecker, locateChecker } from '../../src/engine/image-check';
import { loadModels, releaseModels } from '../../src/engine/models';
import { fsReader } from '../../src/engine/node-reader';
import { scanOnnx, scanOnnxBytes } from '../../src/engine/onnx-scan';
import { halfData } from '../../src/engine/tensors';
import type { OrtLike } from '../../src/engine/ort-types';
import { directSerial, type Runtime } from '../../src/engine/sessions';
import { AppError } from '../../src/shared/errors';
import { PARITY } from '../helpers/bundles';
import { runCli } from '../helpers/cli';
import { assembleLayout, LAYOUTS, overCapUnet, removeLayout } from '../helpers/layouts';
import { pixelDiff } from '../helpers/pixels';


const made: string[] = [];
const layout = (name: string) => {
  const d = assembleLayout(name);
  made.push(d);
  return d;
};
afterAll(() => made.forEach(removeLayout));

const scanFile = (p: string) => scanOnnxBytes(new Uint8Array(readFileSync(p)), p);
const cpu = (): Runtime => ({ ort: ort as unknown as OrtLike, backend: 'cpu', serial: directSerial });
const fail = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a refusal'); }, (e: AppError) => e);

describe('onnx-scan: external-data names from the .onnx', () => {
  it.each([
    ['named/unet/model.onnx'], ['named/vae_decoder/model.onnx'], ['multi-file/vae_decoder/model.onnx'], ['fp16/unet/model.onnx'], ['fp16/text_encoder/model.onnx'],
  ])('%s: the files and sizes the onnx package reads from it', async (rel) => {
    const file = path.join(LAYOUTS, rel);
    const facts = await scanFile(file);
    // Independent reading of the same file: the converter's onnx-proto decode of every initializer's external_data.
    const ref = loadOnnx(file, path.dirname(file), rel);
    expect(facts.externalFiles.map((f) => f.location).sort()).toEqual([...ref.externalFiles.keys()].sort());
    expect(facts.externalFiles.length).toBeGreaterThan(0);
    for (const f of facts.externalFiles) expect(f.minBytes, f.location).toBe(statSync(path.join(path.dirname(file), f.location)).size);
    expect(facts.externalFiles.reduce((n, f) => n + f.tensors, 0)).toBe([...ref.inits.values()].filter((t) => t.externalData?.length).length);
  });

  it('names: weights.pb, a custom name, and one file per tensor (28 of them)', async () => {
    expect((await scanFile(path.join(LAYOUTS, 'named/unet/model.onnx'))).externalFiles.map((f) => f.location)).toEqual(['weights.pb']);
    expect((await scanFile(path.join(LAYOUTS, 'named/vae_decoder/model.onnx'))).externalFiles.map((f) => f.location)).toEqual(['vae-weights.bin']);
    const multi = await scanFile(path.join(LAYOUTS, 'multi-file/vae_decoder/model.onnx'));
    const onDisk = readdirSync(path.join(LAYOUTS, 'multi-file/vae_decoder')).filter((f) => f.endsWith('.weight'));
    expect(multi.externalFiles.map((f) => f.location).sort()).toEqual(onDisk.sort());
    expect(onDisk.length).toBe(28);
  });

  it('float16 from the graph (inputs and initializers), not from a name', async () => {
    const f16 = await scanFile(path.join(LAYOUTS, 'fp16/unet/model.onnx'));
    expect(f16.float16).toBe(true);
    expect(f16.inputs).toEqual([{ name: 'sample', elem: 10 }, { name: 'timestep', elem: 7 }, { name: 'encoder_hidden_states', elem: 10 }]);
    const f32 = await scanFile(path.join(PARITY, 'bundle/unet/model.onnx'));
    expect(f32.float16).toBe(false);
    expect(f32.externalFiles).toEqual([]);
    expect(f32.initializerTypes[1]).toBeGreaterThan(100);
  });

  it('skips inline weights: the 3.2 MB inline text encoder is scanned reading a small part of it', async () => {
    const bytes = new Uint8Array(readFileSync(path.join(PARITY, 'bundle/text_encoder/model.onnx')));
    let read = 0;
    const facts = await scanOnnx(async (a, b) => {
      read += b - a;
      return bytes.subarray(a, b);
    }, bytes.length, 'text_encoder/model.onnx', 4096);
    expect(facts.inputs.map((i) => i.name)).toEqual(['input_ids']);
    expect(read).toBeLessThan(bytes.length / 4);
    console.log(`inline text encoder: scanned ${read} of ${bytes.length} bytes`);
  });

  it('a truncated .onnx is refused naming the file', async () => {
    const bytes = new Uint8Array(readFileSync(path.join(LAYOUTS, 'named/unet/model.onnx')));
    const e = await fail(scanOnnxBytes(bytes.subarray(0, bytes.length - 100), 'unet/model.onnx'));
    expect(e.code).toBe('MODEL_FILE_CORRUPT');
    expect(e.message).toMatch(/^unet\/model\.onnx is not a readable ONNX model \(truncated/);
  });

  it('a location that leaves the model folder is refused', () => {
    expect(() => externalPaths('unet/model.onnx', { externalFiles: [{ location: '../../secret.bin', minBytes: 1, tensors: 1 }] })).toThrow(/not a file inside the model's folder/);
  });
});

describe('float16 output data in both forms onnxruntime hands out', () => {
  it('raw bits (Uint16Array, onnxruntime-node) and values (Float16Array in Chromium; a plain array stands in here)', () => {
    expect(Array.from(halfData(Uint16Array.of(0x3800, 0xc000, 0)))).toEqual([0.5, -2, 0]);
    // A Float16Array holds the values themselves: decoding them as bits (the old code) gave ~0 for every pixel.
    expect(Array.from(halfData([0.5, -2, 0]))).toEqual([0.5, -2, 0]);
  });
});

describe('the 2 GiB cap on one weights file', () => {
  it('is read from the header and refused with the file, its size, the cap and the fix', async () => {
    const facts = await scanOnnxBytes(overCapUnet(), 'unet/model.onnx');
    expect(facts.externalFiles[0].minBytes).toBeGreaterThan(MAX_EXTERNAL_FILE_BYTES);
    let e: AppError | undefined;
    try {
      externalPaths('unet/model.onnx', facts);
    } catch (x) {
      e = x as AppError;
    }
    expect(e?.code).toBe('BUNDLE_INVALID');
    expect(e?.message).toMatch(/^unet\/weights\.pb \(external data of unet\/model\.onnx\) holds at least 2\.15 GB \(2147\d+ bytes/);
    expect(e?.message).toContain('at most 2 GiB (2147483648 bytes)');
    expect(e?.message).toContain('npm run convert -- --sd15 <folder>');
    expect(e?.message).toContain('at most 1 GiB');
  });

  it('stops a load before the U-Net\'s session is created or its weights read', async () => {
    const dir = layout('named');
    writeFileSync(path.join(dir, 'unet/model.onnx'), overCapUnet());
    let creates = 0;
    const rt = cpu();
    const counting = { ...rt, ort: { ...rt.ort, InferenceSession: { create: (...a: unknown[]) => (creates++, (ort.InferenceSession.create as (...x: unknown[]) => unknown)(...a)) } } } as unknown as Runtime;
    const r = fsReader(dir);
    const e = await fail(loadModels(counting, r, await resolveBundle(r)));
    expect(e.message).toMatch(/unet\/weights\.pb .* 2 GiB/);
    expect(creates).toBe(1); // the text encoder only; the U-Net was refused from its header
  });
});

describe('loading each layout with onnxruntime-node', () => {
  it.each(['named', 'multi-file', 'fp16'])('%s: every model loads with the files its .onnx names', async (name) => {
    const r = fsReader(layout(name));
    const loaded = await loadModels(cpu(), r, await resolveBundle(r));
    try {
      expect(loaded.variants).toEqual(name === 'fp16' ? { text_encoder: 'fp16', unet: 'fp16', vae_decoder: 'fp16' } : { text_encoder: 'fp32', unet: 'fp32', vae_decoder: 'fp32' });
      expect(loaded.io.unetIn).toBe(name === 'fp16' ? 'float16' : 'float32');
    } finally {
      await releaseModels(loaded);
    }
  });

  it("safety checker: the weights file its .onnx names (checker.weights) loads, scoring as the inline fixture does", async () => {
    const r = fsReader(layout('named'));
    const where = await locateChecker(r, await resolveBundle(r), ['fp32']);
    expect(where?.model).toEqual({ path: 'safety_checker/model.onnx' });
    const ext = await loadImageChecker(cpu(), r, where!);
    const inline = await loadImageChecker(cpu(), fsReader(path.join(LAYOUTS, '..', 'safety-checker')), { model: { path: 'model.onnx' }, config: 'preprocessor_config.json' });
    try {
      const rgba = Uint8Array.from({ length: 64 * 64 * 4 }, (_, i) => (i % 4 === 3 ? 255 : (i * 37) % 251));
      const a = await ext.check(rgba, 64, 64, 0);
      expect(a.scores.length).toBeGreaterThan(0);
      expect(a).toEqual(await inline.check(rgba, 64, 64, 0));
    } finally {
      await ext.release();
      await inline.release();
    }
  });

  it('a weights file the .onnx names but the folder lacks: refused naming both', async () => {
    const dir = layout('named');
    rmSync(path.join(dir, 'vae_decoder/vae-weights.bin'));
    const r = fsReader(dir);
    const e = await fail(loadModels(cpu(), r, await resolveBundle(r)));
    expect(e.code).toBe('MODEL_FILE_MISSING');
    expect(e.message).toMatch(/^vae_decoder\/vae-weights\.bin is missing from the bundle at .*: vae_decoder\/model\.onnx stores its weights there/);
  });

  it('fp16 on WebGPU without shader-f16: refused with an f16 error before any session (never zeros)', async () => {
    const r = fsReader(layout('fp16'));
    let creates = 0;
    const rt: Runtime = { ort: { ...(ort as unknown as OrtLike), InferenceSession: { create: async () => { creates++; throw new Error('not reached'); } } } as unknown as OrtLike, backend: 'webgpu', serial: directSerial };
    const e = await fail(loadModels(rt, r, await resolveBundle(r), { shaderF16: false }));
    expect(e.code).toBe('BACKEND_INIT_FAILED');
    expect(e.message).toMatch(/^text_encoder\/model\.onnx is a float16 \(fp16\) model \(float16 weights\); this GPU lacks shader-f16/);
    expect(creates).toBe(0);
  });
});

describe('a picture from each layout (CLI, onnxruntime-node)', () => {
  const c = JSON.parse(readFileSync(path.join(PARITY, 'cases.json'), 'utf8')).cases.find((x: { id: string }) => x.id === 'ddim-4-noneg');
  const run = (dir: string) => {
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), 'psa-layout-png-')), 'out.png');
    made.push(path.join(path.dirname(out), 'x'));
    const r = runCli(['--bundle', dir, '--prompt', c.prompt, '--scheduler', c.scheduler, '--steps', String(c.steps), '--cfg', String(c.guidance),
      '--width', String(c.width), '--height', String(c.height), '--latents', path.join(PARITY, c.latents), '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    return decodePng(readFileSync(out)).rgba;
  };
  const want = () => decodePng(readFileSync(path.join(PARITY, c.expected))).rgba;

  it.each(['named', 'multi-file'])('%s gives diffusers\' image (same weights as the parity export)', (name) => {
    const d = pixelDiff(run(layout(name)), want());
    expect(d.max).toBeLessThanOrEqual(2);
  });

  it('fp16 runs where float16 is computed (CPU) into a real picture near the fp32 one', () => {
    const got = run(layout('fp16'));
    const d = pixelDiff(got, want());
    console.log(`fp16 layout vs diffusers fp32 image: max ${d.max}, mean ${d.mean.toFixed(2)}`);
    const lo = Math.min(...got.filter((_, i) => i % 4 !== 3));
    const hi = Math.max(...got.filter((_, i) => i % 4 !== 3));
    expect(hi - lo).toBeGreaterThan(50); // not a flat (zero) image
    expect(d.mean).toBeLessThan(2); // measured 0.14: the tiny model barely moves in float16
  });
});
