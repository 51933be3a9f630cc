// diffusers parity in the browser: the tiny Optimum-layout SD1.5 export (fixtures/parity, served at /__fixtures/)
// loads unchanged and, with diffusers' initial noise, reproduces StableDiffusionPipeline's images on WebGPU and on
// WASM — at most 2 levels per pixel and under 0.1 on average (the bound). Largest differences are recorded.
import fs from 'node:fs';
import path from 'node:path';
import { test, expect, type Page } from '@playwright/test';
import { readNpy } from '../scripts/lib/npy';
import { decodePng } from '../scripts/lib/png';
import type { HarnessResult, JsonParams } from './engine';
import { openEngine, pixelDiff, record, ROOT } from './helpers';

const PARITY = path.join(ROOT, 'fixtures', 'parity');
interface Case { id: string; scheduler: JsonParams['scheduler']; steps: number; guidance: number; prompt: string; negative: string | null; width: number; height: number; latents: string; expected: string }
const cases: Case[] = JSON.parse(fs.readFileSync(path.join(PARITY, 'cases.json'), 'utf8')).cases;

test.describe.configure({ mode: 'serial' });
let page: Page;
test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  await openEngine(page);
});
test.afterAll(() => page?.close());

// WASM (and the CLI, tests/parity) run all 20 cases. SwiftShader runs WebGPU on the CPU ~50x slower than WASM, so
// WebGPU runs every scheduler's 4-step cases plus the worst 12-step one (Euler, whose timesteps are truncated): the
// kernel path of every scheduler is covered while the suite stays inside CI's time on a busy machine.
const WEBGPU_CASES = (c: Case) => c.steps === 4 || c.id === 'euler-12-neg';

for (const backend of ['webgpu', 'wasm'] as const) {
  const chosen = backend === 'webgpu' ? cases.filter(WEBGPU_CASES) : cases;
  test(`diffusers parity on ${backend}: ${chosen.length} of ${cases.length} cases`, async () => {
    test.setTimeout(40 * 60_000); // SwiftShader runs WebGPU on the CPU: ~10 s per image for this U-Net, idle
    const info = await page.evaluate((b) => window.__engine!.load({ url: '/__fixtures/parity/bundle/', backend: b }), backend);
    expect(info).toMatchObject({ layout: 'optimum', backend });
    const worst = { max: 0, mean: 0 };
    const per: Record<string, { max: number; mean: number }> = {};
    for (const c of chosen) {
      const noise = Array.from(readNpy(fs.readFileSync(path.join(PARITY, c.latents))).data);
      const p: JsonParams = { prompt: c.prompt, negativePrompt: c.negative ?? undefined, seed: 0, steps: c.steps, scheduler: c.scheduler, guidance: c.guidance, width: c.width, height: c.height, initialNoise: noise };
      const t0 = Date.now();
      const r = (await page.evaluate((x) => window.__engine!.generate(x), p)) as HarnessResult;
      console.log(`${backend} ${c.id}: ${Date.now() - t0} ms`);
      if (!r.ok) throw new Error(`${c.id}: ${r.error.code} ${r.error.message}`);
      const want = decodePng(fs.readFileSync(path.join(PARITY, c.expected))).rgba;
      const d = pixelDiff(r.rgba, want);
      per[c.id] = d;
      worst.max = Math.max(worst.max, d.max);
      worst.mean = Math.max(worst.mean, d.mean);
      expect.soft(d.max, c.id).toBeLessThanOrEqual(2);
      expect.soft(d.mean, c.id).toBeLessThan(0.1);
    }
    record(`parity-${backend}`, { worst, per });
  });
}
