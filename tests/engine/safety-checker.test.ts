// The image stage against diffusers' own StableDiffusionSafetyChecker (fixtures/safety-checker, made by
// scripts/reference/safety_checker_fixture.py): CLIP preprocessing equals transformers' CLIPImageProcessor, the
// per-concept scores read out of the Optimum-style graph equal diffusers' (1e-4) at adjustment 0 and 0.05, the
// verdicts equal diffusers' has_nsfw_concepts, adjustment only ever makes it stricter, and in the pipeline a flagged
// image is blurred iff `blur` is set. onnxruntime-node.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundles } from '../../scripts/models/bundle';
import { decodePng } from '../../scripts/lib/png';
import { readNpy } from '../../scripts/lib/npy';
import { fsReader } from '../../src/engine/node-reader';
import { nodeEngine, nodeRuntime } from '../../src/engine/node-host';
import { resolveBundle } from '../../src/engine/bundle-resolve';
import {
  blurRgba, clipPixelValues, findScoreTensors, lazyImageChecker, loadImageChecker, locateChecker, parsePreprocessorConfig, readCheckerGraph, scoresAt,
  type ImageChecker,
} from '../../src/engine/image-check';
import type { GenerateParams } from '../../src/shared/types';
import { AppError } from '../../src/shared/errors';
import { PARITY } from '../helpers/bundles';

const FIX = path.resolve(import.meta.dirname, '..', '..', 'fixtures', 'safety-checker');
interface ByAdj { cos: number[]; specialCos: number[]; conceptScores: number[]; specialScores: number[]; specialCare: boolean; hasNsfw: boolean; hasNsfwForward: boolean; forwardResult: { concept_scores: Record<string, number>; special_scores: Record<string, number> } }
interface Rec { id: string; file: string; width: number; height: number; clipInput: string; byAdjustment: Record<string, ByAdj> }
const expected = JSON.parse(readFileSync(path.join(FIX, 'expected.json'), 'utf8')) as { images: Rec[]; adjustments: number[]; design: Record<string, string | string[]> };
const image = (r: Rec) => decodePng(readFileSync(path.join(FIX, r.file)));
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('CLIP preprocessing (transformers CLIPImageProcessor through PIL)', () => {
  const cfg = parsePreprocessorConfig(JSON.parse(readFileSync(path.join(FIX, 'preprocessor_config.json'), 'utf8')), 'preprocessor_config.json');
  for (const r of expected.images) {
    it(`${r.id} (${r.width}×${r.height}) gives the same clip_input`, () => {
      const img = image(r);
      const px = clipPixelValues(img.rgba, img.width, img.height, cfg);
      const ref = readNpy(new Uint8Array(readFileSync(path.join(FIX, r.clipInput))));
      expect(ref.shape).toEqual([1, 3, px.height, px.width]);
      expect(maxAbs(px.data, ref.data as Float32Array)).toBeLessThanOrEqual(1e-6);
    });
  }
  it('reads the legacy SD1.5 feature_extractor form and refuses bad configs with the field named', () => {
    const legacy = parsePreprocessorConfig({ crop_size: 224, do_center_crop: true, do_normalize: true, do_resize: true, feature_extractor_type: 'CLIPFeatureExtractor', resample: 3, size: 224 }, 'f.json');
    expect(legacy).toMatchObject({ resize: { shortestEdge: 224 }, crop: { height: 224, width: 224 }, rescale: 1 / 255 });
    expect(() => parsePreprocessorConfig({ resample: 1 }, 'f.json')).toThrow(/f\.json resample 1 is not supported/);
    expect(() => parsePreprocessorConfig({ size: { shortest_edge: 0 } }, 'f.json')).toThrow(/size\.shortest_edge/);
    expect(() => parsePreprocessorConfig({ image_std: [1, 0, 1] }, 'f.json')).toThrow(/image_std/);
  });
});

describe("per-concept scores from the Optimum graph equal diffusers'", () => {
  let checker: ImageChecker;
  beforeAll(async () => {
    const reader = fsReader(FIX);
    checker = await loadImageChecker(nodeRuntime(), reader, { model: { path: 'model.onnx' }, config: 'preprocessor_config.json' });
  });
  afterAll(() => checker?.release());

  it('finds the score tensors behind has_nsfw_concepts', () => {
    const g = readCheckerGraph(new Uint8Array(readFileSync(path.join(FIX, 'model.onnx'))));
    expect(g.outputs).toEqual(['out_images', 'has_nsfw_concepts']);
    const t = findScoreTensors(g, 'model.onnx');
    expect(t.concept).not.toBe(t.special);
  });

  const worst = { score: 0, special: 0 };
  for (const r of expected.images) {
    for (const a of expected.adjustments) {
      it(`${r.id} at adjustment ${a}`, async () => {
        const ref = r.byAdjustment[String(a)];
        const img = image(r);
        const s = await checker.check(img.rgba, img.width, img.height, a);
        const ds = maxAbs(s.scores, ref.conceptScores);
        const dsp = maxAbs(s.specialScores, ref.specialScores);
        worst.score = Math.max(worst.score, ds);
        worst.special = Math.max(worst.special, dsp);
        expect(ds).toBeLessThanOrEqual(1e-4);
        expect(dsp).toBeLessThanOrEqual(1e-4);
        expect(s.flagged).toBe(ref.hasNsfw);
        expect(s.flagged).toBe(ref.hasNsfwForward);
        expect(s.specialCare).toBe(ref.specialCare);
        // diffusers' forward() rounds its scores to 3 decimals
        expect(maxAbs(s.scores, Object.values(ref.forwardResult.concept_scores))).toBeLessThanOrEqual(5e-4 + 1e-4);
      });
    }
  }
  afterAll(() => console.log(`safety checker: max |score − diffusers| = ${worst.score.toExponential(2)} (concepts), ${worst.special.toExponential(2)} (special)`));

  it('the fixture exercises each branch: flagged, flagged only by special care, special care alone, stricter-only', async () => {
    const byId = (id: string) => expected.images.find((r) => r.id === id)!;
    const run = async (id: string, a: number) => {
      const img = image(byId(id));
      return checker.check(img.rgba, img.width, img.height, a);
    };
    const d = expected.design as { flagged: string[]; flaggedOnlyBySpecialCare: string; specialCareButClean: string; flaggedOnlyWhenStricter: string };
    for (const id of d.flagged) expect((await run(id, 0)).flagged).toBe(true);
    const c = await run(d.flaggedOnlyBySpecialCare, 0);
    expect(c).toMatchObject({ flagged: true, specialCare: true });
    expect(Math.max(...c.scores)).toBeLessThan(0.01); // without the +0.01 it would be clean
    expect(await run(d.specialCareButClean, 0)).toMatchObject({ flagged: false, specialCare: true });
    expect((await run(d.flaggedOnlyWhenStricter, 0)).flagged).toBe(false);
    expect((await run(d.flaggedOnlyWhenStricter, 0.05)).flagged).toBe(true);
  });

  it('adjustment is monotone: a larger one never un-flags an image, and shifts every score', async () => {
    for (const r of expected.images) {
      const img = image(r);
      const base = await checker.check(img.rgba, img.width, img.height, 0);
      let prev = base.flagged;
      for (const a of [0.02, 0.05, 0.1, 0.3]) {
        const s = await checker.check(img.rgba, img.width, img.height, a);
        if (prev) expect(s.flagged).toBe(true);
        prev = s.flagged;
        s.specialScores.forEach((x, i) => expect(x - base.specialScores[i]).toBeCloseTo(a, 6));
        s.scores.forEach((x, i) => expect(x - base.scores[i]).toBeGreaterThanOrEqual(a - 1e-6));
      }
      expect((await checker.check(img.rgba, img.width, img.height, 1)).flagged).toBe(true);
    }
    const img = image(expected.images[0]);
    await expect(checker.check(img.rgba, img.width, img.height, Number.NaN)).rejects.toThrow(/adjustment/);
  });
});

describe('scoresAt', () => {
  it('recomputes special care for the new adjustment and refuses a graph whose verdict contradicts its scores', () => {
    // graph at adjustment 0: special care off, concept −0.02 → at +0.015 special care turns on: −0.02+0.015+0.01 > 0
    const s = scoresAt([-0.02, -0.5], [-0.01], false, 0.015);
    expect(s.specialCare).toBe(true);
    expect(s.scores[0]).toBeCloseTo(0.005, 9);
    expect(s.flagged).toBe(true);
    // graph had special care on (+0.01 included); a negative adjustment turns it off and removes the bump
    const t = scoresAt([0.005, -0.5], [0.002], true, -0.003);
    expect(t.specialCare).toBe(false);
    expect(t.scores[0]).toBeCloseTo(0.005 - 0.01 - 0.003, 9);
    expect(t.flagged).toBe(false);
    expect(() => scoresAt([0.1], [-1], false, 0)).toThrow(AppError);
  });
});

describe('blur', () => {
  it('removes high-frequency detail and keeps the mean colour', () => {
    const w = 64, h = 48;
    const rgba = new Uint8ClampedArray(w * h * 4);
    for (let i = 0; i < w * h; i++) {
      const v = ((i % w) + Math.floor(i / w)) % 2 ? 255 : 0;
      rgba.set([v, 255 - v, 128, 255], i * 4);
    }
    const before = hf(rgba, w, h);
    const out = blurRgba(Uint8ClampedArray.from(rgba), w, h);
    expect(hf(out, w, h)).toBeLessThan(before * 0.02);
    const mean = (a: Uint8ClampedArray) => a.reduce((s, x, i) => (i % 4 === 0 ? s + x : s), 0) / (w * h);
    expect(Math.abs(mean(out) - mean(rgba))).toBeLessThan(2);
    for (let i = 3; i < out.length; i += 4) expect(out[i]).toBe(255);
  });
});

/** Mean absolute difference between horizontal and vertical neighbours (RGB): high-frequency energy. */
export function hf(rgba: ArrayLike<number>, w: number, h: number): number {
  let s = 0, n = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        const i = (y * w + x) * 4 + c;
        if (x + 1 < w) { s += Math.abs(rgba[i] - rgba[i + 4]); n++; }
        if (y + 1 < h) { s += Math.abs(rgba[i] - rgba[i + w * 4]); n++; }
      }
    }
  }
  return s / n;
}

describe('in the pipeline (demo bundle built into a temp folder)', () => {
  let dir: string;
  const engine = nodeEngine();
  const base: GenerateParams = { prompt: 'a photo of a cat', seed: 3, steps: 3, scheduler: 'euler', guidance: 7.5, width: 64, height: 64 };
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'psa-checker-'));
    buildBundles({ outDir: dir, bundles: ['demo'] });
    await engine.load({ url: path.join(dir, 'demo'), backend: 'cpu' });
  });
  afterAll(async () => {
    await engine.unload();
    rmSync(dir, { recursive: true, force: true });
  });

  it('blurs iff flagged and blur is set; scores ride along; no check → no imageCheck', async () => {
    const plain = await engine.generate('p', base);
    expect(plain.imageCheck).toBeUndefined();
    const probe = await engine.generate('q', { ...base, imageCheck: { adjustment: 0, blur: true } });
    expect(probe.imageCheck!.scores).toHaveLength(17);
    expect(probe.imageCheck!.specialScores).toHaveLength(3);
    // Choose adjustments that put this image on either side of the line.
    const top = Math.max(...probe.imageCheck!.scores);
    const flagAt = -top + 0.05;
    const cleanAt = -top - 0.05;
    const flaggedBlur = await engine.generate('f', { ...base, imageCheck: { adjustment: flagAt, blur: true } });
    expect(flaggedBlur.imageCheck).toMatchObject({ flagged: true, blurred: true });
    expect(Buffer.from(flaggedBlur.rgba).equals(Buffer.from(plain.rgba))).toBe(false);
    expect(Buffer.from(flaggedBlur.rgba).equals(Buffer.from(blurRgba(Uint8ClampedArray.from(plain.rgba), 64, 64)))).toBe(true);
    expect(hf(flaggedBlur.rgba, 64, 64)).toBeLessThan(hf(plain.rgba, 64, 64) * 0.3);
    const flaggedNoBlur = await engine.generate('g', { ...base, imageCheck: { adjustment: flagAt, blur: false } });
    expect(flaggedNoBlur.imageCheck).toMatchObject({ flagged: true, blurred: false });
    expect(Buffer.from(flaggedNoBlur.rgba).equals(Buffer.from(plain.rgba))).toBe(true);
    const clean = await engine.generate('c', { ...base, imageCheck: { adjustment: cleanAt, blur: true } });
    expect(clean.imageCheck).toMatchObject({ flagged: false, blurred: false });
    expect(Buffer.from(clean.rgba).equals(Buffer.from(plain.rgba))).toBe(true);
  });
});

describe('finding the checker in a bundle', () => {
  it('an Optimum export folder: safety_checker/model.onnx + feature_extractor/preprocessor_config.json', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'psa-optimum-'));
    try {
      cpSync(path.join(PARITY, 'bundle'), dir, { recursive: true });
      const reader = fsReader(dir);
      const order = ['fp32'] as const;
      expect(await locateChecker(reader, await resolveBundle(reader), order)).toBeUndefined();
      mkdirSync(path.join(dir, 'safety_checker'));
      mkdirSync(path.join(dir, 'feature_extractor'));
      cpSync(path.join(FIX, 'model.onnx'), path.join(dir, 'safety_checker', 'model.onnx'));
      await expect(locateChecker(reader, await resolveBundle(reader), order)).rejects.toThrow(/no preprocessor_config\.json/);
      cpSync(path.join(FIX, 'preprocessor_config.json'), path.join(dir, 'feature_extractor', 'preprocessor_config.json'));
      const lazy = lazyImageChecker(nodeRuntime(), reader, await resolveBundle(reader), order);
      const c = await lazy.get();
      expect(c?.file).toBe('safety_checker/model.onnx');
      const r = expected.images[0];
      const img = image(r);
      expect((await c!.check(img.rgba, img.width, img.height, 0)).flagged).toBe(r.byAdjustment['0'].hasNsfw);
      await lazy.release();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a graph without the forward_onnx structure is refused, naming the file', () => {
    const g = readCheckerGraph(new Uint8Array(readFileSync(path.join(FIX, 'model.onnx'))));
    const cut = { ...g, nodes: g.nodes.filter((n) => n.op !== 'Greater') };
    expect(() => findScoreTensors(cut, 'safety_checker/model.onnx')).toThrow(/safety_checker\/model\.onnx: no score comparison/);
    expect(() => findScoreTensors({ ...g, outputs: ['out_images'] }, 'x.onnx')).toThrow(/no output `has_nsfw_concepts`/);
  });
});
