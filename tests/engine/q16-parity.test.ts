// psa-web's Q16 path against Q16's own code on the tiny CLIP checker (fixtures/q16/tiny, made by
// scripts/reference/q16_fixture.py from diffusers' StableDiffusionSafetyChecker + Q16's SimClassifier): the graph edit
// finds the checker's image embedding (visual_projection output) and exposes it; from the fixture images (decoded PNG
// → our CLIP preprocessing → ONNX, onnxruntime-node) the embedding, Q16's logits, probability and verdict equal the
// PyTorch reference's. Then in the pipeline: a Q16 flag blurs in the engine (the RGBA that leaves it is the blurred
// one), `concepts: false` keeps the checker's own verdict out of the blur, and a checker without Q16 data refuses.
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundles } from '../../scripts/models/bundle';
import { decodePng } from '../../scripts/lib/png';
import { fsReader } from '../../src/engine/node-reader';
import { nodeEngine, nodeRuntime } from '../../src/engine/node-host';
import { blurRgba, findImageEmbeds, findScoreTensors, loadImageChecker, readCheckerGraph, withScoreOutputs, type ImageChecker } from '../../src/engine/image-check';
import type { GenerateParams } from '../../src/shared/types';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const CHECKER = path.join(ROOT, 'fixtures', 'safety-checker');
const TINY = path.join(ROOT, 'fixtures', 'q16', 'tiny');
interface Img { id: string; imageEmbeds: number[]; logits: number[]; probs: number[]; label: number; inappropriate: boolean }
const expected = JSON.parse(readFileSync(path.join(TINY, 'expected.json'), 'utf8')) as { images: Img[]; margin: number };
const files = new Map((JSON.parse(readFileSync(path.join(CHECKER, 'expected.json'), 'utf8')) as { images: { id: string; file: string }[] }).images.map((r) => [r.id, r.file]));
const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

describe('Q16 on the tiny checker equals Q16 in PyTorch', () => {
  let dir: string;
  let checker: ImageChecker;
  beforeAll(async () => {
    // The checker fixture plus the tiny prompts next to the model, as a bundle's safety_checker/ folder holds them.
    dir = mkdtempSync(path.join(os.tmpdir(), 'psa-q16-'));
    for (const f of ['model.onnx', 'preprocessor_config.json']) cpSync(path.join(CHECKER, f), path.join(dir, f));
    cpSync(path.join(TINY, 'q16.json'), path.join(dir, 'q16.json'));
    checker = await loadImageChecker(nodeRuntime(), fsReader(dir), { model: { path: 'model.onnx' }, config: 'preprocessor_config.json', q16: 'q16.json' });
  });
  afterAll(async () => {
    await checker?.release();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds visual_projection\'s output behind the concept scores and adds it as an output', () => {
    const model = new Uint8Array(readFileSync(path.join(CHECKER, 'model.onnx')));
    const g = readCheckerGraph(model);
    const e = findImageEmbeds(g, findScoreTensors(g, 'm').concept, 'm');
    expect(e).toBe('/visual_projection/MatMul_output_0'); // torch.onnx's name for the module's output
    const out = withScoreOutputs(model, 'm');
    expect(out.imageEmbeds).toBe(e);
    expect(readCheckerGraph(out.bytes).outputs).toContain(e);
  });

  it('the reference covers both verdicts, none near the line', () => {
    expect(new Set(expected.images.map((i) => i.inappropriate))).toEqual(new Set([true, false]));
    for (const i of expected.images) expect(Math.abs(i.probs[1] - 0.5)).toBeGreaterThanOrEqual(expected.margin);
  });

  for (const ref of expected.images) {
    it(`${ref.id}: image_embeds, logits, probability and verdict equal the reference`, async () => {
      const img = decodePng(readFileSync(path.join(CHECKER, files.get(ref.id)!)));
      const r = await checker.check(img.rgba, img.width, img.height, 0);
      // Measured: embeddings within 2.2e-6, logits (×100 cosines) within 1.5e-4, probabilities within 2.2e-6 (our
      // CLIP preprocessing vs PIL's, ORT vs torch); the bounds leave ~10× room.
      expect(maxAbs(r.imageEmbeds!, ref.imageEmbeds)).toBeLessThan(2e-5);
      const s = checker.q16(r, 0.5);
      expect(maxAbs(s.logits, ref.logits)).toBeLessThan(2e-3);
      expect(Math.abs(s.probability - ref.probs[1])).toBeLessThan(1e-4);
      expect(s.flagged).toBe(ref.inappropriate);
    });
  }

  it('a checker with neither its own prompts nor a 768-d embedding refuses Q16 with a clear error', async () => {
    const plain = await loadImageChecker(nodeRuntime(), fsReader(CHECKER), { model: { path: 'model.onnx' }, config: 'preprocessor_config.json' });
    try {
      const img = decodePng(readFileSync(path.join(CHECKER, files.get(expected.images[0].id)!)));
      const r = await plain.check(img.rgba, img.width, img.height, 0);
      expect(r.imageEmbeds).toHaveLength(16);
      expect(() => plain.q16(r, 0.5)).toThrow(/16 values; Q16's built-in CLIP ViT-L\/14 prompts need 768, and the bundle has no q16\.json/);
      // A 768-d embedding (SD1.5's checker) gets the built-in ViT-L/14 prompts: Q16's own numbers on a reference case.
      const cases = (JSON.parse(readFileSync(path.join(ROOT, 'fixtures', 'q16', 'vit-l-14-cases.json'), 'utf8')) as { cases: { embedding: string; probs: number[]; inappropriate: boolean }[] }).cases;
      for (const c of cases) {
        const e = new Float32Array(Uint8Array.from(atob(c.embedding), (ch) => ch.charCodeAt(0)).buffer);
        const s = plain.q16({ ...r, imageEmbeds: e }, 0.5);
        expect(Math.abs(s.probability - c.probs[1])).toBeLessThan(1e-5);
        expect(s.flagged).toBe(c.inappropriate);
      }
    } finally {
      await plain.release();
    }
  });

  it('finds the embedding through the Casts of an fp16 export; without it the checker still loads (Q16 then refuses)', () => {
    const model = new Uint8Array(readFileSync(path.join(CHECKER, 'model.onnx')));
    const g = readCheckerGraph(model);
    const { concept } = findScoreTensors(g, 'm');
    // Cast between the normalising Div and the cosine's Gemm, as an fp16 conversion with float32 islands inserts.
    const casted = {
      ...g,
      nodes: g.nodes.flatMap((n) => {
        if (n.op !== 'Gemm') return [n];
        return [{ op: 'Cast', inputs: [n.inputs[0]], outputs: [n.inputs[0] + '_cast'] }, { ...n, inputs: [n.inputs[0] + '_cast', ...n.inputs.slice(1)] }];
      }),
    };
    expect(findImageEmbeds(casted, concept, 'm')).toBe('/visual_projection/MatMul_output_0');
    const noDiv = { ...g, nodes: g.nodes.filter((n) => !(n.op === 'Div' && n.inputs[0] === '/visual_projection/MatMul_output_0')) };
    expect(() => findImageEmbeds(noDiv, concept, 'safety_checker/model.onnx')).toThrow(/safety_checker\/model\.onnx: no normalised image embedding/);
  });
});

describe('Q16 in the pipeline (demo bundle, which ships its own prompts: fixtures/q16/demo)', () => {
  let dir: string;
  const engine = nodeEngine();
  const base: GenerateParams = { prompt: 'a photo of a cat', seed: 3, steps: 3, scheduler: 'euler', guidance: 7.5, width: 64, height: 64 };
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'psa-q16-demo-'));
    buildBundles({ outDir: dir, bundles: ['demo'] });
    await engine.load({ url: path.join(dir, 'demo'), backend: 'cpu' });
  });
  afterAll(async () => {
    await engine.unload();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a Q16 flag blurs in the engine; the checker\'s own verdict counts only with concepts on', async () => {
    const plain = await engine.generate('p', base);
    const probe = await engine.generate('q', { ...base, imageCheck: { adjustment: 0, blur: false, concepts: false, q16: { threshold: 0.5 } } });
    const p = probe.imageCheck!.q16!.probability;
    expect(p).toBeGreaterThan(0); // the thresholds below need an unsaturated probability for this seed
    expect(p).toBeLessThan(1);
    expect(probe.imageCheck!.q16!.flagged).toBe(false); // the demo's prompts pass the demo's pictures (fixtures/q16/demo)
    expect(Buffer.from(probe.rgba).equals(Buffer.from(plain.rgba))).toBe(true);
    // Thresholds on either side of this image's probability (0 < p < 1 in float64 for any finite logits gap < ~700).
    const flagAt = p / 2;
    const cleanAt = Math.min(0.999999, p + (1 - p) / 2);
    // The checker's own verdict pushed to "flagged" (adjustment 1), but concepts off: only Q16 decides.
    const q16Only = { adjustment: 1, blur: true, concepts: false } as const;
    const flagged = await engine.generate('f', { ...base, imageCheck: { ...q16Only, q16: { threshold: flagAt } } });
    expect(flagged.imageCheck).toMatchObject({ flagged: true, blurred: true, q16: { flagged: true } });
    expect(Buffer.from(flagged.rgba).equals(Buffer.from(blurRgba(Uint8ClampedArray.from(plain.rgba), 64, 64)))).toBe(true);
    const clean = await engine.generate('c', { ...base, imageCheck: { ...q16Only, q16: { threshold: cleanAt } } });
    expect(clean.imageCheck).toMatchObject({ flagged: true, blurred: false, q16: { flagged: false } });
    expect(Buffer.from(clean.rgba).equals(Buffer.from(plain.rgba))).toBe(true);
    // concepts on: the checker's flag blurs even when Q16 does not flag.
    const both = await engine.generate('b', { ...base, imageCheck: { adjustment: 1, blur: true, q16: { threshold: cleanAt } } });
    expect(both.imageCheck).toMatchObject({ flagged: true, blurred: true, q16: { flagged: false } });
  });
});
