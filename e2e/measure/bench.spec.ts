// The browser half of `npm run bench` (scripts/bench.ts runs it; never part of `npm test`): the engine in Chromium
// through the real worker protocol (engine-harness.html, a PSA_HARNESS=1 build), per backend (WASM; WebGPU on
// whatever adapter Chromium gives, SwiftShader here), on the tiny PSA demo bundle against its plain twin:
// - load time and the cold first image in a fresh page (new worker, new ORT sessions), then warm-ups and timed runs;
// - ms per step as the difference of whole-image times, (T(N steps) − T(2 steps)) / (N − 2): on WebGPU session.run
//   returns once work is queued, and the GPU finishes it only when the image is read back, so per-run sums of
//   session.run undercount there (the same reason e2e/engine.spec.ts measures that way);
// - the PSA cost as that per-step time, PSA bundle / plain bundle; GPU buffers mapped for reading inside the loop
//   (gpuMapReads, WebGPU); U-Net calls and batch per step with CFG and with SLD.
// Env: PSA_BENCH_OUT (JSON file written after each backend; default .tmp/bench-browser.json), PSA_BENCH_BACKENDS
// (default "wasm,webgpu"), PSA_BENCH_STEPS (default 20), PSA_BENCH_REPEATS (timed runs per case, default 5).
// Asserts only that the images came out, never a time.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import type { BackendResult } from '../../scripts/bench/schema';
import { cv, median } from '../../scripts/bench/stats';
import { DIFFUSERS_SAFETY_CONCEPT, sldParams } from '../../src/safety/sld';
import type { HarnessResult, JsonParams } from '../engine';
import { openEngine, ROOT } from '../helpers';

const OUT = process.env.PSA_BENCH_OUT ?? path.join(ROOT, '.tmp', 'bench-browser.json');
const BACKENDS = (process.env.PSA_BENCH_BACKENDS ?? 'wasm,webgpu').split(',').filter(Boolean) as ('wasm' | 'webgpu')[];
const STEPS = Number(process.env.PSA_BENCH_STEPS ?? 20);
const SHORT = 2;
const REPEATS = Number(process.env.PSA_BENCH_REPEATS ?? 5);
const WARMUP = 1;

test.describe.configure({ mode: 'serial' });

type Ok = Extract<HarnessResult, { ok: true }>;
const params = (steps: number, extra: Partial<JsonParams> = {}): JsonParams => ({
  prompt: 'a photo of a cat on a windowsill', negativePrompt: 'blurry', seed: 42, steps, scheduler: 'euler', guidance: 7.5, width: 64, height: 64, ...extra,
});

async function gen(page: Page, p: JsonParams): Promise<Ok> {
  const r = (await page.evaluate((x) => window.__engine!.generate(x), p)) as HarnessResult;
  if (!r.ok) throw new Error(`generation failed: ${r.error.code}: ${r.error.message}`);
  expect(r.rgba.length).toBe(r.width * r.height * 4);
  return r;
}

async function load(page: Page, url: string, backend: 'wasm' | 'webgpu'): Promise<number> {
  const t0 = Date.now();
  const r = await page.evaluate((o) => window.__engine!.load(o), { url, backend });
  if ('error' in r) throw new Error(`load of ${url} on ${backend} failed: ${r.error.code}: ${r.error.message}`);
  expect(r.backend).toBe(backend);
  return Date.now() - t0;
}

/** Timed runs of one bundle: N-step and 2-step images, alternating, after the warm-ups. */
async function timed(page: Page): Promise<{ long: Ok[]; short: Ok[] }> {
  for (let i = 0; i < WARMUP; i++) await gen(page, params(STEPS));
  const long: Ok[] = [];
  const short: Ok[] = [];
  for (let i = 0; i < REPEATS; i++) {
    long.push(await gen(page, params(STEPS)));
    short.push(await gen(page, params(SHORT)));
  }
  return { long, short };
}

const perStep = (x: { long: Ok[]; short: Ok[] }) => (median(x.long.map((r) => r.timings.totalMs)) - median(x.short.map((r) => r.timings.totalMs))) / (STEPS - SHORT);

function save(update: (all: Record<string, unknown>) => void): void {
  mkdirSync(path.dirname(OUT), { recursive: true });
  const all = existsSync(OUT) ? JSON.parse(readFileSync(OUT, 'utf8')) : {};
  update(all);
  writeFileSync(OUT, JSON.stringify(all, null, 1));
}

test.beforeAll(({ browser }) => save((all) => {
  for (const k of Object.keys(all)) delete all[k];
  all.chromium_version = browser.version();
}));

for (const backend of BACKENDS) {
  test(`${backend}: load, cold and warm images, per-step cost, PSA cost, readbacks, U-Net calls`, async ({ browser }) => {
    const page = await browser.newPage();
    try {
      await openEngine(page);
      if (backend === 'webgpu') {
        const caps = await page.evaluate(() => window.__engine!.detect());
        if (!caps.webgpu) {
          // Recorded as skipped with the reason (bench-results.json's `skipped`), never silently absent.
          const why = `no usable WebGPU in this Chromium: ${caps.webgpuReason ?? 'no reason given'}`;
          save((all) => {
            const skipped = (all.skipped ??= {}) as Record<string, string>;
            skipped[backend] = why;
          });
          test.skip(true, why);
        }
        save((all) => {
          all.adapter = caps.adapter ?? null;
        });
      }
      const loadMs = await load(page, '/models/demo/', backend);
      const cold = await gen(page, params(STEPS));
      const psa = await timed(page);
      const sld = await gen(page, params(STEPS, { sld: sldParams('medium', DIFFUSERS_SAFETY_CONCEPT) }));
      await load(page, '/models/demo-plain/', backend);
      const plain = await timed(page);

      const long = psa.long;
      const last = long.at(-1)!;
      const warm = median(long.map((r) => r.timings.totalMs));
      const loopReads = backend === 'webgpu' ? (last.gpuMapReads ? last.gpuMapReads.loop : last.readbacks - 1) : last.readbacks;
      const adapter = backend === 'webgpu' ? (await page.evaluate(() => window.__engine!.detect())).adapter : undefined;
      const result: BackendResult = {
        overhead_ratio: warm / median(long.map((r) => r.timings.sessionRunMs)),
        readbacks_per_step: loopReads / STEPS,
        unet_calls_per_step: (last.unet?.calls ?? NaN) / STEPS,
        unet_batch: last.unet?.batch ?? NaN,
        sld_unet_calls_per_step: (sld.unet?.calls ?? NaN) / STEPS,
        sld_unet_batch: sld.unet?.batch ?? NaN,
        psa_overhead_ratio: perStep(psa) / perStep(plain),
        warm_speedup: cold.timings.totalMs / warm,
        ms_per_step: perStep(psa),
        first_image_ms: loadMs + cold.timings.totalMs,
        load_ms: loadMs,
        cold_image_ms: cold.timings.totalMs,
        warm_image_ms: warm,
        noise_cv: cv(long.map((r) => r.timings.totalMs)),
        runs: long.length,
        steps: STEPS,
        device: backend === 'webgpu' ? `onnxruntime-web WebGPU EP on ${[adapter?.vendor, adapter?.architecture, adapter?.description].filter(Boolean).join(' ') || 'an unnamed adapter'}` : 'onnxruntime-web WASM EP',
      };
      console.log(`bench ${backend}: ${JSON.stringify(result)}`);
      save((all) => {
        const b = (all.backends ??= {}) as Record<string, unknown>;
        b[backend] = result;
      });
    } finally {
      await page.close();
    }
  });
}
