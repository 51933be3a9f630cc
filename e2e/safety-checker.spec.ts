// The image stage in Chromium (WASM, then WebGPU): a flagged image never reaches the page unblurred. Every message the engine
// worker posts is recorded on the page (an init script listens on each Worker before the app does), and compared
// with the unblurred image the Node engine makes from the same request: the posted pixels are the blurred ones
// (high-frequency energy collapses), and no message carries the original. A request the checker passes arrives
// untouched. The checker's verdict is steered with `adjustment`, from scores measured in Node on the same image.
import path from 'node:path';
import { test, expect, type Page } from '@playwright/test';
import { nodeEngine } from '../src/engine/node-host';
import { blurRgba } from '../src/engine/image-check/blur';
import type { GenerateParams, GenerateResult } from '../src/shared/types';
import type { HarnessResult, JsonParams } from './engine';
import { openEngine, pixelDiff, ROOT } from './helpers';

test.describe.configure({ mode: 'serial' });

interface Posted { type: string; imageCheck?: GenerateResult['imageCheck']; rgba?: number[]; preview?: boolean }
declare global {
  interface Window {
    __posted?: Posted[];
  }
}

const base: JsonParams = { prompt: 'a photo of a cat', seed: 5, steps: 4, scheduler: 'euler', guidance: 7.5, width: 64, height: 64 };
let page: Page;
let unblurred: Uint8ClampedArray;
let top: number;

/** Mean absolute difference between neighbouring pixels (RGB): high-frequency energy. */
function hf(rgba: ArrayLike<number>, w: number, h: number): number {
  let s = 0;
  let n = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        const i = (y * w + x) * 4 + c;
        if (x + 1 < w) (s += Math.abs(rgba[i] - rgba[i + 4])), n++;
        if (y + 1 < h) (s += Math.abs(rgba[i] - rgba[i + w * 4])), n++;
      }
    }
  }
  return s / n;
}

test.beforeAll(async ({ browser }) => {
  // The reference, in Node: the same request without blur, and where its top concept score lies.
  const engine = nodeEngine();
  await engine.load({ url: path.join(ROOT, 'public', 'models', 'demo'), backend: 'cpu' });
  const r = await engine.generate('ref', { ...(base as GenerateParams), imageCheck: { adjustment: 0, blur: false } });
  await engine.unload();
  expect(r.imageCheck, 'the demo bundle must ship the safety checker (npm run models:tiny)').toBeDefined();
  unblurred = r.rgba;
  top = Math.max(...r.imageCheck!.scores);

  page = await browser.newPage();
  await page.addInitScript(() => {
    window.__posted = [];
    const Original = window.Worker;
    window.Worker = class extends Original {
      constructor(url: string | URL, options?: WorkerOptions) {
        super(url, options);
        // Registered before the app's own handler: sees every message exactly as the worker posted it.
        this.addEventListener('message', (e: MessageEvent) => {
          const d = e.data as { type?: string; result?: GenerateResult; info?: { preview?: unknown } };
          if (d?.type === 'generated') window.__posted!.push({ type: d.type, imageCheck: d.result!.imageCheck, rgba: Array.from(d.result!.rgba) });
          else if (d?.type === 'step') window.__posted!.push({ type: d.type, preview: !!d.info?.preview });
        });
      }
    };
  });
  await openEngine(page);
  const info = await page.evaluate(() => window.__engine!.load({ url: '/models/demo/', backend: 'wasm' }));
  if ('error' in info) throw new Error(`load failed: ${info.error.code}: ${info.error.message}`);
});
test.afterAll(() => page?.close());

async function generateAndCollect(p: JsonParams): Promise<Posted[]> {
  await page.evaluate(() => (window.__posted = []));
  const r = (await page.evaluate((x) => window.__engine!.generate(x), p)) as HarnessResult;
  if (!r.ok) throw new Error(`generation failed: ${r.error.code}: ${r.error.message}`);
  return page.evaluate(() => window.__posted!);
}

test('a flagged image reaches the page only blurred (blur set)', async () => {
  const posted = await generateAndCollect({ ...base, imageCheck: { adjustment: -top + 0.05, blur: true } });
  const done = posted.filter((m) => m.type === 'generated');
  expect(done).toHaveLength(1);
  expect(posted.filter((m) => m.type === 'step' && m.preview)).toHaveLength(0); // no preview carried pixels either
  const got = done[0];
  expect(got.imageCheck).toMatchObject({ flagged: true, blurred: true });
  expect(got.imageCheck!.scores).toHaveLength(17);
  // Not the original: far from it, smooth, and (up to WASM-vs-CPU rounding before the blur) its blur.
  expect(pixelDiff(got.rgba!, unblurred).mean).toBeGreaterThan(5);
  expect(hf(got.rgba!, 64, 64)).toBeLessThan(0.3 * hf(unblurred, 64, 64));
  expect(pixelDiff(got.rgba!, blurRgba(Uint8ClampedArray.from(unblurred), 64, 64)).max).toBeLessThanOrEqual(2);
});

test('an image the checker passes arrives untouched; a flag without blur is reported, not blurred', async () => {
  const clean = (await generateAndCollect({ ...base, imageCheck: { adjustment: -top - 0.05, blur: true } })).find((m) => m.type === 'generated')!;
  expect(clean.imageCheck).toMatchObject({ flagged: false, blurred: false });
  expect(pixelDiff(clean.rgba!, unblurred).max).toBeLessThanOrEqual(1);
  const noBlur = (await generateAndCollect({ ...base, imageCheck: { adjustment: -top + 0.05, blur: false } })).find((m) => m.type === 'generated')!;
  expect(noBlur.imageCheck).toMatchObject({ flagged: true, blurred: false });
  expect(pixelDiff(noBlur.rgba!, unblurred).max).toBeLessThanOrEqual(1);
});

test('WebGPU: the checker runs there too and a flagged image is posted blurred', async () => {
  const info = await page.evaluate(() => window.__engine!.load({ url: '/models/demo/', backend: 'webgpu' }));
  if ('error' in info) throw new Error(`load failed: ${info.error.code}: ${info.error.message}`);
  expect(info.backend).toBe('webgpu');
  const got = (await generateAndCollect({ ...base, imageCheck: { adjustment: -top + 0.05, blur: true } })).find((m) => m.type === 'generated')!;
  expect(got.imageCheck).toMatchObject({ flagged: true, blurred: true });
  expect(hf(got.rgba!, 64, 64)).toBeLessThan(0.3 * hf(unblurred, 64, 64));
  expect(pixelDiff(got.rgba!, blurRgba(Uint8ClampedArray.from(unblurred), 64, 64)).max).toBeLessThanOrEqual(2);
});
