// Measurement (e2e/measure.config.ts, never in `npm test`) of a bundle download into OPFS and its loading from OPFS, at two sizes
// of one model's external data (20 MB and 200 MB), on WASM and on WebGPU, so memory that grows with the file shows as
// a difference:
// - the bundle is the demo with its user projection swapped for a synthetic one whose MatMul weights (pairs of 16×k
//   and k×32, ~4 MB a pair, as real exports hold many initializers of a few MB) live in one external-data file: a
//   valid model the engine really loads, with the demo's PSA contract (user_embeds [b,16] → user_tokens [b,1,32]);
// - memory is sampled every ~250 ms: each JS context's V8 heap over CDP (the page, the download worker `psa-bundles`,
//   the engine worker `psa-engine`; used heap and ArrayBuffer backing stores apart), and the resident set of the
//   browser's renderer processes (the page with its workers, and the WASM memory ORT copies the weights into) and
//   GPU process, from /proc;
// - throughput: the bundle's bytes over the in-app download time, against curl fetching the big file from the same
//   local server (to /dev/null, and to a file on disk).
// Numbers go to .tmp/measurements.json and the log; nothing is asserted beyond the download finishing, the stored
// file having the right hash and the engine loading the bundle.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { closeSync, cpSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, expect, test, type BrowserContext } from '@playwright/test';
import { GraphBuilder, onnx, encodeModel } from '../../scripts/models/onnx-builder';
import type { RunningServer } from '../../scripts/serve-bundle';
import type { BundleManifest } from '../../src/shared/bundle';
import { ROOT, SLOW, record, serveForApp } from '../helpers';
import { chromiumRss, flat, heapProbe, mbOf, raise, type Peak } from './probes';

const DEMO = path.join(ROOT, 'public', 'models', 'demo');
const MB = 1e6;

test.describe.configure({ mode: 'serial' });

let server: RunningServer | undefined;
test.afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Size of each weight piece: real exports hold many initializers of a few MB (SD1.5's U-Net: ~700, the largest 13 MB). */
const PIECE = 4 * MB;

/**
 * Writes user_projection/model.onnx + model.onnx_data: user_embeds [b,E] → Σ_i (x · W1_i [E,k]) · W2_i [k,H] →
 * [b,1,H], every W in the external file at a 4 KiB-aligned offset, k and the piece count chosen so each pair is about
 * PIECE bytes and the file about `bytes`. Returns the two files' sizes and SHA-256, and the largest initializer.
 */
function writeBigProjection(dir: string, bytes: number, E: number, H: number) {
  const pieces = Math.max(1, Math.round(bytes / PIECE));
  const k = Math.floor(bytes / pieces / 4 / (E + H));
  const dataPath = path.join(dir, 'model.onnx_data');
  const fd = openSync(dataPath, 'w');
  const h = createHash('sha256');
  // Small weights (|w| ≤ 1/sqrt(K)) from a cheap LCG, written in 4 MB slices: never the whole file in memory here.
  const scale = 1 / Math.sqrt(k * pieces);
  let seed = 12345;
  let at = 0;
  const write = (b: Buffer) => {
    writeSync(fd, b);
    h.update(b);
    at += b.length;
  };
  const put = (n: number) => {
    const slice = new Float32Array(1 << 20);
    for (let left = n; left > 0; ) {
      const m = Math.min(left, slice.length);
      for (let i = 0; i < m; i++) {
        seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
        slice[i] = ((seed / 2 ** 32) * 2 - 1) * scale;
      }
      write(Buffer.from(slice.buffer, 0, m * 4));
      left -= m;
    }
  };
  const external = (name: string, dims: number[]) => {
    write(Buffer.alloc(Math.ceil(at / 4096) * 4096 - at));
    const offset = at;
    put(dims[0] * dims[1]);
    return onnx.TensorProto.create({
      name, dims, dataType: onnx.TensorProto.DataType.FLOAT, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        onnx.StringStringEntryProto.create({ key: 'location', value: 'model.onnx_data' }),
        onnx.StringStringEntryProto.create({ key: 'offset', value: String(offset) }),
        onnx.StringStringEntryProto.create({ key: 'length', value: String(at - offset) }),
      ],
    });
  };
  const g = new GraphBuilder('big_user_projection');
  const x = g.input('user_embeds', 'float32', ['batch', E]);
  const inits = [];
  const parts: string[] = [];
  for (let i = 0; i < pieces; i++) {
    inits.push(external(`w1_${i}`, [E, k]), external(`w2_${i}`, [k, H]));
    parts.push(g.op('MatMul', [g.op('MatMul', [x, `w1_${i}`]), `w2_${i}`]));
  }
  closeSync(fd);
  const y = pieces > 1 ? g.op('Sum', parts) : parts[0];
  const out = g.op('Reshape', [y, g.i64([-1, 1, H])]);
  g.output(out, 'user_tokens', 'float32', ['batch', 1, H]);
  const m = g.model('synthetic user projection with external weights (bundles-measure.spec)');
  m.graph!.initializer!.push(...inits);
  const model = encodeModel(m);
  writeFileSync(path.join(dir, 'model.onnx'), model);
  return {
    model: { bytes: model.length, sha256: createHash('sha256').update(model).digest('hex') },
    data: { bytes: at, sha256: h.digest('hex') },
    initializers: inits.length,
    largestInitializerMB: (Math.max(E, H) * k * 4) / MB,
  };
}

/** The demo bundle with the big user projection, as a new version (its own OPFS folder). */
function makeBundle(bytes: number): { dir: string; manifest: BundleManifest; dataBytes: number; initializers: number; largestInitializerMB: number } {
  const dir = mkdtempSync(path.join(tmpdir(), 'psa-measure-'));
  cpSync(DEMO, dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as BundleManifest;
  const E = manifest.psa!.embeddingSize;
  const H = 32; // the demo U-Net's cross-attention width (encoder_hidden_states [b, 78, 32])
  const f = writeBigProjection(path.join(dir, 'user_projection'), bytes, E, H);
  const modelRef = { path: 'user_projection/model.onnx', ...f.model };
  const dataRef = { path: 'user_projection/model.onnx_data', ...f.data };
  manifest.version = `${manifest.version}-measure${Math.round(bytes / MB)}`;
  manifest.files = [...manifest.files.filter((x) => x.path !== modelRef.path), modelRef, dataRef];
  manifest.components.user_projection = { variants: { fp32: { ...modelRef, externalData: [dataRef] } } };
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  return { dir, manifest, dataBytes: f.data.bytes, initializers: f.initializers, largestInitializerMB: f.largestInitializerMB };
}

// WASM (Auto's choice on a software GPU: the weights end up in wasm memory) and WebGPU (the weights end up in GPU
// buffers: the engine worker's memory should not follow the file size at all).
for (const backend of ['wasm', 'webgpu'] as const)
for (const sizeMB of [20, 200]) {
  test(`${backend}, ${sizeMB} MB external data: memory while downloading and loading from OPFS, throughput vs curl`, async ({ page: fixturePage }) => {
    // PSA_MEASURE_PERSISTENT=1: a profile on disk, as people have (Playwright's own contexts are incognito-like, where
    // Chromium keeps OPFS in memory): measured 47–53 MB/s there against 35 MB/s in memory for the 200 MB bundle.
    let persistent: { ctx: BrowserContext; dir: string } | undefined;
    if (process.env.PSA_MEASURE_PERSISTENT) {
      const dir = mkdtempSync(path.join(tmpdir(), 'psa-measure-profile-'));
      const use = test.info().project.use;
      persistent = { dir, ctx: await chromium.launchPersistentContext(dir, { ...use.launchOptions, baseURL: use.baseURL }) };
    }
    const page = persistent ? persistent.ctx.pages()[0] ?? (await persistent.ctx.newPage()) : fixturePage;
    const t00 = Date.now();
    const step = (what: string) => console.log(`[measure ${backend} ${sizeMB} MB] ${((Date.now() - t00) / 1000).toFixed(1)} s: ${what}`);
    const { dir, manifest, dataBytes, initializers, largestInitializerMB } = makeBundle(sizeMB * MB);
    step('bundle written');
    try {
      server = await serveForApp({ dir });
      const bigUrl = `${server.url}user_projection/model.onnx_data`;
      // Asynchronously: the server runs in this very process, so a blocking exec would starve it.
      const curl = async (out: string) => (await promisify(execFile)('curl', ['-s', '-o', out, '-w', '%{speed_download}', bigUrl], { encoding: 'utf8' })).stdout;
      const curlNull = await curl('/dev/null');
      const tmpFile = path.join(dir, 'curl.out');
      const curlFile = await curl(tmpFile);
      rmSync(tmpFile);

      step('curl done');
      await page.goto('/#settings'); // Models and engine: open (no lock), even before anyone is chosen
      await expect(page.getByTestId('bundle.panel')).toBeVisible();
      await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
      if (backend === 'webgpu') {
        await page.getByTestId('engine.backend-choice').selectOption('webgpu');
        await expect(page.getByTestId('engine.backend')).toHaveAttribute('data-backend', 'webgpu', { timeout: SLOW });
        await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
      }
      step('app ready');
      const probe = await heapProbe(page);
      step('probe attached');
      const baseline = flat(await probe.sample(), chromiumRss());
      step('baseline sampled');
      const key = `${manifest.id}@${manifest.version}`;
      const item = page.locator(`[data-testid="bundle.item"][data-key="${key}"]`);
      const phases: Record<'download' | 'load', Peak> = { download: {}, load: {} };
      let phase: keyof typeof phases = 'download';
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const heaps = await probe.sample().catch(() => ({}));
          raise(phases[phase], flat(heaps, process.env.PSA_MEASURE_NO_RSS ? { renderer: 0, gpu: 0 } : chromiumRss()));
          await new Promise((r) => setTimeout(r, 250));
        }
      })();

      const t0 = Date.now();
      step('filling the URL');
      await page.getByTestId('bundle.url').fill(server.url, { timeout: 60_000 });
      step('clicking download');
      await page.getByTestId('bundle.download').click({ timeout: 60_000 });
      step('download started');
      // The download worker starts with the click: profile it once the sampler has attached to it.
      let stopProfile: (() => Promise<string[]>) | undefined;
      if (process.env.PSA_MEASURE_PROFILE) {
        await expect.poll(async () => Object.keys(await probe.sample()).includes('psa-bundles')).toBe(true);
        stopProfile = await probe.profile('psa-bundles');
      }
      // Finished, or failed: an error ends the wait at once with its message.
      // (A combined item.and(...).or(error) locator never matched here: a run stalled until the test timeout.)
      await expect(item).toHaveAttribute('data-status', 'complete', { timeout: 90_000 }).catch(async (e) => {
        console.log('DEBUG', (await page.locator('body').innerText()).slice(0, 3000));
        throw e;
      });
      // allTextContents() answers at once; textContent() on an absent element waits forever (no action timeout is
      // set), which is what stalled this spec after every download had finished.
      expect(await page.getByTestId('bundle.error').allTextContents()).toEqual([]);
      const downloadSecs = (Date.now() - t0) / 1000;
      step('downloaded');
      if (stopProfile) console.log(`DOWNLOAD WORKER PROFILE ${backend} ${sizeMB} MB\n${(await stopProfile()).join('\n')}`);
      phase = 'load';
      const t1 = Date.now();
      // A finished download is put to use at once: the engine loads it from OPFS.
      const loaded = page.getByTestId('bundle.name').filter({ hasText: `v${manifest.version}` });
      const failed = page.locator('[data-testid="engine.status"][data-status="error"]');
      await expect(loaded.or(failed).first()).toBeVisible({ timeout: SLOW });
      await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready');
      const loadSecs = (Date.now() - t1) / 1000;
      step('loaded');
      sampling = false;
      await sampler;
      const after = flat(await probe.sample(), chromiumRss());

      const stored = await page.evaluate(async ({ key }) => {
        let d = await navigator.storage.getDirectory();
        for (const part of ['bundles', key, 'user_projection']) d = await d.getDirectoryHandle(part);
        const f = await (await d.getFileHandle('model.onnx_data')).getFile();
        return { size: f.size };
      }, { key });
      expect(stored.size).toBe(dataBytes);

      const total = manifest.files.filter((f) => f.path !== 'unet/model.int8.onnx').reduce((n, f) => n + f.bytes!, 0);
      expect(await page.getByTestId('engine.backend').getAttribute('data-backend')).toBe(backend);
      const result = {
        backend,
        externalDataMB: dataBytes / MB,
        initializers, largestInitializerMB,
        bundleMB: total / MB,
        downloadSecs, loadSecs,
        appMBps: total / MB / downloadSecs,
        curlToNullMBps: Number(curlNull) / MB,
        curlToFileMBps: Number(curlFile) / MB,
        baselineMB: mbOf(baseline),
        peakDownloadMB: mbOf(phases.download),
        peakLoadMB: mbOf(phases.load),
        afterLoadMB: mbOf(after),
      };
      console.log(`BUNDLE MEASURE ${backend} ${sizeMB}MB`, JSON.stringify(result, null, 1));
      record(`bundles.measure.${backend}.${sizeMB}MB`, result);
    } finally {
      rmSync(dir, { recursive: true, force: true });
      if (persistent) {
        await persistent.ctx.close();
        rmSync(persistent.dir, { recursive: true, force: true });
      }
    }
  });
}
