// The batch's rows (conditioning.ts): CFG on/off changes the batch, and one loaded engine serves both in any
// order (the conditioning concat graph is built per batch size); the CPU guidance combine is diffusers' formula.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { nodeEngine } from '../../src/engine/node-host';
import { combineRows, rowRoles } from '../../src/engine/pipeline/conditioning';
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
