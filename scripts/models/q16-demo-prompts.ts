// The demo bundle's Q16 prompts (fixtures/q16/demo/q16.json → the demo's safety_checker/q16.json), chosen once by
// this recorded script:   npx tsx scripts/models/q16-demo-prompts.ts
// Why not the parity prompts (fixtures/q16/tiny): those are random, so Q16 flags about half of the demo's abstract
// pictures, and a child's demo pictures would come out blurred at random. Here the demo's own pictures decide: the
// tiny checker's image embeddings of CALIBRATION pictures (plain and with the child preset's profile embedding,
// several prompts and seeds) are averaged into a direction d; "non inappropriate" = d, "inappropriate" = −d, so Q16
// flags a picture only when its embedding points away from where demo pictures lie. Held-out seeds (HELD_OUT) are
// scored too and reported, with the smallest margin. Tests force a flag through the request's threshold instead
// (e2e/q16.spec.ts); Q16's parity is proved on fixtures/q16/tiny, not here.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildBundles } from './bundle';
import { fsReader } from '../../src/engine/node-reader';
import { nodeEngine, nodeRuntime } from '../../src/engine/node-host';
import { loadImageChecker, parseQ16Prompts, q16Score } from '../../src/engine/image-check';
import { renderEmbeddingText } from '../../src/safety/embedding-text';
import { computePolicy } from '../../src/safety/policy';
import { createProfile, profileToPsaFields } from '../../src/safety/profile';

const OUT = path.resolve(import.meta.dirname, '..', '..', 'fixtures', 'q16', 'demo', 'q16.json');
const PROMPTS = ['a photo of a cat', 'a cat on a sofa', 'a lighthouse at dawn', 'a red bicycle', 'a knife fight in an alley', 'a portrait of a woman', 'a bowl of fruit', 'a dragon over a castle'];
const CALIBRATION = [1, 2, 3, 4, 5];
const HELD_OUT = [42, 7, 11, 100];

const b64 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');

async function main() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'q16-demo-'));
  const engine = nodeEngine();
  try {
    buildBundles({ outDir: dir, bundles: ['demo'] });
    const bundle = path.join(dir, 'demo');
    const info = await engine.load({ url: bundle, backend: 'cpu' });
    const child = createProfile('child', { id: 'child', now: 0 });
    const emb = (await engine.embed('e', renderEmbeddingText(info.profileEncoder!.template, profileToPsaFields(child, computePolicy(child))))).embedding;
    const checker = await loadImageChecker(nodeRuntime(), fsReader(bundle), { model: { path: 'safety_checker/model.onnx' }, config: 'feature_extractor/preprocessor_config.json' });
    const { width, height } = info.defaultSize;
    const embed = async (seeds: number[]) => {
      const out: Float32Array[] = [];
      for (const seed of seeds) {
        for (const prompt of PROMPTS) {
          for (const userEmbedding of [undefined, emb]) {
            const r = await engine.generate('g', { prompt, seed, steps: 8, guidance: 7.5, scheduler: info.defaultScheduler, width, height, ...(userEmbedding ? { userEmbedding } : {}) });
            const e = (await checker.check(r.rgba, r.width, r.height, 0)).imageEmbeds!;
            const n = Math.hypot(...e);
            out.push(e.map((x) => x / n));
          }
        }
      }
      return out;
    };
    const cal = await embed(CALIBRATION);
    const dim = cal[0].length;
    const d = new Float32Array(dim);
    for (const e of cal) for (let i = 0; i < dim; i++) d[i] += e[i] / cal.length;
    const dn = Math.hypot(...d);
    for (let i = 0; i < dim; i++) d[i] /= dn;
    const data = new Float32Array(2 * dim);
    data.set(d, 0);
    data.set(d.map((x) => -x), dim);
    const file = {
      model: "the tiny safety checker's 16-d image embedding (fixtures/safety-checker), demo bundle only",
      labels: ['non inappropriate', 'inappropriate'], inappropriateIndex: 1, scale: 100, shape: [2, dim], dtype: 'float32-le', data: b64(data),
      source: { repo: 'psa-web (demo prompts, not Q16\'s)', madeBy: 'scripts/models/q16-demo-prompts.ts', prompts: PROMPTS, calibrationSeeds: CALIBRATION, heldOutSeeds: HELD_OUT } as Record<string, unknown>,
    };
    const prompts = parseQ16Prompts(file, 'demo q16.json');
    const held = await embed(HELD_OUT);
    const report = (set: Float32Array[]) => {
      const ps = set.map((e) => q16Score(prompts, e).probability);
      const cos = set.map((e) => e.reduce((s, x, i) => s + x * d[i], 0));
      return { pictures: set.length, flagged: ps.filter((p) => p > 0.5).length, minCosToD: Math.min(...cos), maxProbability: Math.max(...ps) };
    };
    file.source.calibration = report(cal);
    file.source.heldOut = report(held);
    writeFileSync(OUT, JSON.stringify(file, null, 1) + '\n');
    console.log('wrote', OUT, JSON.stringify({ calibration: file.source.calibration, heldOut: file.source.heldOut }));
    await checker.release();
  } finally {
    await engine.unload();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
