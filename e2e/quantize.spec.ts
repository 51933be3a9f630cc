// The converter's quantized U-Nets in Chromium's WebGPU (SwiftShader, no shader-f16), through the app's ORT-web
// setup (harness.html): the tiny fixture converted with --quantize none,fp16,int8,q4 (inline weights) runs as
// fp32, int8 and q4 (4-bit MatMulNBits with float32 activations) with every node that computes on weights or
// activations on the WebGPU EP (ORT's verbose placement log; only int64 shape bookkeeping and a few shape-derived
// scalars stay on the CPU, as for the float32 graph), every DequantizeLinear / MatMulNBits placed on WebGPU, and
// outputs matching onnxruntime-node on the same file. The fp16 U-Net is refused loudly on this adapter (no
// shader-f16), never run into zeros. fp16 and q4f16 on a WebGPU EP with shader-f16: `npm run check:webgpu-node`.
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test, expect, type Page } from '@playwright/test';
import * as ort from 'onnxruntime-node';
import { convert, type ConvertResult } from '../scripts/convert/bundle';
import { loadOnnx } from '../scripts/convert/onnx-model';
import { judgePlacement, parsePlacements } from '../scripts/convert/quantize/placement';
import { noise, type PlainFeeds } from '../scripts/models/feeds';
import { makeSd15, ref, tmpDir } from '../tests/convert/helpers';

const ROOT = resolve(process.cwd().endsWith('e2e') ? '..' : '.');
const OUT = join(ROOT, 'dist', 'quantize-e2e');
const consoleLines: string[] = [];
let page: Page;
let bundle: ConvertResult;
let feeds: PlainFeeds;

interface PlainTensor { type: string; dims: number[]; data: number[] }
interface RunResult { outputs: Record<string, PlainTensor>; createMs: number; runMs: number }

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

async function nodeRun(file: string): Promise<Float32Array> {
  // 'basic': the CPU EP's default level fuses DequantizeLinear + MatMul into an 8-bit kernel; basic keeps the
  // dequantize-then-float math the browser EPs do.
  const s = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'basic', logSeverityLevel: 3 });
  const f = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, v.type === 'int64' ? new ort.Tensor('int64', BigInt64Array.from(v.data, (x) => BigInt(x)), v.dims) : new ort.Tensor('float32', Float32Array.from(v.data), v.dims)]));
  const out = (await s.run(f)).out_sample.data as Float32Array;
  await s.release();
  return out;
}

test.describe.configure({ mode: 'serial' });

test.beforeAll(async ({ browser }) => {
  rmSync(OUT, { recursive: true, force: true });
  const tmp = tmpDir('quantize-e2e-');
  try {
    // Inline weights (the fixture's plain unet/): the harness loads one .onnx file per model.
    bundle = convert({ sd15: makeSd15(tmp, 'unet'), psa: join(ROOT, 'fixtures/convert/psa_adapter.bin'), out: OUT, quantize: 'none,fp16,int8,q4' });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const sample = ref('sample');
  const [B] = sample.shape;
  feeds = {
    sample: { type: 'float32', dims: sample.shape, data: Array.from(sample.data) },
    timestep: { type: 'int64', dims: [1], data: [981] },
    encoder_hidden_states: { type: 'float32', dims: [B, 78, 16], data: noise('quantize.ehs', B * 78 * 16) },
    psa_scale: { type: 'float32', dims: [1], data: [1] },
  };
  page = await browser.newPage();
  page.on('console', (m) => consoleLines.push(m.text()));
  await page.goto('/harness.html');
  await page.waitForFunction(() => !!window.__harness);
});

test.afterAll(async () => {
  await page?.close();
  rmSync(OUT, { recursive: true, force: true });
});

const url = (v: string) => `/quantize-e2e/${bundle.manifest.components.unet.variants[v as 'fp32']!.path}`;
const runInPage = (u: string, verbose: boolean): Promise<RunResult> =>
  page.evaluate(([m, f, o]) => window.__harness!.run(m, 'webgpu', f as never, o), [u, feeds, { verbose }] as const) as Promise<RunResult>;

test('adapter: SwiftShader without shader-f16', async () => {
  const info = await page.evaluate(() => window.__harness!.adapterInfo());
  expect(info.available).toBe(true);
  expect(info.features).not.toContain('shader-f16');
});

const fp32Out: { data?: Float32Array } = {};
for (const variant of ['fp32', 'int8', 'q4'] as const) {
  test(`${variant} U-Net: every weight/activation node on WebGPU, output = onnxruntime-node`, async () => {
    expect(existsSync(join(OUT, 'unet'))).toBe(true);
    const file = join(OUT, bundle.manifest.components.unet.variants[variant]!.path);
    const model = loadOnnx(file, join(OUT, 'unet'), variant).model;
    const from = consoleLines.length;
    const r = await runInPage(url(variant), true);
    const verdict = judgePlacement(parsePlacements(consoleLines.slice(from)), model);
    const gpu = parsePlacements(consoleLines.slice(from)).get('WebGpuExecutionProvider') ?? [];
    const want = await nodeRun(file);
    const got = r.outputs.out_sample.data;
    const err = relErr(got, want);
    if (variant === 'fp32') fp32Out.data = Float32Array.from(got);
    const vsFp32 = fp32Out.data ? relErr(got, fp32Out.data) : NaN;
    console.log(`${variant.padEnd(5)} WebGPU placement ${JSON.stringify(verdict.counts)} (shape-derived float scalars on CPU: ${verdict.cpuScalarFloat.length}); rel err vs onnxruntime-node ${err.toExponential(2)}, vs fp32 on WebGPU ${vsFp32.toExponential(2)}; create ${r.createMs.toFixed(0)} ms, run ${r.runMs.toFixed(0)} ms`);
    expect(gpu.length, 'ORT verbose log reports the WebGPU placement').toBeGreaterThan(0);
    expect(verdict.cpuFloat).toEqual([]);
    for (const op of ['DequantizeLinear', 'MatMulNBits']) {
      const inModel = model.graph!.node!.filter((n) => n.opType === op).length;
      expect(gpu.filter((n) => n.startsWith(`${op} `)).length, `${op} nodes on WebGPU`).toBe(inModel);
      if (variant === 'int8' && op === 'DequantizeLinear') expect(inModel).toBeGreaterThan(50);
      if (variant === 'q4' && op === 'MatMulNBits') expect(inModel).toBeGreaterThan(5);
    }
    expect(err).toBeLessThan(1e-3);
    if (variant !== 'fp32') expect(vsFp32).toBeLessThan(5e-2);
  });
}

test('fp16 U-Net: refused with an f16 error on an adapter without shader-f16 (never silent zeros)', async () => {
  const r = await runInPage(url('fp16'), false).then(() => 'ran', (e: Error) => e.message);
  expect(r).toMatch(/f16/i);
});
