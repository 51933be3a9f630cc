// The size rule shared by the engine, the CLI and the generate form (src/shared/image-size.ts): SD1.5's multiples
// of 64 from 256 to 768, a bundle's own declared rule, the fallback for a model of another size, the manifest's
// check of a declared rule, and the shapes the form offers.
import { describe, expect, it } from 'vitest';
import { checkManifest } from '../../src/shared/bundle';
import { allowedSides, ANY_LATENT_SIZES, describeSizeRule, SD15_SIZES, sizePresets, sizeProblem, sizeRuleFor, sizeRuleProblem } from '../../src/shared/image-size';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEMO, ensureDemoBundles } from '../helpers/bundles';

describe('SD1.5 sizes', () => {
  it('multiples of 64 from 256 to 768, each side checked and named', () => {
    expect(allowedSides(SD15_SIZES)).toEqual([256, 320, 384, 448, 512, 576, 640, 704, 768]);
    for (const [w, h] of [[512, 512], [256, 768], [768, 256], [640, 448]]) expect(sizeProblem(w, h, SD15_SIZES)).toBeUndefined();
    expect(sizeProblem(520, 512, SD15_SIZES)).toBe('width must be a multiple of 64 from 256 to 768 pixels for this model (got 520)');
    expect(sizeProblem(512, 832, SD15_SIZES)).toBe('height must be a multiple of 64 from 256 to 768 pixels for this model (got 832)');
    expect(sizeProblem(192, 512, SD15_SIZES)).toMatch(/^width .*\(got 192\)$/);
    expect(sizeProblem(512.5, 512, SD15_SIZES)).toMatch(/got 512.5/);
    expect(sizeProblem('512', 512, SD15_SIZES)).toMatch(/got "512"/);
    expect(describeSizeRule(SD15_SIZES)).toBe('a multiple of 64 from 256 to 768');
  });

  it('a bundle\'s rule: its declaration, else SD1.5\'s for a 512×512 model, else whole latents up to 2048', () => {
    const own = { min: 32, max: 256, step: 32 };
    expect(sizeRuleFor({ width: 512, height: 512 }, own)).toBe(own);
    expect(sizeRuleFor({ width: 512, height: 512 })).toBe(SD15_SIZES);
    expect(sizeRuleFor({ width: 64, height: 64 })).toBe(ANY_LATENT_SIZES);
    expect(sizeProblem(256, 8, ANY_LATENT_SIZES)).toBeUndefined();
    expect(sizeProblem(60, 64, ANY_LATENT_SIZES)).toMatch(/multiple of 8 from 8 to 2048/);
    expect(sizeProblem(2056, 64, ANY_LATENT_SIZES)).toMatch(/got 2056/);
  });

  it('presets: square at the model\'s size, portrait and landscape about 2:3, inside the rule', () => {
    expect(sizePresets(SD15_SIZES, { width: 512, height: 512 })).toEqual({ square: { width: 512, height: 512 }, portrait: { width: 512, height: 768 }, landscape: { width: 768, height: 512 } });
    expect(sizePresets({ min: 32, max: 256, step: 32 }, { width: 64, height: 64 })).toEqual({ square: { width: 64, height: 64 }, portrait: { width: 64, height: 96 }, landscape: { width: 96, height: 64 } });
    // Snapped into the rule when 1.5× would leave it.
    expect(sizePresets({ min: 256, max: 640, step: 64 }, { width: 512, height: 512 }).portrait).toEqual({ width: 512, height: 640 });
    for (const p of Object.values(sizePresets(SD15_SIZES, { width: 512, height: 512 }))) expect(sizeProblem(p.width, p.height, SD15_SIZES)).toBeUndefined();
  });
});

describe('a declared rule', () => {
  it('is refused with the field named when it cannot work', () => {
    expect(sizeRuleProblem({ min: 32, max: 256, step: 32 })).toBeUndefined();
    expect(sizeRuleProblem({ min: 32, max: 256 })).toMatch(/sizes\.step must be a whole number/);
    expect(sizeRuleProblem({ min: 32, max: 256, step: 12 })).toMatch(/sizes\.step must be a multiple of 8/);
    expect(sizeRuleProblem({ min: 48, max: 256, step: 32 })).toMatch(/multiples of sizes\.step \(32; got 48 and 256\)/);
    expect(sizeRuleProblem({ min: 512, max: 256, step: 64 })).toMatch(/must not be above/);
    expect(sizeRuleProblem({ min: 64, max: 4096, step: 64 })).toMatch(/at most 2048/);
    expect(sizeRuleProblem('big')).toMatch(/must be an object/);
  });

  it('the manifest check refuses a bad rule, and a default size outside the declared one', async () => {
    await ensureDemoBundles();
    const demo = JSON.parse(readFileSync(path.join(DEMO, 'manifest.json'), 'utf8'));
    expect(demo.sizes).toEqual({ min: 32, max: 256, step: 32 }); // the tiny demo declares its own
    expect(checkManifest(demo)).toEqual([]);
    expect(checkManifest({ ...demo, sizes: { min: 32, max: 256, step: 12 } })).toContainEqual(expect.stringMatching(/^manifest\.sizes\.step must be a multiple of 8/));
    expect(checkManifest({ ...demo, sizes: { min: 128, max: 256, step: 64 } })).toContainEqual(expect.stringMatching(/^manifest\.image \(the default size\) must be one of manifest\.sizes: width must be a multiple of 64 from 128 to 256/));
    const { sizes: _, ...undeclared } = demo;
    expect(checkManifest(undeclared)).toEqual([]); // optional: older manifests stay valid
  });
});
