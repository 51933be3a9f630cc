// Measurement (e2e/measure.config.ts, opt-in with PSA_MEASURE_FULL=1, never in `npm test`): a full-size SD1.5 —
// random weights, real shapes — through the app's real browser path, as a person uses it:
//   /usr/bin/python3 scripts/reference/psa_convert_fixture.py --synthetic-sd15 W/sd15       # ~4 GB export
//   npm run convert -- --sd15 W/sd15 --psa W/sd15/psa_adapter.bin --quantize none,int8,q4 --out W/bundle
//   PSA_MEASURE_FULL=1 PSA_FULL_BUNDLE=W/bundle npx playwright test -c e2e/measure.config.ts e2e/measure/full-size.spec.ts
// Each run: `npm run serve-bundle` (a child process) serves the bundle → a Chromium profile on disk (a persistent
// context: Playwright's own contexts keep OPFS in memory) → the bundle URL typed into the app and Download clicked
// (the app's own installer, into OPFS) → the engine loads it → one 512×512 picture from the form (no profile), on:
//   wasm-auto   the whole bundle; the installer picks the U-Net variant for WASM itself (int8: fp32 does not fit)
//   wasm-q4     a q4-only view of the same bundle (hard links + a manifest listing only the q4 U-Net)
//   webgpu-q4   the q4 view again, WebGPU chosen before the download (SwiftShader here: 1 step, guidance 1, unless
//               asked: PSA_FULL_GUIDANCE_WEBGPU / _WASM, default 1 / 7.5)
// PSA_FULL_RUNS picks runs (comma list, default all); PSA_FULL_STEPS_WASM / PSA_FULL_STEPS_WEBGPU (default 2 / 1; 0 =
// install and load only). PSA_FULL_ORT_BUILD labels a run with the ORT build it ran (the app picks JSPI where it exists: engine/ort-web.ts).
// Recorded per run: install and load seconds, ms per step (the engine's step events), text/denoise/VAE ms (the
// engine's result timings), peak resident memory of the renderer and GPU processes per phase (/proc), the engine
// worker's V8 heap and ArrayBuffer backing (CDP), its WebAssembly memory (all WebAssembly.Memory objects in the
// engine worker, found with CDP Runtime.queryObjects), WebGPU bytes from a createBuffer/destroy ledger in the engine
// worker (the method of engine/embedding/groups-ledger.ts, installed over CDP before the download), and the load
// average at each phase (the machine is shared). Written to bench-full-size.json (PSA_FULL_OUT) — schema in
// writeResult — and .tmp/measurements.json. Asserted: only that each phase finished and the picture is not blank.
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { chromium, expect, test, type BrowserContext, type Page } from '@playwright/test';
import { filesToFetch, restrictVariants, type BundleManifest } from '../../src/shared/bundle';
import { chooseNoProfile, moreOptions, record, ROOT, SLOW } from '../helpers';
import { chromiumRss, flat, heapProbe, mbOf, raise, type Peak } from './probes';
import { serveChild as serve } from './serve-child';
import { goTo } from '../pages/screens';

const BUNDLE = process.env.PSA_FULL_BUNDLE ?? '';
const OUT = process.env.PSA_FULL_OUT ?? path.join(ROOT, 'bench-full-size.json');
const RUNS = (process.env.PSA_FULL_RUNS ?? 'wasm-auto,wasm-q4,webgpu-q4,webgpu-vae').split(',');
const STEPS = { wasm: Number(process.env.PSA_FULL_STEPS_WASM ?? 2), webgpu: Number(process.env.PSA_FULL_STEPS_WEBGPU ?? 1) };
/** Scheduler per backend ('' = the bundle's default, PNDM); DDIM on SwiftShader so 1 step is 1 U-Net evaluation. */
const SCHEDULER = { wasm: process.env.PSA_FULL_SCHEDULER_WASM ?? '', webgpu: process.env.PSA_FULL_SCHEDULER_WEBGPU ?? 'ddim' };
/** Guidance per backend: CFG (7.5, two U-Net rows a step) on WASM; 1 (one row) on SwiftShader, whose 512² U-Net is slow. */
const GUIDANCE = { wasm: Number(process.env.PSA_FULL_GUIDANCE_WASM ?? 7.5), webgpu: Number(process.env.PSA_FULL_GUIDANCE_WEBGPU ?? 1) };
const HOUR = 3_600_000;
const MB = 1e6;

test.describe.configure({ mode: 'serial' });
test.skip(!process.env.PSA_MEASURE_FULL, 'opt-in: PSA_MEASURE_FULL=1 PSA_FULL_BUNDLE=DIR (see the header)');

/** A q4-only view of the bundle next to it: hard links to the files a q4 install fetches, a manifest listing only them. */
function q4View(): string {
  const m = JSON.parse(readFileSync(path.join(BUNDLE, 'manifest.json'), 'utf8')) as BundleManifest;
  if (!m.components.unet.variants.q4) throw new Error(`${BUNDLE} has no q4 U-Net (convert with --quantize none,int8,q4)`);
  const dir = `${BUNDLE.replace(/\/$/, '')}-q4-view`;
  rmSync(dir, { recursive: true, force: true });
  const chosen = Object.fromEntries(Object.entries(m.components).map(([role, e]) => [role, role === 'unet' ? 'q4' : Object.keys(e!.variants)[0]]));
  const view = { ...restrictVariants(m, chosen), version: `${m.version}-q4` };
  for (const f of filesToFetch(m, chosen)) {
    mkdirSync(path.dirname(path.join(dir, f.path)), { recursive: true });
    linkSync(path.join(BUNDLE, f.path), path.join(dir, f.path));
  }
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(view, null, 1));
  return dir;
}

/** Engine worker → page messages worth keeping (steps, load, result timings): recorded on window.__fullSize. */
const RECORDER = () => {
  type Msg = { type?: string; info?: { step?: number; elapsedMs?: number; variants?: unknown; backend?: string }; result?: { timings?: unknown; backend?: string; width?: number; height?: number; unet?: unknown }; error?: unknown };
  const log: { t: number; type: string; v: unknown }[] = [];
  (window as unknown as { __fullSize: typeof log }).__fullSize = log;
  const W = window.Worker;
  window.Worker = class extends W {
    constructor(url: string | URL, o?: WorkerOptions) {
      super(url, o);
      if (!String(o?.name ?? '').includes('engine')) return;
      this.addEventListener('message', (e: MessageEvent<Msg>) => {
        const m = e.data;
        if (m?.type === 'step') log.push({ t: performance.now(), type: 'step', v: { step: m.info?.step, elapsedMs: m.info?.elapsedMs } });
        else if (m?.type === 'loaded') log.push({ t: performance.now(), type: 'loaded', v: m.info });
        else if (m?.type === 'generated') log.push({ t: performance.now(), type: 'generated', v: { timings: m.result?.timings, backend: m.result?.backend, width: m.result?.width, height: m.result?.height, unet: m.result?.unet } });
        else if (m?.type === 'error') log.push({ t: performance.now(), type: 'error', v: m.error });
      });
    }
  } as typeof Worker;
};

/** WebGPU bytes alive / peak in the engine worker: GPUDevice.createBuffer and GPUBuffer.destroy counted. */
const LEDGER = `(() => {
  if (globalThis.__ledger || !globalThis.GPUDevice) return !!globalThis.__ledger;
  const L = globalThis.__ledger = { live: 0, peak: 0, buffers: new Map() };
  const d = GPUDevice.prototype, create = d.createBuffer;
  d.createBuffer = function (desc) { const b = create.call(this, desc); L.buffers.set(b, desc.size); L.live += desc.size; L.peak = Math.max(L.peak, L.live); return b; };
  const b = GPUBuffer.prototype, destroy = b.destroy;
  b.destroy = function () { const s = L.buffers.get(this); if (s !== undefined) { L.buffers.delete(this); L.live -= s; } return destroy.call(this); };
  return true;
})()`;

const ms = (x: number | undefined) => (x === undefined ? null : Math.round(x));
const load = () => loadavg().map((x) => Math.round(x * 100) / 100);

function machine() {
  const lscpu = (() => { try { return execFileSync('lscpu', { encoding: 'utf8' }); } catch { return ''; } })();
  const field = (k: string) => new RegExp(`^${k}:\\s*(.+)$`, 'm').exec(lscpu)?.[1]?.trim();
  let chromiumVersion = '';
  try { chromiumVersion = execFileSync('/usr/bin/chromium', ['--version'], { encoding: 'utf8' }).trim(); } catch { /* none */ }
  return { cpu: field('Model name') ?? cpus()[0]?.model, cpus: Number(field('CPU\\(s\\)') ?? cpus().length), memoryGB: Math.round(totalmem() / 1e8) / 10, chromium: chromiumVersion };
}

/**
 * bench-full-size.json: { schema: 'psa-web/full-size@1', machine: {...}, bundle: {path, version, files: {path: bytes}},
 * runs: { <run>: { backend, unetVariant, steps, width, height, installSecs, installMB, loadSecs, msPerStep[],
 * textMs, denoiseMs, vaeMs, totalMs, wasmMemoryMB, gpuLedgerMB: {peak, liveAfter}, peakMB: {install, load,
 * generate: {renderer, gpu, '<context>.used', '<context>.backing'}}, loadAvg: {install, load, generate}, at } } }.
 * Runs are merged into an existing file, so runs made separately end in one file.
 */
function writeResult(run: string, result: Record<string, unknown>) {
  const prior = existsSync(OUT) ? JSON.parse(readFileSync(OUT, 'utf8')) : {};
  const m = JSON.parse(readFileSync(path.join(BUNDLE, 'manifest.json'), 'utf8')) as BundleManifest;
  const doc = {
    schema: 'psa-web/full-size@1',
    machine: machine(),
    bundle: { path: BUNDLE, id: m.id, version: m.version, files: Object.fromEntries(m.files.map((f) => [f.path, f.bytes])) },
    runs: { ...(prior.runs ?? {}), [run]: { ...result, at: new Date().toISOString() } },
  };
  writeFileSync(OUT, `${JSON.stringify(doc, null, 1)}\n`);
  record(`full_size.${run}`, result);
}

for (const run of RUNS.filter((r) => r !== 'webgpu-vae')) {
  const backend = run.startsWith('webgpu') ? 'webgpu' : 'wasm';
  test(`full-size SD1.5, ${run}: install from URL into OPFS, load, one 512×512 picture`, async () => {
    test.setTimeout(4 * HOUR);
    expect(BUNDLE && existsSync(path.join(BUNDLE, 'manifest.json')), `PSA_FULL_BUNDLE=${BUNDLE} must be a converted bundle`).toBeTruthy();
    const dir = run === 'wasm-auto' ? BUNDLE : q4View();
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as BundleManifest;
    const profile = path.join(path.dirname(BUNDLE), `profile-${run}`);
    rmSync(profile, { recursive: true, force: true });
    const t00 = Date.now();
    const step = (what: string) => console.log(`[full-size ${run}] ${((Date.now() - t00) / 1000).toFixed(1)} s, load ${load().join(' ')}: ${what}`);
    const server = await serve(dir);
    const use = test.info().project.use;
    let ctx: BrowserContext | undefined;
    try {
      // --disable-gpu-watchdog: SwiftShader runs one 512² dispatch (a 4096-token attention MatMul, ~11 GFLOP) for
      // seconds on the shared processor; the flag rules Chromium's GPU watchdog out as the cause of the GPU process's
      // exit during the 512² step (it made no difference: the process dies at ~13 GB resident, README).
      const args = [...(use.launchOptions?.args ?? []), ...(backend === 'webgpu' ? ['--disable-gpu-watchdog'] : [])];
      ctx = await chromium.launchPersistentContext(profile, { ...use.launchOptions, args, baseURL: use.baseURL });
      await ctx.addInitScript(RECORDER);
      const page: Page = ctx.pages()[0] ?? (await ctx.newPage());
      // The page's and its workers' console errors and warnings (WebGPU device loss, ORT warnings) go to the log.
      page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') step(`console.${m.type()}: ${m.text().slice(0, 500)}`); });
      page.on('crash', () => step('the page crashed'));
      const events = () => page.evaluate(() => (window as unknown as { __fullSize: { t: number; type: string; v: unknown }[] }).__fullSize);
      await page.goto('/');
      await chooseNoProfile(page);
      await goTo(page, 'settings'); // the bundle URL field and the backend choice are on the Models and engine screen
      await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
      if (backend === 'webgpu') {
        await page.getByTestId('engine.backend-choice').selectOption('webgpu');
        await expect(page.getByTestId('engine.backend')).toHaveAttribute('data-backend', 'webgpu', { timeout: SLOW });
        await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
      }
      step(`app ready (${backend}), serving ${server.url}`);
      const probe = await heapProbe(page, () => ctx!.newCDPSession(page));
      await probe.sample();
      const ledger = backend === 'webgpu' ? await probe.send<{ result: { value: boolean } }>('psa-engine', 'Runtime.evaluate', { expression: LEDGER, returnByValue: true }) : undefined;
      if (backend === 'webgpu') expect(ledger?.result.value, 'the GPU ledger is installed in the engine worker').toBe(true);

      /** One picture from the form (prompt, seed 7, `steps`): the engine's result timings, step times, pixel range. */
      const generate = async (steps: number) => {
        step(`guidance ${GUIDANCE[backend]}`);
        await page.getByTestId('generate.prompt').fill('a lighthouse on a cliff at dusk, oil painting');
        await moreOptions(page);
        await page.getByTestId('generate.seed').fill('7');
        await page.getByTestId('generate.steps').fill(String(steps));
        await page.getByTestId('generate.guidance').fill(String(GUIDANCE[backend]));
        // '' = the bundle's own (PNDM for SD1.5: steps + 1 U-Net evaluations); ddim/euler: one per step.
        if (SCHEDULER[backend]) await page.getByTestId('generate.scheduler').selectOption(SCHEDULER[backend]);
        const n = Number(await page.getByTestId('result.image').getAttribute('data-result-n'));
        await page.getByTestId('generate.submit').click();
        step(`generating ${steps} step(s)`);
        let seen = 0;
        await expect.poll(async () => {
          const ev = await events();
          const steps = ev.filter((e) => e.type === 'step');
          for (; seen < steps.length; seen++) step(`step event ${JSON.stringify(steps[seen].v)}`);
          return ev.some((e) => e.type === 'generated' || e.type === 'error');
        }, { timeout: 3 * HOUR, intervals: [5_000] }).toBe(true);
        const log = await events();
        const err = log.find((e) => e.type === 'error');
        expect(err, `the engine failed: ${JSON.stringify(err?.v)}`).toBeUndefined();
        await expect.poll(async () => Number(await page.getByTestId('result.image').getAttribute('data-result-n')), { timeout: SLOW }).toBeGreaterThan(n);
        await expect(page.getByTestId('result.image')).toHaveAttribute('data-has-image', 'yes');
        const gen = log.find((e) => e.type === 'generated')!.v as { timings: Record<string, number>; width: number; height: number; backend: string; unet?: unknown };
        const stepTimes = log.filter((e) => e.type === 'step').map((e) => (e.v as { elapsedMs: number }).elapsedMs);
        const msPerStep = stepTimes.map((t, i) => Math.round(t - (i ? stepTimes[i - 1] : 0)));
        // Not blank: the shown picture has some spread (random weights draw noise, not a flat colour).
        const spread = await page.getByTestId('result.image').evaluate((c: HTMLCanvasElement) => {
          const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
          let lo = 255, hi = 0;
          for (let i = 0; i < d.length; i += 4) { lo = Math.min(lo, d[i]); hi = Math.max(hi, d[i]); }
          return { w: c.width, h: c.height, range: hi - lo };
        });
        expect(spread.w).toBe(gen.width);
        expect(spread.range).toBeGreaterThan(0);
        step(`generated: ${JSON.stringify(gen.timings)}`);
        return { gen, msPerStep, range: spread.range };
      };

      const phases: Record<'install' | 'load' | 'generate', Peak> = { install: {}, load: {}, generate: {} };
      const loads: Record<string, number[]> = {};
      let phase: keyof typeof phases = 'install';
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          raise(phases[phase], flat(await probe.sample().catch(() => ({})), chromiumRss()));
          await new Promise((r) => setTimeout(r, 500));
        }
      })();

      const key = `${manifest.id}@${manifest.version}`;
      const item = page.locator(`[data-testid="bundle.item"][data-key="${key}"]`);
      const t0 = Date.now();
      await page.getByTestId('bundle.url').fill(server.url);
      await page.getByTestId('bundle.download').click();
      step('download clicked');
      await expect(item.or(page.getByTestId('bundle.error')).first()).toBeVisible({ timeout: SLOW });
      await expect(item).toHaveAttribute('data-status', 'complete', { timeout: 2 * HOUR });
      expect(await page.getByTestId('bundle.error').allTextContents()).toEqual([]);
      const installSecs = (Date.now() - t0) / 1000;
      loads.install = load();
      step(`installed in ${installSecs.toFixed(1)} s`);

      phase = 'load';
      const t1 = Date.now();
      const loaded = page.getByTestId('bundle.name').filter({ hasText: `v${manifest.version}` });
      const failed = page.locator('[data-testid="engine.status"][data-status="error"]');
      await expect(loaded.or(failed).first()).toBeVisible({ timeout: 2 * HOUR });
      await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: 2 * HOUR });
      const loadSecs = (Date.now() - t1) / 1000;
      loads.load = load();
      const info = (await events()).filter((e) => e.type === 'loaded').pop()?.v as { variants?: Record<string, string> } | undefined;
      step(`loaded in ${loadSecs.toFixed(1)} s: ${JSON.stringify(info?.variants)}`);

      phase = 'generate';
      const steps = STEPS[backend];
      let picture: { gen: { timings: Record<string, number>; width: number; height: number; backend: string; unet?: unknown }; msPerStep: number[]; range: number } | undefined;
      // A failed picture still records what was measured up to the failure (peaks, ledger), then fails the test.
      let failure: string | undefined;
      if (steps > 0) picture = await generate(steps).catch((e: Error) => { failure = e.message.split('\n')[0].slice(0, 600); return undefined; });
      loads.generate = load();
      sampling = false;
      await sampler;

      // The engine worker's WebAssembly memory: every WebAssembly.Memory there (ORT's), by its buffer's size now
      // (wasm memory only grows, so this is its peak).
      const proto = await probe.send<{ result: { objectId: string } }>('psa-engine', 'Runtime.evaluate', { expression: 'WebAssembly.Memory.prototype' });
      const mems = proto?.result ? await probe.send<{ objects: { objectId: string } }>('psa-engine', 'Runtime.queryObjects', { prototypeObjectId: proto.result.objectId }) : undefined;
      const wasm = mems?.objects ? await probe.send<{ result: { value: number } }>('psa-engine', 'Runtime.callFunctionOn', {
        objectId: mems.objects.objectId, functionDeclaration: 'function () { return this.reduce((n, m) => n + m.buffer.byteLength, 0); }', returnByValue: true,
      }) : undefined;
      const gpu = backend === 'webgpu'
        ? await probe.send<{ result: { value: { peak: number; live: number } } }>('psa-engine', 'Runtime.evaluate', { expression: '({ peak: __ledger.peak, live: __ledger.live })', returnByValue: true })
        : undefined;
      const installMB = filesToFetch(manifest, Object.fromEntries(Object.entries(manifest.components).map(([r, e]) => [r, info?.variants?.[r] ?? Object.keys(e!.variants)[0]])))
        .reduce((a, f) => a + (f.bytes ?? 0), 0) / MB;
      const result = {
        backend, guidance: GUIDANCE[backend], scheduler: SCHEDULER[backend] || 'bundle default (pndm)', unetCalls: picture?.gen.unet ?? null, ortBuild: process.env.PSA_FULL_ORT_BUILD ?? 'asyncify', unetVariant: info?.variants?.unet, variants: info?.variants, steps,
        width: picture?.gen.width ?? null, height: picture?.gen.height ?? null,
        installSecs, installMB: Math.round(installMB), installMBps: Math.round((installMB / installSecs) * 10) / 10, loadSecs,
        msPerStep: picture?.msPerStep ?? null, textMs: ms(picture?.gen.timings.textMs), denoiseMs: ms(picture?.gen.timings.denoiseMs),
        vaeMs: ms(picture?.gen.timings.vaeMs), unetRunMs: ms(picture?.gen.timings.unetRunMs), totalMs: ms(picture?.gen.timings.totalMs),
        wasmMemoryMB: wasm?.result ? Math.round(wasm.result.value / MB) : null,
        gpuLedgerMB: gpu?.result?.value ? { peak: Math.round(gpu.result.value.peak / MB), liveAfter: Math.round(gpu.result.value.live / MB) } : null,
        peakMB: { install: mbOf(phases.install), load: mbOf(phases.load), generate: mbOf(phases.generate) },
        loadAvg: loads,
        imageRange: picture?.range ?? null,
      };
      if (failure) Object.assign(result, { failure });
      console.log(`FULL SIZE ${run}`, JSON.stringify(result, null, 1));
      writeResult(`${run}${process.env.PSA_FULL_ORT_BUILD ? `-${process.env.PSA_FULL_ORT_BUILD}` : ''}${steps === 0 ? '-load' : ''}${failure ? '-failed' : ''}`, result);
      expect(failure, 'the picture').toBeUndefined();
    } finally {
      await ctx?.close().catch(() => undefined);
      server.stop();
      if (!process.env.PSA_FULL_KEEP_PROFILE) rmSync(profile, { recursive: true, force: true });
    }
  });
}

// The VAE decoder alone on WebGPU (run `webgpu-vae`): what completes at 512² on SwiftShader when the whole picture
// does not (README). harness.html (the app's ORT setup, one session) runs vae_decoder/model.onnx on a [1,4,64,64]
// latent; the model is copied under dist/ for `vite preview` to serve, as psa-overhead.spec.ts does.
if (RUNS.includes('webgpu-vae')) {
  test('full-size SD1.5 VAE decoder alone on WebGPU, 512×512', async ({ page }) => {
    test.setTimeout(HOUR);
    const out = path.join(ROOT, 'dist', 'full-size-vae');
    mkdirSync(out, { recursive: true });
    rmSync(path.join(out, 'model.onnx'), { force: true });
    linkSync(path.join(BUNDLE, 'vae_decoder', 'model.onnx'), path.join(out, 'model.onnx'));
    try {
      await page.goto('/harness.html');
      await page.waitForFunction(() => !!(window as unknown as { __harness?: unknown }).__harness);
      const peak: Peak = {};
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          raise(peak, flat({}, chromiumRss()));
          await new Promise((r) => setTimeout(r, 500));
        }
      })();
      const latent = { type: 'float32', dims: [1, 4, 64, 64], data: Array.from({ length: 4 * 64 * 64 }, (_, i) => Math.sin(i * 12.9898) * 0.8) };
      const loads = [load()];
      const res = (await page.evaluate(
        ([f]) => (window as unknown as { __harness: { run: (u: string, e: string, f: unknown, o: unknown) => Promise<unknown> } }).__harness.run('/full-size-vae/model.onnx', 'webgpu', { latent_sample: f }, { repeat: 2 }),
        [latent] as const,
      )) as { outputs: Record<string, { dims: number[]; data: number[] }>; createMs: number; runMs: number; runsMs: number[] };
      loads.push(load());
      sampling = false;
      await sampler;
      const img = res.outputs.sample;
      expect(img.dims).toEqual([1, 3, 512, 512]);
      expect(img.data.every(Number.isFinite)).toBe(true);
      const result = { backend: 'webgpu', what: 'vae_decoder alone, harness.html', createMs: Math.round(res.createMs), runsMs: res.runsMs.map(Math.round), peakMB: mbOf(peak), loadAvg: loads };
      console.log('FULL SIZE webgpu-vae', JSON.stringify(result));
      writeResult('webgpu-vae', result);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
}
