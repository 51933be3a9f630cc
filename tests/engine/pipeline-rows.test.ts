// The batch's rows (conditioning.ts): CFG on/off changes the batch, and one loaded engine serves both in any
// order (the conditioning concat graph is built per batch size); the CPU guidance combine is diffusers' formula.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { nodeEngine } from '../../src/engine/node-host';
import { combineRows, rowRoles } from '../../src/engine/pipeline/conditioning';
import { attentionBytes, WASM_ATTENTION_BYTES } from '../../src/engine/pipeline/loops';
import type { GenerateParams } from '../../src/shared/types';
import { DEMO, ensureDemoBundles } from '../helpers/bundles';

const base: GenerateParams = { prompt: 'a photo of a cat', seed: 7, steps: 3, scheduler: 'euler', guidance: 7.5, width: 64, height: 64 };

describe('batch rows', () => {
  it('CFG gives [uncond ; cond], guidance ≤ 1 only [cond]', () => {
    expect(rowRoles({ ...base, guidance: 7.5 })).toEqual(['uncond', 'cond']);
    expect(rowRoles({ ...base, guidance: 1 })).toEqual(['cond']);
  });

  it('combines u + g·(c − u) in float32, and passes a single row through', () => {
    const out = Float32Array.of(1, 2, 3, 5);
    expect(Array.from(combineRows(['uncond', 'cond'], out, 2, 2))).toEqual([1 + 2 * (3 - 1), 2 + 2 * (5 - 2)]);
    const single = Float32Array.of(4, 2);
    expect(combineRows(['cond'], single, 2, 7.5)).toBe(single);
  });
});

describe('one engine, CFG on and off in turn (PSA demo bundle)', () => {
  let engine: Engine;
  beforeAll(async () => {
    await ensureDemoBundles();
    engine = nodeEngine();
    engine.loop = 'kernel';
    await engine.load({ url: DEMO, backend: 'cpu' });
  });

  it('guidance 1 after guidance 7.5 (and back) works and repeats exactly', async () => {
    const cfg = await engine.generate('a', base);
    const plain = await engine.generate('b', { ...base, guidance: 1 });
    const again = await engine.generate('c', base);
    expect(Buffer.from(again.rgba).equals(Buffer.from(cfg.rgba))).toBe(true);
    expect(Buffer.from(plain.rgba).equals(Buffer.from(cfg.rgba))).toBe(false);
  });
});

describe('one U-Net call per row where a batch call would not fit WASM memory (PSA demo bundle, reference loop)', () => {
  it('the cap: CFG at 512² (1 GiB of attention) is split on WASM, 256² and smaller are not', () => {
    expect(attentionBytes(2, 64, 64)).toBe(2 ** 30);
    expect(attentionBytes(2, 64, 64)).toBeGreaterThan(WASM_ATTENTION_BYTES);
    expect(attentionBytes(1, 64, 64)).toBeLessThanOrEqual(WASM_ATTENTION_BYTES);
    expect(attentionBytes(2, 32, 32)).toBeLessThanOrEqual(WASM_ATTENTION_BYTES);
  });

  it('rows one by one give the batched picture, in 2 calls of batch 1 per step', async () => {
    await ensureDemoBundles();
    const engine = nodeEngine();
    engine.loop = 'reference';
    await engine.load({ url: DEMO, backend: 'cpu' });
    const batched = await engine.generate('a', base);
    expect(batched.unet).toEqual({ calls: base.steps, batch: 2 });
    engine.rowSplitBytes = 0; // every batch is over the cap
    const rows = await engine.generate('b', base);
    expect(rows.unet).toEqual({ calls: 2 * base.steps, batch: 1 });
    let max = 0;
    for (let i = 0; i < rows.rgba.length; i++) max = Math.max(max, Math.abs(rows.rgba[i] - batched.rgba[i]));
    expect(max).toBeLessThanOrEqual(1); // the same arithmetic; batch-1 kernels may round differently in the last bit
  });
});
