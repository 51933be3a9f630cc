// The SLD step kernel (batch 3) computes exactly what the CPU reference combine computes (pipeline/sld.ts, the port
// of diffusers' StableDiffusionPipelineSafe loop), bit for bit, over several steps with the momentum kept on the
// kernel's side — and both follow the loop's equations as written (checked here in float64 against a direct reading).
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { buildStepKernel } from '../../src/engine/kernels';
import { sldApplies, sldCombine, sldKernelInput, sldScalars } from '../../src/engine/pipeline/sld';
import type { SldParams } from '../../src/shared/types';

const [C, H, W] = [4, 3, 5];
const n = C * H * W;
const MEDIUM: SldParams = { concept: 'x', warmupSteps: 2, guidanceScale: 1000, threshold: 0.01, momentumScale: 0.3, momentumBeta: 0.4 };

/** U-Net rows whose text − safety differences straddle λ and the clamp knee (|d|·s_S = 1), plus ordinary values. */
function unetRows(step: number): Float32Array {
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    const u = Math.sin(i * 1.7 + step) * 0.8;
    const c = u + Math.cos(i * 0.9 + step) * 0.3;
    const near = [0.01, 0.0099, 0.0101, 0.001, -0.001, 0.0005, -0.0005, 0, 0.2, -0.2][i % 10];
    out[i] = u;
    out[n + i] = c;
    out[2 * n + i] = i % 3 === 0 ? c - near : c - Math.sin(i + step) * 0.05;
  }
  return out;
}

describe('SLD step kernel (batch 3)', () => {
  it('matches the CPU reference combine bit for bit over warm-up and after, carrying ν on the kernel side', async () => {
    const s = await ort.InferenceSession.create(buildStepKernel({ batch: 3, channels: C, height: H, width: W, unetOut: 'float32', unetIn: 'float32' }));
    const zeros = () => new ort.Tensor('float32', new Float32Array(n), [1, C, H, W]);
    // coef: next = eps exactly (1·eps + 0·others), the other rows unused here
    const coef = new Float32Array(30);
    coef[1] = 1;
    const k = sldScalars(MEDIUM);
    const nuCpu = new Float32Array(n);
    let nu: ort.Tensor = zeros();
    let sawActive = 0;
    for (let step = 0; step < 5; step++) {
      const out = unetRows(step);
      const applies = sldApplies(MEDIUM, step);
      const res = await s.run({
        unet_out: new ort.Tensor('float32', out, [3, C, H, W]),
        sample: zeros(), h0: zeros(), h1: zeros(), h2: zeros(), noise: zeros(),
        coef: new ort.Tensor('float32', coef, [5, 6]),
        guidance: new ort.Tensor('float32', Float32Array.of(7.5), [1]),
        nu,
        sld: new ort.Tensor('float32', sldKernelInput(MEDIUM, applies), [6]),
      });
      const eps = sldCombine(out, { u: 0, c: n, s: 2 * n }, n, 7.5, k, nuCpu, applies);
      expect(Array.from(res.next.data as Float32Array)).toEqual(Array.from(eps));
      expect(Array.from(res.nu_out.data as Float32Array)).toEqual(Array.from(nuCpu));
      expect(res.next_input.dims).toEqual([3, C, H, W]);
      nu = res.nu_out;
      if (applies) sawActive++;
    }
    expect(sawActive).toBe(3);
    await s.release();
  });
});

describe('CPU SLD combine = the loop in StableDiffusionPipelineSafe.__call__', () => {
  it('follows Eq. 3–8 (float64 reading, within float32 rounding) and warm-up only builds momentum', () => {
    const k = sldScalars(MEDIUM);
    const nu32 = new Float32Array(n);
    let nu64 = new Float64Array(n);
    const G = 7.5;
    for (let step = 0; step < 4; step++) {
      const out = unetRows(step);
      const applies = sldApplies(MEDIUM, step);
      const eps = sldCombine(out, { u: 0, c: n, s: 2 * n }, n, G, k, nu32, applies);
      const next = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const [u, c, s] = [out[i], out[n + i], out[2 * n + i]];
        const scale = Math.min(Math.abs(c - s) * MEDIUM.guidanceScale, 1);
        const mu = c - s >= MEDIUM.threshold ? 0 : scale;
        const gamma = (s - u) * mu + MEDIUM.momentumScale * nu64[i];
        next[i] = MEDIUM.momentumBeta * nu64[i] + (1 - MEDIUM.momentumBeta) * gamma;
        let g = c - u;
        if (applies) g -= gamma;
        const want = u + G * g;
        // μ jumps at λ: an element within float32 rounding of λ may legitimately differ, none is placed there
        expect(Math.abs(eps[i] - want)).toBeLessThan(1e-4 * (1 + Math.abs(want)));
        if (!applies) expect(eps[i]).toBe(Math.fround(u + Math.fround(Math.fround(G) * Math.fround(c - u))));
      }
      for (let i = 0; i < n; i++) expect(Math.abs(nu32[i] - next[i])).toBeLessThan(1e-5 * (1 + Math.abs(next[i])));
      nu64 = next;
    }
    expect(nu32.some((x) => x !== 0)).toBe(true);
  });

  it('uses the loop order (text, safety) — not perform_safety_guidance’s swapped (text, uncond) unpacking', () => {
    // With u = 0 and c ≠ s, swapping u and c would change μ's condition and γ; the loop's result is fixed here.
    const out = Float32Array.of(0, 0.5, 0.4); // u, c, s for one element
    const eps = sldCombine(out, { u: 0, c: 1, s: 2 }, 1, 2, sldScalars({ ...MEDIUM, momentumScale: 0, momentumBeta: 0 }), new Float32Array(1), true);
    // d = c − s = 0.1 ≥ λ → μ = 0 → γ = 0 → eps = u + 2·(c − u) = 1
    expect(eps[0]).toBeCloseTo(1, 6);
    const eps2 = sldCombine(Float32Array.of(0, 0.4, 0.5), { u: 0, c: 1, s: 2 }, 1, 2, sldScalars({ ...MEDIUM, momentumScale: 0, momentumBeta: 0 }), new Float32Array(1), true);
    // d = −0.1 < λ → μ = min(0.1·1000, 1) = 1 → γ = s − u = 0.5 → eps = 2·(0.4 − 0.5) = −0.2
    expect(eps2[0]).toBeCloseTo(-0.2, 6);
  });
});
