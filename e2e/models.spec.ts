// Browser proof of the generated tiny models: every model of the demo bundles runs in Chromium through the app's
// ORT-web setup (harness.html → engine/ort-web) on the native WebGPU EP (SwiftShader) and on wasm, fetched from
// /models/demo… of the preview server, and matches onnxruntime-node run in this process on the same feeds
// (max|a−b| / max|b| ≤ 1e-4). Also: the adapter is SwiftShader without shader-f16, and ORT's verbose log of the
// int8 U-Net's WebGPU session shows no weight op (DequantizeLinear/Conv/MatMul/Gemm) fell back to the CPU.
// The bundles are (re)built into dist/models before the tests (the preview server serves new files as they appear),
// so only `vite build` is needed first for harness.html.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test, expect, type Page } from '@playwright/test';
import { buildBundles } from '../scripts/models/bundle';
import { MODEL_CASES, relError, type PlainFeeds } from '../scripts/models/feeds';
import { decodeModel } from '../scripts/models/onnx-builder';
import { run as runNode, session as nodeSession, type Outputs } from '../tests/models/helpers';
import { parsePlacements } from '../scripts/convert/quantize/placement';

const DIST_MODELS = resolve(process.cwd().endsWith('e2e') ? '..' : '.', 'dist/models');
const TOLERANCE = 1e-4;

interface PlainTensor { type: string; dims: number[]; data: number[] }
interface RunResult { outputs: Record<string, PlainTensor>; createMs: number; runMs: number; runsMs: number[] }

const reference = new Map<string, Outputs>();
const feedsOf = new Map<string, PlainFeeds>();
/** Console lines of the page (ORT's verbose log goes there). */
const consoleLines: string[] = [];

test.describe.configure({ mode: 'serial' });

let page: Page;

test.beforeAll(async ({ browser }) => {
  buildBundles({ outDir: DIST_MODELS });
  for (const c of MODEL_CASES) {
    const feeds = c.feeds();
    feedsOf.set(c.id, feeds);
    // onnxruntime-node's CPU EP at its default level fuses DequantizeLinear+MatMul into com.microsoft MatMulNBits
    // (8-bit), which moves the int8 U-Net by ~2.6e-3; 'basic' keeps the exact dequantize-then-float math that both
    // browser EPs do, so it is the reference for the int8 model.
    const s = await nodeSession(join(DIST_MODELS, c.bundle, c.path), c.id === 'unet_int8' ? { graphOptimizationLevel: 'basic' } : {});
    reference.set(c.id, await runNode(s, feeds));
  }
  page = await browser.newPage();
  page.on('console', (m) => consoleLines.push(m.text()));
  await page.goto('/harness.html');
  await page.waitForFunction(() => !!window.__harness);
});

test.afterAll(async () => {
  await page?.close();
});

async function runInPage(url: string, ep: 'webgpu' | 'wasm', feeds: PlainFeeds, opts: { verbose?: boolean } = {}): Promise<RunResult> {
  return page.evaluate(([u, e, f, o]) => window.__harness!.run(u, e, f as never, o), [url, ep, feeds, opts] as const) as Promise<RunResult>;
}

test('WebGPU adapter is SwiftShader without shader-f16', async () => {
  const info = await page.evaluate(() => window.__harness!.adapterInfo());
  console.log(`adapter: ${info.vendor} / ${info.architecture} / ${info.description}; ${info.features.length} features`);
  expect(info.available).toBe(true);
  expect(info.architecture).toBe('swiftshader');
  expect(info.features).not.toContain('shader-f16');
});

for (const c of MODEL_CASES) {
  test(`${c.id} (${c.bundle}/${c.path}): webgpu and wasm match onnxruntime-node`, async () => {
    const url = `/models/${c.bundle}/${c.path}`;
    const ref = reference.get(c.id)!;
    for (const ep of ['wasm', 'webgpu'] as const) {
      // The int8 U-Net's WebGPU session logs verbosely, to see where ORT placed its nodes.
      const verbose = c.id === 'unet_int8' && ep === 'webgpu';
      const from = consoleLines.length;
      const r = await runInPage(url, ep, feedsOf.get(c.id)!, { verbose });
      expect(Object.keys(r.outputs).sort()).toEqual(Object.keys(ref).sort());
      const errs: string[] = [];
      for (const [name, want] of Object.entries(ref)) {
        const got = r.outputs[name];
        expect(got.dims, `${ep} ${name} dims`).toEqual(want.dims);
        const err = relError(got.data, want.data);
        errs.push(`${name} ${err.toExponential(2)}`);
        expect(err, `${c.id} ${ep} ${name}`).toBeLessThanOrEqual(TOLERANCE);
      }
      console.log(`${c.id.padEnd(18)} ${ep.padEnd(6)} create ${r.createMs.toFixed(0).padStart(5)} ms, first run ${r.runMs.toFixed(0).padStart(5)} ms; rel err ${errs.join(', ')}`);
      if (verbose) {
        const placed = parsePlacements(consoleLines.slice(from));
        const summary = [...placed].map(([e, nodes]) => `${e}: ${nodes.length} nodes`).join(', ');
        const cpu = placed.get('CPUExecutionProvider') ?? [];
        console.log(`int8 U-Net on WebGPU, node placement: ${summary}\n  on CPU: ${cpu.join(', ')}`);
        expect(placed.get('WebGpuExecutionProvider')?.length ?? 0, 'ORT verbose log reports the WebGPU placement').toBeGreaterThan(0);
        const dqNodes = decodeModel(readFileSync(join(DIST_MODELS, c.bundle, c.path))).graph!.node!.filter((n) => n.opType === 'DequantizeLinear').length;
        expect(placed.get('WebGpuExecutionProvider')!.filter((n) => n.startsWith('DequantizeLinear ')).length).toBe(dqNodes);
        // Only shape/index bookkeeping may run on the CPU: no weight op (dequantize, conv, matmul) falls back.
        expect(cpu.filter((n) => /^(DequantizeLinear|Conv|MatMul|Gemm|MatMulNBits) /.test(n))).toEqual([]);
      }
    }
  });
}
