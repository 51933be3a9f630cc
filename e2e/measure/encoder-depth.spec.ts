// Measurement (e2e/measure.config.ts, opt-in with PSA_MEASURE_ENCODER=1, never in `npm test`): the profile encoder at
// full depth — Qwen2.5-7B's shapes (28 layers, hidden 3584, intermediate 18944, 28/4 heads, vocab 152 064), random
// weights, q4 (≈ 4.6 GB) — installed from a URL into OPFS and used to embed one PSA profile text in Chromium:
//   npx tsx scripts/convert/encoder/deep-synthetic.ts W                      # W/bundle, what `npm run convert` writes
//   PSA_HARNESS=1 npm run build
//   PSA_MEASURE_ENCODER=1 PSA_DEEP_BUNDLE=W/bundle npx playwright test -c e2e/measure.config.ts e2e/measure/encoder-depth.spec.ts
// One Chromium profile on disk (a persistent context: Playwright's own contexts keep OPFS in memory): the app, the
// bundle URL (`npm run serve-bundle`, a child process) typed into the Models panel and Download clicked (the app's own
// installer, into OPFS), the app loads it; then engine-harness.html in the same profile loads the stored bundle
// (`opfs:bundles/<id>@<version>/`, a fresh engine worker per backend) and embeds the app's template rendered for one
// profile (~200 tokens) with the bundle's encoder: the group runner reads each group from OPFS by range.
// PSA_DEEP_RUNS: comma list of wasm, webgpu (default both, in that order). WebGPU here is SwiftShader (fp32 on the
// processor): a run stops after PSA_DEEP_WEBGPU_MINUTES (default 25) and records the groups that completed.
// Recorded per run: per group, ms to read + create the session and ms to run + release it (the engine worker's
// messages, timed on the page: the group runner's progress events and the GPU ledger of
// src/engine/embedding/groups-ledger.ts, which the spec switches on by naming the worker); the GPU ledger's live
// bytes after each group's creation and release (asserted back at the start level after every release); peak
// resident memory of the renderer and GPU processes (/proc) per phase and per group; the engine worker's
// WebAssembly memory after the run (CDP: every WebAssembly.Memory there; wasm memory only grows, so this is its
// peak); load average. Written to PSA_DEEP_OUT (default .tmp/encoder-depth.json) and .tmp/measurements.json.
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { chromium, expect, test, type BrowserContext, type Page } from '@playwright/test';
import type { BundleManifest } from '../../src/shared/bundle';
import { PSA_EMBEDDING_TEMPLATE, renderEmbeddingText } from '../../src/safety/embedding-text';
import { chooseNoProfile, record, ROOT, SLOW } from '../helpers';
import { chromiumRss, flat, heapProbe, mbOf, raise, type Peak } from './probes';
import { serveChild } from './serve-child';
import { goTo } from '../pages/screens';

const BUNDLE = process.env.PSA_DEEP_BUNDLE ?? '';
const RUNS = (process.env.PSA_DEEP_RUNS ?? 'wasm,webgpu').split(',') as ('wasm' | 'webgpu')[];
const WEBGPU_MINUTES = Number(process.env.PSA_DEEP_WEBGPU_MINUTES ?? 25);
const OUT = process.env.PSA_DEEP_OUT ?? path.join(ROOT, '.tmp', 'encoder-depth.json');
const HOUR = 3_600_000;
const MB = 1e6;
const ENGINE = 'psa-engine gpu-ledger';

test.describe.configure({ mode: 'serial' });
test.skip(!process.env.PSA_MEASURE_ENCODER, 'opt-in: PSA_MEASURE_ENCODER=1 PSA_DEEP_BUNDLE=DIR (see the header)');

/** One profile's text through the app's template (PSA's get_embeds.txt, rendered as the app renders it). */
const TEXT = renderEmbeddingText(PSA_EMBEDDING_TEMPLATE, {
  Age: 15, Age_Group: 'Adolescent', Gender: 'Female', Religion: 'None', Mental_Condition: 'Anxiety', Physical_Condition: 'None',
  Banned_Categories: ['Hate', 'Harassment', 'Self-harm', 'Sexual', 'Shocking', 'Violence'], Allowed_Categories: ['Illegal Activity', 'Propaganda'],
} as Parameters<typeof renderEmbeddingText>[1]);

type Ev = { t: number; kind: 'progress' | 'ledger' | 'embedded' | 'error'; v: Record<string, unknown> };

/**
 * Names the engine worker so it installs the GPU ledger (groups-ledger.ts), and keeps its group events, embed
 * progress and result on window.__deep with the page's clock.
 */
const RECORDER = () => {
  const log: { t: number; kind: string; v: unknown }[] = [];
  (window as unknown as { __deep: typeof log }).__deep = log;
  const W = window.Worker;
  window.Worker = class extends W {
    constructor(url: string | URL, o?: WorkerOptions) {
      const engine = String(o?.name ?? '').includes('engine');
      super(url, engine ? { ...o, name: `${o?.name} gpu-ledger` } : o);
      if (!engine) return;
      this.addEventListener('message', (e: MessageEvent) => {
        const m = e.data as { type?: string; phase?: string; loaded?: number; total?: number; result?: { tokens?: number; ms?: number }; error?: unknown };
        const t = performance.now();
        if (m?.type === 'gpu-ledger') log.push({ t, kind: 'ledger', v: m });
        else if (m?.type === 'embed-progress' && (m.phase !== 'load' || log.at(-1)?.kind !== 'progress' || (log.at(-1)!.v as { phase: string }).phase !== 'load')) log.push({ t, kind: 'progress', v: { phase: m.phase, loaded: m.loaded, total: m.total } });
        else if (m?.type === 'embedded') log.push({ t, kind: 'embedded', v: { tokens: m.result?.tokens, ms: m.result?.ms } });
        else if (m?.type === 'error') log.push({ t, kind: 'error', v: m.error as object });
      });
    }
  } as typeof Worker;
};

const loadAvg = () => loadavg().map((x) => Math.round(x * 100) / 100);

/** Per-group timing and ledger from the recorded events. */
function perGroup(ev: Ev[]) {
  const ledger = ev.filter((e) => e.kind === 'ledger');
  const start = ledger.find((e) => e.v.event === 'start');
  const groups: { group: number; readCreateMs: number; runReleaseMs: number | null; liveAfterCreateMB: number; liveAfterReleaseBytes: number | null; peakMB: number; deviceFreedBytes: number | null }[] = [];
  let prev = start;
  for (const c of ledger.filter((e) => e.v.event === 'created')) {
    const k = c.v.group as number;
    const r = ledger.find((e) => e.v.event === 'released' && e.v.group === k);
    groups.push({
      group: k,
      readCreateMs: Math.round(c.t - (prev?.t ?? c.t)),
      runReleaseMs: r ? Math.round(r.t - c.t) : null,
      liveAfterCreateMB: Math.round(((c.v.liveBytes as number) / MB) * 10) / 10,
      liveAfterReleaseBytes: r ? (r.v.liveBytes as number) : null,
      peakMB: Math.round((Math.max(c.v.peakBytes as number, (r?.v.peakBytes as number) ?? 0) / MB) * 10) / 10,
      deviceFreedBytes: r ? (r.v.deviceFreedBytes as number) : null,
    });
    prev = r;
  }
  return { startBytes: (start?.v.liveBytes as number) ?? null, groups };
}

function writeResult(key: string, result: Record<string, unknown>) {
  mkdirSync(path.dirname(OUT), { recursive: true });
  const prior = existsSync(OUT) ? JSON.parse(readFileSync(OUT, 'utf8')) : {};
  writeFileSync(OUT, `${JSON.stringify({ schema: 'psa-web/encoder-depth@1', bundle: BUNDLE, ...prior, runs: { ...(prior.runs ?? {}), [key]: { ...result, at: new Date().toISOString() } } }, null, 1)}\n`);
  record(`encoder_depth.${key}`, result);
}

test('full-depth q4 profile encoder: install from URL into OPFS, embed one profile on WASM and WebGPU', async () => {
  test.setTimeout(4 * HOUR);
  expect(BUNDLE && existsSync(path.join(BUNDLE, 'manifest.json')), `PSA_DEEP_BUNDLE=${BUNDLE} must be a converted bundle (scripts/convert/encoder/deep-synthetic.ts)`).toBeTruthy();
  const manifest = JSON.parse(readFileSync(path.join(BUNDLE, 'manifest.json'), 'utf8')) as BundleManifest;
  const key = `${manifest.id}@${manifest.version}`;
  const eg = manifest.profileEncoderGroups;
  const index = eg && 'variants' in eg ? Object.values(eg.variants)[0]?.index : eg?.index;
  expect(index, 'the bundle has a layer-group profile encoder').toBeTruthy();
  const hidden = (JSON.parse(readFileSync(path.join(BUNDLE, index!.path), 'utf8')) as { hiddenSize: number }).hiddenSize;
  const profile = path.join(path.dirname(path.resolve(BUNDLE)), 'chromium-profile');
  rmSync(profile, { recursive: true, force: true });
  const t00 = Date.now();
  const step = (what: string) => console.log(`[encoder-depth] ${((Date.now() - t00) / 1000).toFixed(1)} s, load ${loadAvg().join(' ')}: ${what}`);
  const server = await serveChild(BUNDLE);
  const use = test.info().project.use;
  let ctx: BrowserContext | undefined;
  try {
    // --disable-gpu-watchdog: one SwiftShader dispatch of a 3584 × 18944 MatMul over ~200 tokens runs for seconds.
    ctx = await chromium.launchPersistentContext(profile, { ...use.launchOptions, args: [...(use.launchOptions?.args ?? []), '--disable-gpu-watchdog'], baseURL: use.baseURL });
    await ctx.addInitScript(RECORDER);
    const page: Page = ctx.pages()[0] ?? (await ctx.newPage());
    page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') step(`console.${m.type()}: ${m.text().slice(0, 500)}`); });
    page.on('crash', () => step('the page crashed'));

    // --- install through the Models panel (the app's installer, into OPFS) ---
    await page.goto('/');
    await chooseNoProfile(page);
    await goTo(page, 'settings'); // the Models and engine screen
    await expect(page.getByTestId('bundle.panel')).toBeVisible();
    await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
    step('app ready (Models and engine)');
    const peaks: Record<string, Peak> = { install: {} };
    let phase = 'install';
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        raise((peaks[phase] ??= {}), flat({}, chromiumRss()));
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    const item = page.locator(`[data-testid="bundle.item"][data-key="${key}"]`);
    const t0 = Date.now();
    await page.getByTestId('bundle.url').fill(server.url);
    await page.getByTestId('bundle.download').click();
    step(`download clicked (${server.url})`);
    await expect(item.or(page.getByTestId('bundle.error')).first()).toBeVisible({ timeout: SLOW });
    await expect(item).toHaveAttribute('data-status', 'complete', { timeout: 2 * HOUR });
    expect(await page.getByTestId('bundle.error').allTextContents()).toEqual([]);
    const installSecs = (Date.now() - t0) / 1000;
    const installMB = manifest.files.reduce((a, f) => a + (f.bytes ?? 0), 0) / MB;
    step(`installed ${installMB.toFixed(0)} MB in ${installSecs.toFixed(1)} s`);
    await expect(page.getByTestId('bundle.name').filter({ hasText: `v${manifest.version}` })).toBeVisible({ timeout: SLOW });
    await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
    writeResult('install', { installSecs, installMB: Math.round(installMB), peakMB: mbOf(peaks.install), loadAvg: loadAvg() });

    const embeddings: Record<string, number[]> = {};
    for (const backend of RUNS) {
      phase = `load-${backend}`;
      // A fresh page load: a fresh engine worker (its wasm memory and GPU devices start empty).
      await page.goto('/engine-harness.html');
      await page.waitForFunction(() => !!(window as unknown as { __engine?: unknown }).__engine, undefined, { timeout: SLOW });
      const probe = await heapProbe(page, () => ctx!.newCDPSession(page));
      await probe.sample();
      const t1 = Date.now();
      const loaded = await page.evaluate(([u, b]) => (window as unknown as { __engine: { load(o: object): Promise<unknown> } }).__engine.load({ url: u, backend: b }), [`opfs:bundles/${key}/`, backend] as const);
      expect(loaded, `load ${backend}`).not.toHaveProperty('error');
      expect((loaded as { backend: string }).backend).toBe(backend);
      const loadSecs = (Date.now() - t1) / 1000;
      step(`${backend}: stored bundle loaded in ${loadSecs.toFixed(1)} s`);

      phase = `embed-${backend}`;
      const events = () => page.evaluate(() => (window as unknown as { __deep: Ev[] }).__deep);
      // Per-group resident peaks: the sampler tags each sample with the group running (ledger events so far).
      const groupPeaks: Peak[] = [];
      let current = -1;
      let tagging = true;
      // Every 5th sample also asks each JS context for its heap (the engine worker's `backing` holds ORT's wasm memory).
      const tagger = (async () => {
        for (let i = 0; tagging; i++) {
          const ev = await events().catch(() => [] as Ev[]);
          current = ev.filter((e) => e.kind === 'ledger' && e.v.event === 'created').length - 1;
          const heaps = i % 5 ? {} : await probe.sample().catch(() => ({}));
          raise((peaks[phase] ??= {}), flat(heaps, chromiumRss()));
          if (current >= 0) raise((groupPeaks[current] ??= {}), flat(heaps, chromiumRss()));
          await new Promise((r) => setTimeout(r, 1000));
        }
      })();
      const t2 = Date.now();
      await page.evaluate((text) => {
        const w = window as unknown as { __engine: { embed(t: string): Promise<unknown> }; __embedResult?: unknown };
        void w.__engine.embed(text).then((r) => (w.__embedResult = r));
      }, TEXT);
      step(`${backend}: embedding (${TEXT.length} characters)`);
      const limit = backend === 'webgpu' ? WEBGPU_MINUTES * 60_000 : 2 * HOUR;
      let seen = 0;
      let finished = false;
      while (Date.now() - t2 < limit) {
        const ev = await events();
        for (; seen < ev.length; seen++) if (ev[seen].kind === 'ledger') step(`${backend}: ${String(ev[seen].v.event)} ${String(ev[seen].v.group)} (GPU live ${ev[seen].v.liveBytes} B)`);
        if (ev.some((e) => e.kind === 'embedded' || e.kind === 'error')) {
          finished = true;
          break;
        }
        await new Promise((r) => setTimeout(r, 5000));
      }
      const totalMs = Date.now() - t2;
      tagging = false;
      await tagger;
      const ev = await events();
      const res = (await page.evaluate(() => (window as unknown as { __embedResult?: { ok: boolean; embedding?: number[]; tokens?: number; ms?: number; error?: { code: string; message: string } } }).__embedResult)) ?? undefined;
      // The engine worker's WebAssembly memory (ORT's): the sum of every WebAssembly.Memory's buffer there now.
      const contexts = Object.keys(await probe.sample());
      const proto = await probe.send<{ result: { objectId: string } }>(ENGINE, 'Runtime.evaluate', { expression: 'WebAssembly.Memory.prototype' });
      const mems = proto?.result ? await probe.send<{ objects: { objectId: string } }>(ENGINE, 'Runtime.queryObjects', { prototypeObjectId: proto.result.objectId }) : undefined;
      const wasm = mems?.objects ? await probe.send<{ result: { value: number } }>(ENGINE, 'Runtime.callFunctionOn', {
        objectId: mems.objects.objectId, functionDeclaration: 'function () { return this.reduce((n, m) => n + m.buffer.byteLength, 0); }', returnByValue: true,
      }) : undefined;
      const g = perGroup(ev);
      const groupsTotal = (ev.find((e) => e.kind === 'ledger')?.v.groups as number) ?? null;
      const result = {
        backend, finished, groups: groupsTotal, groupsCompleted: g.groups.filter((x) => x.runReleaseMs !== null).length,
        tokens: res?.tokens ?? null, engineMs: res?.ms ?? null, totalMs, loadSecs,
        perGroup: g.groups.map((x, k) => ({ ...x, peakRssMB: groupPeaks[k] ? mbOf(groupPeaks[k]) : null })),
        gpuLedgerStartBytes: g.startBytes,
        wasmMemoryMB: wasm?.result ? Math.round(wasm.result.value / MB) : null,
        contexts,
        peakMB: { load: mbOf(peaks[`load-${backend}`] ?? {}), embed: mbOf(peaks[`embed-${backend}`] ?? {}) },
        loadAvg: loadAvg(),
        ...(res && !res.ok ? { error: res.error } : {}),
        ...(!finished ? { stoppedAfterMinutes: WEBGPU_MINUTES } : {}),
      };
      console.log(`ENCODER DEPTH ${backend}`, JSON.stringify({ ...result, perGroup: undefined }, null, 1));
      for (const x of result.perGroup) console.log(`  group ${x.group}: read+create ${x.readCreateMs} ms, run+release ${x.runReleaseMs} ms, GPU live after create ${x.liveAfterCreateMB} MB, after release ${x.liveAfterReleaseBytes} B, rss ${JSON.stringify(x.peakRssMB)}`);
      writeResult(backend, result);
      // Asserted: only that the work ran and the GPU ledger came back to its start after every released group.
      if (finished) {
        expect(res?.ok, `embed on ${backend}: ${JSON.stringify(res?.error)}`).toBe(true);
        expect(res!.embedding!.length).toBe(hidden);
        expect(res!.embedding!.every(Number.isFinite)).toBe(true);
        embeddings[backend] = res!.embedding!;
      }
      expect(g.groups.length, `${backend}: at least one group ran`).toBeGreaterThan(0);
      for (const x of g.groups) if (x.liveAfterReleaseBytes !== null) expect(x.liveAfterReleaseBytes, `${backend}: GPU bytes after releasing group ${x.group}`).toBe(g.startBytes);
      if (!finished) {
        step(`${backend}: stopped after ${WEBGPU_MINUTES} min with ${result.groupsCompleted} of ${groupsTotal} groups done`);
        break; // the run is still going in the worker; the context closes below
      }
    }
    if (embeddings.wasm && embeddings.webgpu) {
      const a = embeddings.wasm, b = embeddings.webgpu;
      let dot = 0, na = 0, nb = 0;
      for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i]; }
      writeResult('wasm-vs-webgpu', { cosine: dot / Math.sqrt(na * nb) });
    }
    sampling = false;
    await sampler;
  } finally {
    await ctx?.close().catch(() => undefined);
    server.stop();
    if (!process.env.PSA_DEEP_KEEP_PROFILE) rmSync(profile, { recursive: true, force: true });
  }
});
