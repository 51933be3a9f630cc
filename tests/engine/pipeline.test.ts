// The engine core under onnxruntime-node on the tiny demo bundles: determinism, seeds, the device-resident
// (kernel) loop against the CPU reference loop, PSA conditioning, cancel/busy, truncation, bad bundles.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { nodeEngine } from '../../src/engine/node-host';
import type { Engine } from '../../src/engine/engine';
import { SCHEDULER_NAMES, type GenerateParams } from '../../src/shared/types';
import { AppError } from '../../src/shared/errors';
import { DEMO, DEMO_PLAIN, ensureDemoBundles } from '../helpers/bundles';

const base: GenerateParams = { prompt: 'a photo of a cat', seed: 7, steps: 4, scheduler: 'euler', guidance: 7.5, width: 64, height: 64 };

let engine: Engine;
beforeAll(async () => {
  await ensureDemoBundles();
  engine = nodeEngine();
  await engine.load({ url: DEMO, backend: 'cpu' });
});

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
const relErr = (a: Float32Array, b: Float32Array) => maxDiff(a, b) / Math.max(1e-6, ...Array.from(b, Math.abs));

describe('generation on the demo bundle (onnxruntime-node)', () => {
  it('makes an RGBA image of the asked size, identical when repeated, different for another seed', async () => {
    const a = await engine.generate('a', base);
    expect(a.width).toBe(64);
    expect(a.rgba.length).toBe(64 * 64 * 4);
    const b = await engine.generate('b', base);
    expect(Buffer.from(b.rgba).equals(Buffer.from(a.rgba))).toBe(true);
    const c = await engine.generate('c', { ...base, seed: 8 });
    expect(maxDiff(c.rgba, a.rgba)).toBeGreaterThan(0);
    // Not a flat image: the tiny models must carry signal end to end.
    const reds = Array.from({ length: 64 * 64 }, (_, i) => a.rgba[i * 4]);
    expect(Math.max(...reds) - Math.min(...reds)).toBeGreaterThan(5);
  });

  for (const scheduler of SCHEDULER_NAMES) {
    it(`kernel loop (device form) = reference loop (CPU form): ${scheduler}`, async () => {
      const p: GenerateParams = { ...base, scheduler, steps: scheduler === 'lcm' ? 4 : 6, returnLatents: true, eta: scheduler === 'ddim' ? 1 : undefined };
      engine.loop = 'reference';
      const ref = await engine.generate('ref', p);
      engine.loop = 'kernel';
      const ker = await engine.generate('ker', p);
      engine.loop = undefined;
      // Tolerance: the kernel sums 6 products in one fp32 MatMul where the reference follows diffusers' order.
      expect(relErr(ker.latents!, ref.latents!)).toBeLessThan(1e-4);
      expect(maxDiff(ker.rgba, ref.rgba)).toBeLessThanOrEqual(1);
    });
  }

  it('personalizes: the user embedding and psa_scale change the image; psa_scale 0 ignores the embedding', async () => {
    const E = engine.info!.embeddingSize;
    const emb = Array.from({ length: E }, (_, i) => Math.cos(i));
    const plain = await engine.generate('p0', base);
    const personal = await engine.generate('p1', { ...base, userEmbedding: emb });
    expect(maxDiff(personal.rgba, plain.rgba)).toBeGreaterThan(0);
    const stronger = await engine.generate('p2', { ...base, userEmbedding: emb, psaScale: 3 });
    expect(maxDiff(stronger.rgba, personal.rgba)).toBeGreaterThan(0);
    const off1 = await engine.generate('p3', { ...base, userEmbedding: emb, psaScale: 0 });
    const off2 = await engine.generate('p4', { ...base, psaScale: 0 });
    expect(Buffer.from(off1.rgba).equals(Buffer.from(off2.rgba))).toBe(true);
  });

  it('accepts initial noise (diffusers latents=) and reports the noise it used', async () => {
    const r = await engine.generate('n1', base);
    const again = await engine.generate('n2', { ...base, seed: 999, initialNoise: r.noise });
    expect(Buffer.from(again.rgba).equals(Buffer.from(r.rgba))).toBe(true);
    await expect(engine.generate('n3', { ...base, initialNoise: new Float32Array(10) })).rejects.toThrow(/needs \[1,4,8,8\]/);
  });

  it('truncates prompts over 77 tokens and says how many tokens were dropped', async () => {
    const long = Array.from({ length: 100 }, (_, i) => `word${i}`).join(' ');
    const r = await engine.generate('t', { ...base, steps: 1, prompt: long });
    expect(r.truncated.prompt).toBeGreaterThan(0);
    expect(r.truncated.negative).toBe(0);
  });

  it('rejects bad parameters with INVALID_REQUEST and a specific message', async () => {
    const bad: [Partial<GenerateParams>, RegExp][] = [
      // The demo bundle's own size rule (its manifest's sizes: 32–256 in steps of 32), named in the message.
      [{ width: 60 }, /^width must be a multiple of 32 from 32 to 256 pixels for this model \(got 60\)$/],
      [{ height: 288 }, /^height must be a multiple of 32 from 32 to 256 pixels for this model \(got 288\)$/],
      [{ width: 16 }, /width must be a multiple of 32 from 32 to 256/],
      [{ steps: 0 }, /steps must be/],
      [{ scheduler: 'heun' as never }, /unknown scheduler "heun"/],
      [{ userEmbedding: [1, 2] }, /expects \d+/],
    ];
    for (const [patch, msg] of bad) {
      const err = await engine.generate('bad', { ...base, ...patch }).catch((e) => e);
      expect(err).toBeInstanceOf(AppError);
      expect(err.code).toBe('INVALID_REQUEST');
      expect(err.message).toMatch(msg);
    }
  });

  it('cancels mid-loop, refuses a second request while busy, then works again', async () => {
    let steps = 0;
    const running = engine.generate('long', { ...base, steps: 20 }, () => {
      steps++;
      if (steps === 2) engine.cancel('long');
    });
    const busy = await engine.generate('other', base).catch((e) => e);
    expect(busy.code).toBe('BUSY');
    const err = await running.catch((e) => e);
    expect(err.code).toBe('CANCELLED');
    expect(steps).toBeLessThanOrEqual(3);
    const ok = await engine.generate('after', base);
    expect(ok.rgba.length).toBe(64 * 64 * 4);
  });
});

describe('plain (non-PSA) bundle', () => {
  it('loads and generates; refuses a user embedding', async () => {
    const e = nodeEngine();
    const info = await e.load({ url: DEMO_PLAIN, backend: 'cpu' });
    expect(info.psa).toBe(false);
    const r = await e.generate('x', base);
    expect(r.rgba.length).toBe(64 * 64 * 4);
    const err = await e.generate('y', { ...base, userEmbedding: [1] }).catch((x) => x);
    expect(err.message).toMatch(/not personalized/);
    await e.unload();
  });
});

describe('broken bundles fail with the file and tensor named', () => {
  const copy = async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'psa-bundle-'));
    await fs.cp(DEMO, dir, { recursive: true });
    return dir;
  };
  it('missing file → MODEL_FILE_MISSING', async () => {
    const dir = await copy();
    await fs.rm(path.join(dir, 'vae_decoder', 'model.onnx'));
    const err = await nodeEngine().load({ url: dir, backend: 'cpu' }).catch((e) => e);
    expect(err.code).toBe('MODEL_FILE_MISSING');
    expect(err.message).toMatch(/vae_decoder\/model\.onnx/);
  });
  it('truncated model → MODEL_FILE_CORRUPT', async () => {
    const dir = await copy();
    const f = path.join(dir, 'unet', 'model.onnx');
    const bytes = await fs.readFile(f);
    await fs.writeFile(f, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const err = await nodeEngine().load({ url: dir, backend: 'cpu' }).catch((e) => e);
    expect(err.code).toBe('MODEL_FILE_CORRUPT');
    expect(err.message).toMatch(/unet\/model\.onnx/);
  });
  it('no bundle at all → BUNDLE_NOT_FOUND', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'psa-empty-'));
    const err = await nodeEngine().load({ url: dir, backend: 'cpu' }).catch((e) => e);
    expect(err.code).toBe('BUNDLE_NOT_FOUND');
  });
});
