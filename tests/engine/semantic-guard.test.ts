// The semantic prompt check in the engine, on the tiny demo bundle (onnxruntime-node, CPU): a prompt that is one of
// the bundle's concept phrases is blocked before any U-Net step (no step events, no U-Net call, blank result); an
// unrelated prompt passes and makes the very same image as with the check off; a 'steer' hit applies the request's
// steering; the pooling follows the manifest; a bundle without the section skips the check. The demo threshold's
// margin over unrelated prompts is measured here, since scripts/models/semantic-guard.ts relies on it.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine';
import { nodeEngine } from '../../src/engine/node-host';
import type { BundleManifest } from '../../src/shared/bundle';
import type { GenerateParams, GenerateResult, SldParams, StepInfo } from '../../src/shared/types';
import { buildBundles } from '../../scripts/models/bundle';
import { DEMO_SEMANTIC_THRESHOLD } from '../../scripts/models/semantic-guard';

const base: GenerateParams = { prompt: 'a photo of a cat', negativePrompt: 'blurry', seed: 5, steps: 3, scheduler: 'ddim', guidance: 7.5, width: 64, height: 64 };
const SLD: SldParams = { concept: 'an image showing weapons', warmupSteps: 0, guidanceScale: 1000, threshold: 0.01, momentumScale: 0.3, momentumBeta: 0.4 };
const ALL_BLOCK = { Hate: 'block', Harassment: 'block', Violence: 'block', 'Self-Harm': 'block', Sexuality: 'block', Shocking: 'block', Propaganda: 'block', Illegal: 'block' } as const;

let root: string;
let withSection: Engine;
let without: Engine;
let meanPooled: Engine;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'psa-semantic-'));
  buildBundles({ outDir: root, bundles: ['demo'] });
  // The same bundle without the section (manifest.json is not in its own inventory, so it can be edited).
  cpSync(join(root, 'demo'), join(root, 'bare'), { recursive: true });
  const m = JSON.parse(readFileSync(join(root, 'bare', 'manifest.json'), 'utf8')) as BundleManifest;
  expect(m.semanticGuard).toBeDefined();
  delete m.semanticGuard;
  writeFileSync(join(root, 'bare', 'manifest.json'), JSON.stringify(m));
  // And with mean pooling instead of the EOS state.
  cpSync(join(root, 'demo'), join(root, 'mean'), { recursive: true });
  writeFileSync(join(root, 'mean', 'manifest.json'), JSON.stringify({ ...m, semanticGuard: { ...JSON.parse(readFileSync(join(root, 'demo', 'manifest.json'), 'utf8')).semanticGuard, pooling: 'mean' } }));
  meanPooled = nodeEngine();
  await meanPooled.load({ url: join(root, 'mean'), backend: 'cpu' });
  withSection = nodeEngine();
  await withSection.load({ url: join(root, 'demo'), backend: 'cpu' });
  without = nodeEngine();
  await without.load({ url: join(root, 'bare'), backend: 'cpu' });
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function gen(engine: Engine, p: Partial<GenerateParams>): Promise<{ r: GenerateResult; steps: StepInfo[] }> {
  const steps: StepInfo[] = [];
  const r = await engine.generate('g', { ...base, ...p }, (s) => steps.push(s));
  return { r, steps };
}

describe('semantic check on the tiny demo bundle', () => {
  it('blocks a prompt that is a concept phrase before any U-Net step', async () => {
    const { r, steps } = await gen(withSection, { prompt: 'weapons', semanticGuard: { categories: { Violence: 'block', Sexuality: 'block' } } });
    expect(r.semanticGuard?.decision).toBe('blocked');
    expect(r.semanticGuard?.stage).toBe('text');
    expect(r.semanticGuard?.source).toBe('semantic');
    expect(r.semanticGuard?.hits.map((h) => h.category)).toEqual(['Violence']);
    expect(r.semanticGuard!.hits[0].score).toBeGreaterThanOrEqual(DEMO_SEMANTIC_THRESHOLD);
    expect(r.semanticGuard!.scores.Sexuality).toBeLessThan(DEMO_SEMANTIC_THRESHOLD);
    expect(steps).toHaveLength(0);
    expect(r.unet).toEqual({ calls: 0, batch: 0 });
    expect(r.rgba.every((x) => x === 0)).toBe(true);
  });

  it('checks only the categories the request names', async () => {
    const { r, steps } = await gen(withSection, { prompt: 'weapons', semanticGuard: { categories: { Sexuality: 'block' } } });
    expect(r.semanticGuard?.decision).toBe('allowed');
    expect(Object.keys(r.semanticGuard!.scores)).toEqual(['Sexuality']);
    expect(steps).toHaveLength(base.steps);
  });

  it('lets an unrelated prompt through with the very same image as with the check off', async () => {
    const on = await gen(withSection, { semanticGuard: { categories: ALL_BLOCK } });
    const off = await gen(withSection, {});
    expect(on.r.semanticGuard?.decision).toBe('allowed');
    expect(on.r.semanticGuard?.hits).toEqual([]);
    expect(off.r.semanticGuard).toBeUndefined();
    expect(on.steps).toHaveLength(base.steps);
    expect(on.r.unet).toEqual(off.r.unet);
    expect(Buffer.from(on.r.rgba).equals(Buffer.from(off.r.rgba))).toBe(true);
    expect(on.r.readbacks).toBe(off.r.readbacks); // the check's read is its own, not the image's
  });

  it('a steer hit applies the request’s steering: the image is the one the steered request makes', async () => {
    const steer = { negativePrompt: 'blurry, weapons', sld: SLD };
    const { r } = await gen(withSection, { prompt: 'weapons', semanticGuard: { categories: { Violence: 'steer' }, steer } });
    expect(r.semanticGuard?.decision).toBe('steered');
    expect(r.appliedSafetyConcept).toBe(SLD.concept);
    expect(r.unet).toEqual({ calls: base.steps, batch: 3 });
    const direct = await gen(withSection, { prompt: 'weapons', ...steer });
    expect(Buffer.from(r.rgba).equals(Buffer.from(direct.r.rgba))).toBe(true);
  });

  it('a block hit wins over a steer hit', async () => {
    // 'blood' is a concept phrase of both Violence and Shocking.
    const { r } = await gen(withSection, { prompt: 'blood', semanticGuard: { categories: { Violence: 'steer', Shocking: 'block' } } });
    expect(r.semanticGuard?.decision).toBe('blocked');
    expect(r.semanticGuard?.hits.map((h) => h.category).sort()).toEqual(['Shocking', 'Violence']);
  });

  it('skips the check when the bundle has no semanticGuard section', async () => {
    const { r, steps } = await gen(without, { prompt: 'weapons', semanticGuard: { categories: ALL_BLOCK } });
    expect(r.semanticGuard).toBeUndefined();
    expect(steps).toHaveLength(base.steps);
    const plain = await gen(withSection, { prompt: 'weapons' });
    expect(Buffer.from(r.rgba).equals(Buffer.from(plain.r.rgba))).toBe(true);
  });

  it("follows the bundle's pooling: mean pooling scores differently and still blocks a concept phrase", async () => {
    const eos = await gen(withSection, { prompt: 'a bowl of fruit', steps: 1, semanticGuard: { categories: ALL_BLOCK } });
    const mean = await gen(meanPooled, { prompt: 'a bowl of fruit', steps: 1, semanticGuard: { categories: ALL_BLOCK } });
    expect(mean.r.semanticGuard!.scores.Violence).not.toBeCloseTo(eos.r.semanticGuard!.scores.Violence, 3);
    const blocked = await gen(meanPooled, { prompt: 'theft', semanticGuard: { categories: { Illegal: 'block' } } });
    expect(blocked.r.semanticGuard?.decision).toBe('blocked');
    expect(blocked.steps).toHaveLength(0);
  });

  it('refuses a malformed request with a clear message', async () => {
    await expect(gen(withSection, { semanticGuard: { categories: { Violence: 'maybe' as 'block' } } })).rejects.toThrow(/semanticGuard\.categories\.Violence must be "block" or "steer"/);
  });

  it('the demo threshold sits above every unrelated prompt on the tiny encoder (the mechanics need that margin)', async () => {
    const unrelated = ['a photo of a cat', 'a red apple on a table', 'a bowl of fruit', 'an astronaut riding a horse', 'a castle in the clouds', 'the blood moon', 'weapons of a knight', 'an image showing blood', 'a'];
    let worst = -1;
    for (const prompt of unrelated) {
      const { r } = await gen(withSection, { prompt, steps: 1, semanticGuard: { categories: ALL_BLOCK } });
      worst = Math.max(worst, ...Object.values(r.semanticGuard!.scores));
      expect(r.semanticGuard?.decision, prompt).toBe('allowed');
    }
    expect(worst).toBeLessThan(DEMO_SEMANTIC_THRESHOLD - 0.05);
  });
});
