// The engine honours the U-Net's declared timestep type: a float32-timestep export gets Euler's fractional
// timesteps exactly, an int64 export gets them truncated (as diffusers' ONNX pipeline does); integer schedules
// are the same either way. Also float16 conversion used for fp16 bundles.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeModel, encodeModel } from '../../scripts/models/onnx-builder';
import { nodeEngine } from '../../src/engine/node-host';
import { fromHalf, toHalf } from '../../src/engine/tensors';
import type { GenerateParams } from '../../src/shared/types';
import { DEMO, ensureDemoBundles } from '../helpers/bundles';

let floatBundle: string;
beforeAll(async () => {
  await ensureDemoBundles();
  floatBundle = await fs.mkdtemp(path.join(os.tmpdir(), 'float-ts-'));
  await fs.cp(DEMO, floatBundle, { recursive: true });
  const file = path.join(floatBundle, 'unet', 'model.onnx');
  const model = decodeModel(new Uint8Array(await fs.readFile(file)));
  const ts = model.graph!.input!.find((i) => i.name === 'timestep')!;
  expect(ts.type!.tensorType!.elemType).toBe(7); // int64 in the demo
  ts.type!.tensorType!.elemType = 1; // float32: the graph casts the timestep to float anyway
  await fs.writeFile(file, encodeModel(model));
});

const p: GenerateParams = { prompt: 'a cat', seed: 3, steps: 7, scheduler: 'euler', guidance: 7.5, width: 64, height: 64, returnLatents: true };

describe('timestep dtype', () => {
  it('float32 export: fractional Euler timesteps change the result; integer DDIM timesteps do not', async () => {
    const i64 = nodeEngine();
    await i64.load({ url: DEMO, backend: 'cpu' });
    const f32 = nodeEngine();
    await f32.load({ url: floatBundle, backend: 'cpu' });
    const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, k) => Math.max(m, Math.abs(x - b[k])), 0);
    const eulerInt = await i64.generate('a', p);
    const eulerFloat = await f32.generate('b', p);
    expect(maxDiff(eulerInt.latents!, eulerFloat.latents!)).toBeGreaterThan(1e-4);
    const ddimInt = await i64.generate('c', { ...p, scheduler: 'ddim' });
    const ddimFloat = await f32.generate('d', { ...p, scheduler: 'ddim' });
    expect(maxDiff(ddimInt.latents!, ddimFloat.latents!)).toBe(0);
  });
});

describe('float16 conversion', () => {
  it('matches IEEE half rounding (nearest even), subnormals, infinities', () => {
    expect(toHalf(1)).toBe(0x3c00);
    expect(toHalf(-2)).toBe(0xc000);
    expect(toHalf(65504)).toBe(0x7bff);
    expect(toHalf(70000)).toBe(0x7c00);
    expect(toHalf(2 ** -24)).toBe(0x0001);
    expect(toHalf(1 + 2 ** -11)).toBe(0x3c00); // tie → even
    expect(toHalf(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even (up)
    for (const x of [0.1, -3.75, 1e-5, 1234.5, 0.99951171875]) expect(Math.abs(fromHalf(toHalf(x)) - x)).toBeLessThanOrEqual(Math.abs(x) * 2 ** -11 + 2 ** -25);
    expect(Number.isNaN(fromHalf(toHalf(NaN)))).toBe(true);
  });
});
