// SLD in the pipeline: when it is active (diffusers' rule), the batch's third row and its conditioning (the concept
// text with the zero user embedding on PSA bundles, like the negative row), one batch-3 U-Net call per step, the same
// image from the reference loop and the step-kernel loop, and clear errors for bad settings.
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { nodeEngine } from '../../src/engine/node-host';
import { rowRoles } from '../../src/engine/pipeline/conditioning';
import { sldActive } from '../../src/engine/pipeline/sld';
import type { GenerateParams, GenerateResult, SldParams } from '../../src/shared/types';
import { DEMO, ensureDemoBundles } from '../helpers/bundles';

const MEDIUM: SldParams = { concept: 'an image showing blood, weapons', warmupSteps: 10, guidanceScale: 1000, threshold: 0.01, momentumScale: 0.3, momentumBeta: 0.4 };
const base: GenerateParams = { prompt: 'a photo of a cat', negativePrompt: 'blurry', seed: 11, steps: 4, scheduler: 'ddim', guidance: 7.5, width: 64, height: 64 };

function diff(a: GenerateResult, b: GenerateResult): { max: number; mean: number } {
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.rgba.length; i++) {
    const d = Math.abs(a.rgba[i] - b.rgba[i]);
    max = Math.max(max, d);
    sum += d;
  }
  return { max, mean: sum / a.rgba.length };
}

describe('when SLD is active', () => {
  it('needs guidance > 1 and an SLD guidance scale > 1, as diffusers', () => {
    expect(rowRoles({ ...base, sld: MEDIUM })).toEqual(['uncond', 'cond', 'safety']);
    expect(rowRoles({ ...base, guidance: 1, sld: MEDIUM })).toEqual(['cond']);
    expect(rowRoles({ ...base, sld: { ...MEDIUM, guidanceScale: 1 } })).toEqual(['uncond', 'cond']);
    expect(sldActive({ guidance: 7.5 })).toBe(false);
  });
});

describe('SLD on the PSA demo bundle (onnxruntime-node)', () => {
  let engine: Engine;
  const user = Array.from({ length: 32 }, (_, i) => Math.sin(i * 0.7));
  beforeAll(async () => {
    await ensureDemoBundles();
    engine = nodeEngine();
    await engine.load({ url: DEMO, backend: 'cpu' });
  });
  const gen = (id: string, p: Partial<GenerateParams>, loop: 'reference' | 'kernel' = 'reference') => {
    engine.loop = loop;
    return engine.generate(id, { ...base, userEmbedding: user.slice(0, engine.info!.embeddingSize), ...p });
  };

  it('runs one batch-3 U-Net call per step and reports the applied concept', async () => {
    const r = await gen('a', { sld: { ...MEDIUM, warmupSteps: 0, guidanceScale: 5000, threshold: 1, momentumScale: 0.5, momentumBeta: 0.7 } }); // MAX
    expect(r.unet).toEqual({ calls: base.steps, batch: 3 });
    expect(r.appliedSafetyConcept).toBe(MEDIUM.concept);
    const plain = await gen('b', {});
    expect(plain.unet).toEqual({ calls: base.steps, batch: 2 });
    expect(plain.appliedSafetyConcept).toBeUndefined();
    expect(diff(r, plain).max).toBeGreaterThan(2); // SLD moved the image beyond rounding noise
    const off = await gen('c', { guidance: 1, sld: MEDIUM });
    expect(off.unet).toEqual({ calls: base.steps, batch: 1 });
    expect(off.appliedSafetyConcept).toBeUndefined();
  });

  it('the concept row is conditioned like the negative row (zero user embedding), not like the prompt row', async () => {
    const plain = await gen('p', {});
    // concept = the negative text: the safety row equals the negative row, so γ = 0 and the image is plain CFG's
    const asNegative = await gen('n', { sld: { ...MEDIUM, warmupSteps: 0, concept: base.negativePrompt! } });
    expect(diff(asNegative, plain).max).toBeLessThanOrEqual(1);
    // concept = the prompt text: had the row carried the person's embedding, it would equal the prompt row (γ = 0)
    const asPrompt = await gen('q', { sld: { ...MEDIUM, warmupSteps: 0, concept: base.prompt } });
    expect(diff(asPrompt, plain).mean).toBeGreaterThan(0.5);
  });

  it('warm-up only builds momentum: δ ≥ steps gives the plain CFG image when momentum cannot act', async () => {
    const plain = await gen('w0', {});
    const warm = await gen('w1', { sld: { ...MEDIUM, warmupSteps: base.steps } });
    expect(diff(warm, plain).max).toBeLessThanOrEqual(1);
  });

  it('the step-kernel loop gives the reference loop’s image, with the momentum kept in the kernel', async () => {
    for (const scheduler of ['ddim', 'dpmpp-2m', 'euler-ancestral'] as const) {
      const p = { scheduler, steps: 6, sld: { ...MEDIUM, warmupSteps: 2 } };
      const ref = await gen(`r-${scheduler}`, p, 'reference');
      const ker = await gen(`k-${scheduler}`, p, 'kernel');
      expect(ker.unet).toEqual({ calls: 6, batch: 3 });
      const d = diff(ref, ker);
      expect(d.max, scheduler).toBeLessThanOrEqual(1);
    }
  });

  it('refuses bad SLD settings with a message that names the setting', async () => {
    await expect(gen('e1', { sld: { ...MEDIUM, warmupSteps: -1 } })).rejects.toThrow(/warm-up steps/);
    await expect(gen('e2', { sld: { ...MEDIUM, momentumBeta: 2 } })).rejects.toThrow(/momentum beta/);
    await expect(gen('e3', { sld: { ...MEDIUM, threshold: Number.NaN } })).rejects.toThrow(/threshold/);
    await expect(gen('e4', { sld: { ...MEDIUM, concept: 5 as unknown as string } })).rejects.toThrow(/concept/);
  });
});
