// The engine in headless Chromium through the real worker protocol: WebGPU (SwiftShader) and WASM agree with each
// other and with the Node CLI; runs repeat exactly; the WebGPU loop reads back once per image; cancel and busy
// behave; the int8 U-Net runs on WebGPU. Measured timings go to .tmp/measurements.json.
// Every load names its backend: `auto` takes WASM on this machine's software GPU (SwiftShader), and these tests are
// about the WebGPU path as much as the WASM one. Waits inside page.evaluate are bounded by the per-test timeout.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, expect, type Page } from '@playwright/test';
import { decodePng } from '../scripts/lib/png';
import { runCli } from '../tests/helpers/cli';
import type { HarnessResult, JsonParams } from './engine';
import { openEngine, pixelDiff, record } from './helpers';

test.describe.configure({ mode: 'serial' });

const params: JsonParams = { prompt: 'a photo of a cat', negativePrompt: 'blurry', seed: 11, steps: 6, scheduler: 'euler-ancestral', guidance: 7.5, width: 64, height: 64 };
let page: Page;

const gen = (p: JsonParams, opts?: { cancelAtStep?: number }) => page.evaluate(([a, b]) => window.__engine!.generate(a, b), [p, opts] as const) as Promise<HarnessResult>;
const load = async (o: Parameters<NonNullable<Window['__engine']>['load']>[0]) => {
  const r = await page.evaluate((x) => window.__engine!.load(x), o);
  if ('error' in r) throw new Error(`load failed: ${r.error.code}: ${r.error.message}`);
  return r;
};
const ok = (r: HarnessResult) => {
  if (!r.ok) throw new Error(`generation failed: ${r.error.code}: ${r.error.message}`);
  return r;
};

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  await openEngine(page);
});
test.afterAll(() => page?.close());

const results: Record<string, Extract<HarnessResult, { ok: true }>> = {};

test('WebGPU: generates, repeats exactly, reads back once per image (previews off)', async () => {
  const caps = await page.evaluate(() => window.__engine!.detect());
  expect(caps.webgpu).toBe(true);
  // SwiftShader is a software GPU: `auto` would take WASM, so WebGPU is asked for by name below.
  expect(caps).toMatchObject({ preferred: 'wasm', preferredReason: expect.stringMatching(/software GPU/) });
  const info = await load({ url: '/models/demo/', backend: 'webgpu' });
  expect(info).toMatchObject({ backend: 'webgpu', psa: true });
  const a = ok(await gen(params));
  const b = ok(await gen(params));
  expect(a.backend).toBe('webgpu');
  expect(b.rgba).toEqual(a.rgba);
  expect(a.steps.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6]);
  expect(a.readbacks).toBe(1);
  // Measured in the worker: GPU buffers mapped for reading (by us or inside ORT) while making this image.
  // The loop reads nothing, decoding reads the image once; ORT itself reads the text encoder's 16-byte pooler
  // index (ArgMax → CPU-placed Gather) even though only last_hidden_state is fetched.
  expect(a.gpuMapReads).toEqual({ text: expect.any(Number), loop: 0, decode: 1 });
  expect(a.gpuMapReads!.text).toBeLessThanOrEqual(1);
  record('gpuMapReadsPerImage', a.gpuMapReads);
  const withPreviews = ok(await gen({ ...params, previewEveryMs: 1 }));
  expect(withPreviews.previews).toBeGreaterThan(0);
  expect(withPreviews.readbacks).toBe(1 + withPreviews.previews);
  expect(withPreviews.gpuMapReads!.loop).toBe(withPreviews.previews);
  expect(withPreviews.rgba).toEqual(a.rgba);
  results.webgpu = a;
  results.webgpuLatents = ok(await gen({ ...params, returnLatents: true }));
});

test('WASM: same image as WebGPU, and the Node CLI agrees with both', async () => {
  await load({ url: '/models/demo/', backend: 'wasm' });
  const w = ok(await gen(params));
  expect(w.backend).toBe('wasm');
  results.wasm = w;
  // The device-resident loop (WebGPU: step kernel) against the CPU reference loop (WASM: scheduler.step in JS).
  const wl = ok(await gen({ ...params, returnLatents: true }));
  const g = results.webgpuLatents.latents!;
  let num = 0;
  let den = 0;
  for (let i = 0; i < g.length; i++) {
    num = Math.max(num, Math.abs(g[i] - wl.latents![i]));
    den = Math.max(den, Math.abs(wl.latents![i]));
  }
  record('latentsWebgpuKernelVsWasmReference', { maxAbs: num, rel: num / den });
  expect(num / den).toBeLessThan(1e-4);
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-cli-')), 'cli.png');
  const cli = runCli(['--prompt', params.prompt, '--negative', params.negativePrompt!, '--seed', String(params.seed), '--steps', String(params.steps),
    '--scheduler', params.scheduler, '--cfg', String(params.guidance), '--out', out]);
  expect(cli.code, cli.stderr).toBe(0);
  const node = decodePng(fs.readFileSync(out)).rgba;
  const d = { webgpuVsWasm: pixelDiff(results.webgpu.rgba, w.rgba), webgpuVsNode: pixelDiff(results.webgpu.rgba, node), wasmVsNode: pixelDiff(w.rgba, node) };
  record('backendAgreement', d);
  // Tolerance: at most 1 level per channel (fp32 kernels differ in summation order), under 0.05 on average.
  for (const v of Object.values(d)) {
    expect(v.max).toBeLessThanOrEqual(1);
    expect(v.mean).toBeLessThan(0.05);
  }
});

test('cancel stops within one U-Net call and the engine works afterwards; a second request while busy is refused', async () => {
  await load({ url: '/models/demo/', backend: 'webgpu' });
  const c = await gen({ ...params, steps: 30 }, { cancelAtStep: 2 });
  expect(c.ok).toBe(false);
  if (!c.ok) expect(c.error.code).toBe('CANCELLED');
  expect(c.steps.length).toBeLessThanOrEqual(3);
  const again = ok(await gen(params));
  expect(again.rgba).toEqual(results.webgpu.rgba);
  const codes = await page.evaluate((p) => window.__engine!.concurrent(p), params);
  expect(codes).toEqual(['ok', 'BUSY']);
});

test('a lost GPU device gives a clear error and the engine keeps working', async () => {
  await load({ url: '/models/demo/', backend: 'webgpu' });
  ok(await gen({ ...params, steps: 2 }));
  await page.evaluate(() => window.__engine!.loseDevice());
  const failed = await gen({ ...params, steps: 2 });
  console.log('after device loss:', JSON.stringify(failed.ok ? 'ok' : failed.error));
  expect(failed.ok).toBe(false);
  if (!failed.ok) expect(failed.error.code).toBe('DEVICE_LOST');
  const notices = await page.evaluate(() => window.__engine!.notices());
  console.log('notices:', notices);
  expect(notices.some((n) => n === 'RECOVERED' || n === 'FELL_BACK_TO_WASM')).toBe(true);
  const after = ok(await gen({ ...params, steps: 2 }));
  expect(after.rgba.length).toBe(64 * 64 * 4);
  record('afterDeviceLoss', { backend: after.backend, notices });
});

test('when the GPU is gone for good, the engine falls back to WASM with a notice and keeps working', async ({ browser }) => {
  // Its own page: the simulated failure outlives the worker's WebGPU, and later tests need a healthy one.
  const p2 = await browser.newPage();
  await openEngine(p2);
  const r = await p2.evaluate(() => window.__engine!.load({ url: '/models/demo/', backend: 'webgpu' }));
  expect(r).toMatchObject({ backend: 'webgpu' });
  await p2.evaluate(() => window.__engine!.loseGpu());
  const failed = (await p2.evaluate((x) => window.__engine!.generate(x), { ...params, steps: 2 })) as HarnessResult;
  expect(failed.ok ? 'ok' : failed.error.code).toBe('DEVICE_LOST');
  expect(await p2.evaluate(() => window.__engine!.notices())).toContain('FELL_BACK_TO_WASM');
  const after = ok((await p2.evaluate((x) => window.__engine!.generate(x), { ...params, steps: 2 })) as HarnessResult);
  expect(after.backend).toBe('wasm');
  await p2.close();
});

test('int8 weight-only U-Net runs on WebGPU close to fp32', async () => {
  const info = await load({ url: '/models/demo/', backend: 'webgpu', variant: 'int8' });
  expect(info).toMatchObject({ variants: { unet: 'int8' } });
  const p = { ...params, returnLatents: true };
  const q = ok(await gen(p));
  await load({ url: '/models/demo/', backend: 'webgpu' });
  const f = ok(await gen(p));
  let num = 0;
  let den = 0;
  for (let i = 0; i < f.latents!.length; i++) {
    num = Math.max(num, Math.abs(q.latents![i] - f.latents![i]));
    den = Math.max(den, Math.abs(f.latents![i]));
  }
  const rel = num / den;
  record('int8VsFp32', { latentRelErr: rel, pixels: pixelDiff(q.rgba, f.rgba) });
  expect(rel).toBeGreaterThan(0); // really a different (quantized) model
  expect(rel).toBeLessThan(0.05);
});

test('measures per-step time and pipeline overhead on WebGPU and WASM', async () => {
  // On WebGPU, session.run returns once work is queued; the GPU finishes it when the image is read back. So the
  // honest per-step cost is the difference of whole-image times: (T(10 steps) − T(2 steps)) / 8.
  const m: Record<string, unknown> = {};
  for (const backend of ['webgpu', 'wasm'] as const) {
    await load({ url: '/models/demo/', backend });
    ok(await gen({ ...params, steps: 2 })); // warm-up: shader compilation, allocations
    const short = ok(await gen({ ...params, steps: 2 }));
    const long = ok(await gen({ ...params, steps: 10 }));
    const t = long.timings;
    m[backend] = {
      msPerStep: +((t.totalMs - short.timings.totalMs) / 8).toFixed(2),
      totalMs10Steps: Math.round(t.totalMs),
      sessionRunMs: Math.round(t.sessionRunMs),
      overheadRatio: +(t.totalMs / t.sessionRunMs).toFixed(3),
      readbacks: long.readbacks,
    };
    expect(t.sessionRunMs).toBeGreaterThan(0);
    expect(t.totalMs).toBeGreaterThanOrEqual(t.sessionRunMs);
  }
  record('timings', m);
  console.log(JSON.stringify(m));
});
