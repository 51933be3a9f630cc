// The engine's runtime-built helper graphs run in onnxruntime-node and compute exactly what they claim.
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { buildConcatKernel, buildStepKernel } from '../../src/engine/kernels';

const rand = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) * 2);

describe('step kernel', () => {
  for (const batch of [1, 2] as const) {
    it(`applies CFG and the 5×6 linear map (batch ${batch})`, async () => {
      const [C, H, W] = [4, 3, 5];
      const n = C * H * W;
      const s = await ort.InferenceSession.create(buildStepKernel({ batch, channels: C, height: H, width: W, unetOut: 'float32', unetIn: 'float32' }));
      const lat = (seed: number) => new ort.Tensor('float32', rand(n, seed), [1, C, H, W]);
      const unet = rand(batch * n, 9);
      const coef = Float32Array.from({ length: 30 }, (_, i) => ((i * 7) % 11) / 10 - 0.5);
      const g = 7.5;
      const feeds = {
        unet_out: new ort.Tensor('float32', unet, [batch, C, H, W]),
        sample: lat(1), h0: lat(2), h1: lat(3), h2: lat(4), noise: lat(5),
        coef: new ort.Tensor('float32', coef, [5, 6]),
        guidance: new ort.Tensor('float32', Float32Array.of(g), [1]),
      };
      const out = await s.run(feeds);
      const cols = [rand(n, 1), new Float32Array(n), rand(n, 2), rand(n, 3), rand(n, 4), rand(n, 5)];
      for (let i = 0; i < n; i++) cols[1][i] = batch === 2 ? unet[i] + g * (unet[n + i] - unet[i]) : unet[i];
      const names = ['next', 'h0_out', 'h1_out', 'h2_out', 'scaled'];
      names.forEach((name, r) => {
        const got = out[name].data as Float32Array;
        for (let i = 0; i < n; i++) {
          let want = 0;
          for (let c = 0; c < 6; c++) want += coef[r * 6 + c] * cols[c][i];
          expect(Math.abs(got[i] - want)).toBeLessThan(1e-4 * (1 + Math.abs(want)));
        }
      });
      const ni = out.next_input;
      expect(ni.dims).toEqual([batch, C, H, W]);
      const scaled = out.scaled.data as Float32Array;
      for (let b = 0; b < batch; b++) expect(Array.from((ni.data as Float32Array).subarray(b * n, (b + 1) * n))).toEqual(Array.from(scaled));
      await s.release();
    });
  }
});

describe('concat kernel', () => {
  it('appends the user tokens after the text tokens', async () => {
    const s = await ort.InferenceSession.create(buildConcatKernel({ batch: 2, textTokens: 77, userTokens: 1, hidden: 8, text: 'float32', user: 'float32', out: 'float32' }));
    const text = rand(2 * 77 * 8, 1);
    const user = rand(2 * 8, 2);
    const out = await s.run({ text: new ort.Tensor('float32', text, [2, 77, 8]), user: new ort.Tensor('float32', user, [2, 1, 8]) });
    const ehs = out.encoder_hidden_states;
    expect(ehs.dims).toEqual([2, 78, 8]);
    const d = ehs.data as Float32Array;
    expect(Array.from(d.subarray(78 * 8 - 8, 78 * 8))).toEqual(Array.from(user.subarray(0, 8)));
    expect(Array.from(d.subarray(78 * 8, 78 * 8 + 77 * 8))).toEqual(Array.from(text.subarray(77 * 8)));
    await s.release();
  });
});
