// Opt-in measurement (PSA_MEASURE_BUNDLES=1) of a bundle download into OPFS and its loading from OPFS, at two sizes
// of one model's external data (20 MB and 200 MB), so memory that grows with the file shows as a difference:
// - the bundle is the demo with its user projection swapped for a synthetic one whose two MatMul weights (16×K and
//   K×32, K sized to the asked bytes) live in one external-data file: a valid model the engine really loads, with the
//   demo's PSA contract (user_embeds [b,16] → user_tokens [b,1,32]);
// - memory is sampled every ~250 ms: the page's V8 heap over CDP (Runtime.getHeapUsage gives the used heap and the
//   ArrayBuffer backing stores apart: bytes read into an ArrayBuffer are not "JS heap" to V8, but they are memory),
//   and the resident set of the browser's renderer processes (the page with its download and engine workers, and the
//   WASM memory ORT copies the weights into) and GPU process, from /proc;
// - throughput: the bundle's bytes over the in-app download time, against curl fetching the big file from the same
//   local server (to /dev/null, and to a file on disk).
// Numbers go to .tmp/measurements.json and the log; nothing is asserted beyond the download finishing, the stored
// file having the right hash and the engine loading the bundle.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { closeSync, cpSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test, type CDPSession, type Page } from '@playwright/test';
import { GraphBuilder, onnx, encodeModel } from '../scripts/models/onnx-builder';
import { serveBundle, type RunningServer } from '../scripts/serve-bundle';
import type { BundleManifest } from '../src/shared/bundle';
import { ROOT, SLOW, record } from './helpers';

const DEMO = path.join(ROOT, 'public', 'models', 'demo');
const MB = 1e6;

test.skip(process.env.PSA_MEASURE_BUNDLES !== '1', 'set PSA_MEASURE_BUNDLES=1 to measure');
test.describe.configure({ mode: 'serial' });

let server: RunningServer | undefined;
test.afterEach(async () => {
  await server?.close();
  server = undefined;
});

/**
 * Writes user_projection/model.onnx + model.onnx_data: user_embeds [b,E] · W1 [E,K] · W2 [K,H] → [b,1,H], both
 * weights in the external file (W2 at a 4 KiB-aligned offset), K chosen so the file holds about `bytes`.
 * Returns the two files' sizes and SHA-256.
 */
function writeBigProjection(dir: string, bytes: number, E: number, H: number) {
  const K = Math.floor(bytes / 4 / (E + H));
  const w1Len = E * K * 4;
  const w2Off = Math.ceil(w1Len / 4096) * 4096;
  const w2Len = K * H * 4;
  const dataPath = path.join(dir, 'model.onnx_data');
  const fd = openSync(dataPath, 'w');
  const h = createHash('sha256');
  // Small weights (|w| ≤ 1/sqrt(K)) from a cheap LCG, written in 4 MB slices: never the whole file in memory here.
  const scale = 1 / Math.sqrt(K);
  let seed = 12345;
  const put = (n: number) => {
    const slice = new Float32Array(1 << 20);
    for (let left = n; left > 0; ) {
      const m = Math.min(left, slice.length);
      for (let i = 0; i < m; i++) {
        seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
        slice[i] = ((seed / 2 ** 32) * 2 - 1) * scale;
      }
      const b = Buffer.from(slice.buffer, 0, m * 4);
      writeSync(fd, b);
      h.update(b);
      left -= m;
    }
  };
  put(E * K);
  const pad = Buffer.alloc(w2Off - w1Len);
  writeSync(fd, pad);
  h.update(pad);
  put(K * H);
  closeSync(fd);
  const external = (name: string, dims: number[], offset: number, length: number) =>
    onnx.TensorProto.create({
      name, dims, dataType: onnx.TensorProto.DataType.FLOAT, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        onnx.StringStringEntryProto.create({ key: 'location', value: 'model.onnx_data' }),
        onnx.StringStringEntryProto.create({ key: 'offset', value: String(offset) }),
        onnx.StringStringEntryProto.create({ key: 'length', value: String(length) }),
      ],
    });
  const g = new GraphBuilder('big_user_projection');
  const x = g.input('user_embeds', 'float32', ['batch', E]);
  const a = g.op('MatMul', [x, 'w1']);
  const y = g.op('MatMul', [a, 'w2']);
  const out = g.op('Reshape', [y, g.i64([-1, 1, H])]);
  g.output(out, 'user_tokens', 'float32', ['batch', 1, H]);
  const m = g.model('synthetic user projection with external weights (bundles-measure.spec)');
  m.graph!.initializer!.push(external('w1', [E, K], 0, w1Len), external('w2', [K, H], w2Off, w2Len));
  const model = encodeModel(m);
  writeFileSync(path.join(dir, 'model.onnx'), model);
  return {
    model: { bytes: model.length, sha256: createHash('sha256').update(model).digest('hex') },
    data: { bytes: w2Off + w2Len, sha256: h.digest('hex') },
  };
}

/** The demo bundle with the big user projection, as a new version (its own OPFS folder). */
function makeBundle(bytes: number): { dir: string; manifest: BundleManifest; dataBytes: number } {
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
  return { dir, manifest, dataBytes: f.data.bytes };
}

interface Heap { used: number; backing: number }
/**
 * The page's V8 heap over CDP (Runtime.getHeapUsage: used heap, and ArrayBuffer backing stores apart). Workers are
 * covered by the renderer's resident set (they run in the page's renderer process, with ORT's WASM memory): an
 * earlier version attached to each worker with non-flattened Target.setAutoAttach next to Playwright's own session,
 * and the page stopped answering Playwright's locator queries (a 15-minute timeout with the app visibly loaded).
 */
async function heapProbe(page: Page) {
  const cdp: CDPSession = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const metric = (m: { metrics: { name: string; value: number }[] }, name: string) => m.metrics.find((x) => x.name === name)?.value ?? 0;
  return {
    async sample(): Promise<{ page: Heap }> {
      // Performance.getMetrics (JSHeapUsedSize / JSHeapTotalSize): Runtime.getHeapUsage never answered here.
      const m = (await cdp.send('Performance.getMetrics')) as { metrics: { name: string; value: number }[] };
      return { page: { used: metric(m, 'JSHeapUsedSize'), backing: metric(m, 'JSHeapTotalSize') } };
    },
  };
}

/** Resident set (bytes) of this test's Chromium renderer and GPU processes (descendants of this process). */
function chromiumRss(): { renderer: number; gpu: number } {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* gone */ }
  }
  const mine = (pid: number) => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === process.pid) return true;
    return false;
  };
  const out = { renderer: 0, gpu: 0 };
  for (const pid of parent.keys()) {
    if (!mine(pid)) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const kind = cmd.includes('--type=renderer') ? 'renderer' : cmd.includes('--type=gpu-process') ? 'gpu' : undefined;
      if (!kind) continue;
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (rss) out[kind] += Number(rss[1]) * 1024;
    } catch { /* gone */ }
  }
  return out;
}

interface Peak { pageUsed: number; pageBacking: number; renderer: number; gpu: number }
const zero = (): Peak => ({ pageUsed: 0, pageBacking: 0, renderer: 0, gpu: 0 });
const mbOf = (p: Peak) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, Math.round((v / MB) * 10) / 10]));

for (const sizeMB of [20, 200]) {
  test(`${sizeMB} MB external data: memory while downloading and loading from OPFS, throughput vs curl`, async ({ page }) => {
    const t00 = Date.now();
    const step = (what: string) => console.log(`[measure ${sizeMB} MB] ${((Date.now() - t00) / 1000).toFixed(1)} s: ${what}`);
    const { dir, manifest, dataBytes } = makeBundle(sizeMB * MB);
    step('bundle written');
    try {
      server = await serveBundle({ dir });
      const bigUrl = `${server.url}user_projection/model.onnx_data`;
      // Asynchronously: the server runs in this very process, so a blocking exec would starve it.
      const curl = async (out: string) => (await promisify(execFile)('curl', ['-s', '-o', out, '-w', '%{speed_download}', bigUrl], { encoding: 'utf8' })).stdout;
      const curlNull = await curl('/dev/null');
      const tmpFile = path.join(dir, 'curl.out');
      const curlFile = await curl(tmpFile);
      rmSync(tmpFile);

      step('curl done');
      await page.goto('/');
      await expect(page.getByTestId('bundle.panel')).toBeVisible();
      await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
      step('app ready');
      const probe = await heapProbe(page);
      step('probe attached');
      const baseline = { ...(await probe.sample()), rss: chromiumRss() };
      step('baseline sampled');
      const key = `${manifest.id}@${manifest.version}`;
      const item = page.locator(`[data-testid="bundle.item"][data-key="${key}"]`);
      const phases = { download: zero(), load: zero() };
      let phase: keyof typeof phases = 'download';
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const s = await probe.sample().catch(() => undefined);
          const rss = process.env.PSA_MEASURE_NO_RSS ? { renderer: 0, gpu: 0 } : chromiumRss();
          if (s) {
            const p = phases[phase];
            p.pageUsed = Math.max(p.pageUsed, s.page.used);
            p.pageBacking = Math.max(p.pageBacking, s.page.backing);
          }
          phases[phase].renderer = Math.max(phases[phase].renderer, rss.renderer);
          phases[phase].gpu = Math.max(phases[phase].gpu, rss.gpu);
          await new Promise((r) => setTimeout(r, 250));
        }
      })();

      const t0 = Date.now();
      step('filling the URL');
      await page.getByTestId('bundle.url').fill(server.url, { timeout: 60_000 });
      step('clicking download');
      await page.getByTestId('bundle.download').click({ timeout: 60_000 });
      step('download started');
      // Finished, or failed: an error ends the wait at once with its message.
      // (A combined item.and(...).or(error) locator never matched here: a run stalled until the test timeout.)
      await expect(item).toHaveAttribute('data-status', 'complete', { timeout: 90_000 }).catch(async (e) => {
        console.log('DEBUG', (await page.locator('body').innerText()).slice(0, 3000));
        throw e;
      });
      expect(await page.getByTestId('bundle.error').count(), (await page.getByTestId('bundle.error').textContent().catch(() => '')) ?? '').toBe(0);
      const downloadSecs = (Date.now() - t0) / 1000;
      step('downloaded');
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
      const after = { ...(await probe.sample()), rss: chromiumRss() };

      const stored = await page.evaluate(async ({ key }) => {
        let d = await navigator.storage.getDirectory();
        for (const part of ['bundles', key, 'user_projection']) d = await d.getDirectoryHandle(part);
        const f = await (await d.getFileHandle('model.onnx_data')).getFile();
        return { size: f.size };
      }, { key });
      expect(stored.size).toBe(dataBytes);

      const total = manifest.files.filter((f) => f.path !== 'unet/model.int8.onnx').reduce((n, f) => n + f.bytes!, 0);
      const sum = (s: { page: Heap }) => ({ pageUsed: s.page.used, pageBacking: s.page.backing });
      const result = {
        externalDataMB: dataBytes / MB,
        bundleMB: total / MB,
        downloadSecs, loadSecs,
        appMBps: total / MB / downloadSecs,
        curlToNullMBps: Number(curlNull) / MB,
        curlToFileMBps: Number(curlFile) / MB,
        baselineMB: mbOf({ ...zero(), ...sum(baseline), renderer: baseline.rss.renderer, gpu: baseline.rss.gpu }),
        peakDownloadMB: mbOf(phases.download),
        peakLoadMB: mbOf(phases.load),
        afterLoadMB: mbOf({ ...zero(), ...sum(after), renderer: after.rss.renderer, gpu: after.rss.gpu }),
      };
      console.log(`BUNDLE MEASURE ${sizeMB}MB`, JSON.stringify(result, null, 1));
      record(`bundles.measure${sizeMB}MB`, result);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
