// The CPU half of `npm run bench`: the engine on onnxruntime-node, used exactly as the CLI uses it (nodeEngine →
// load({url, backend: 'cpu'}) → generate). Where the time of one image goes and what each feature costs, as ratios so
// that the numbers carry across machines:
//   1. pipeline overhead   total time / time inside ORT session.run (JS tokenizer, schedulers, CFG, copies);
//   2. PSA cost            per-step U-Net time, PSA bundle vs plain bundle (same weights otherwise);
//   3. kernel loop         per-image time, device-form step-kernel loop vs CPU reference loop (the kernel form
//                          is what WebGPU runs; on the CPU it shows the cost of one extra ORT call per step);
//   4. int8 U-Net          per-step time and file size, int8 vs fp32;
//   5. CFG                 per-step U-Net time, guidance 7.5 (batch 2) vs 1.0 (batch 1);
//   6. SLD                 U-Net calls and batch per step with Safe Latent Diffusion;
//   plus cold vs warm (the first image after load against the warm median) and the pipeline overhead on the
//   Python-made diffusers (Optimum layout) bundle in fixtures/parity/bundle.
// Each case gets its load timed and its first (cold) image kept apart, then warm-ups, then the repeats run
// round-robin across cases (so drift hits them all alike) and the medians are compared.

import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Variant } from '../../src/shared/bundle';
import type { GenerateParams, GenerateResult } from '../../src/shared/types';
import type { Engine } from '../../src/engine/engine';
import { nodeEngine } from '../../src/engine/node-host';
import { DIFFUSERS_SAFETY_CONCEPT, sldParams } from '../../src/safety/sld';
import { modelsDir } from '../lib/demo-bundles';
import type { BackendResult } from './schema';
import { cv, madRatio, median } from './stats';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const PARITY = path.join(ROOT, 'fixtures', 'parity', 'bundle');

type Timings = GenerateResult['timings'];

interface Case {
  name: string;
  bundle: string;
  variant?: Variant;
  loop: 'reference' | 'kernel';
  guidance: number;
  sld?: boolean;
  engine?: Engine;
  params?: GenerateParams;
  loadMs: number;
  cold?: GenerateResult;
  runs: GenerateResult[];
}

export interface CpuOptions {
  steps: number;
  repeats: number;
  warmup: number;
}

export interface CpuBench {
  result: BackendResult;
  /** The printed table: name, value, meaning. */
  rows: [string, string, string][];
  wallS: number;
}

async function prepare(c: Case, steps: number): Promise<void> {
  const engine = nodeEngine(() => undefined);
  engine.loop = c.loop;
  const t0 = performance.now();
  const info = await engine.load({ url: c.bundle, backend: 'cpu', ...(c.variant ? { variant: c.variant } : {}) });
  c.loadMs = performance.now() - t0;
  c.engine = engine;
  c.params = {
    prompt: 'a photo of a cat on a windowsill',
    negativePrompt: 'blurry',
    seed: 42,
    steps,
    scheduler: 'euler',
    guidance: c.guidance,
    width: info.defaultSize.width,
    height: info.defaultSize.height,
    ...(c.sld ? { sld: sldParams('medium', DIFFUSERS_SAFETY_CONCEPT) } : {}),
  };
}

const runOnce = (c: Case): Promise<GenerateResult> => c.engine!.generate(`bench-${c.name}`, c.params!);

export async function benchCpu(o: CpuOptions): Promise<CpuBench> {
  const models = modelsDir();
  const demo = path.join(models, 'demo');
  const mk = (name: string, bundle: string, x: Partial<Case> = {}): Case => ({ name, bundle, loop: 'reference', guidance: 7.5, loadMs: 0, runs: [], ...x });
  const psa = mk('psa', demo);
  const plain = mk('plain', path.join(models, 'demo-plain'));
  const kernel = mk('psa-kernel', demo, { loop: 'kernel' });
  const int8 = mk('psa-int8', demo, { variant: 'int8' });
  const noCfg = mk('psa-nocfg', demo, { guidance: 1 });
  const sld = mk('psa-sld', demo, { sld: true });
  const parity = existsSync(path.join(PARITY, 'model_index.json')) ? mk('diffusers', PARITY) : undefined;
  const cases = [psa, plain, kernel, int8, noCfg, sld, ...(parity ? [parity] : [])];

  const t0 = performance.now();
  for (const c of cases) {
    await prepare(c, o.steps);
    c.cold = await runOnce(c);
    for (let i = 0; i < o.warmup; i++) await runOnce(c);
  }
  for (let r = 0; r < o.repeats; r++) for (const c of cases) c.runs.push(await runOnce(c));
  for (const c of cases) await c.engine!.unload();
  const wallS = (performance.now() - t0) / 1000;

  const med = (c: Case, pick: (t: Timings) => number) => median(c.runs.map((r) => pick(r.timings)));
  const perStep = (t: Timings) => t.unetRunMs / o.steps;
  const total = (t: Timings) => t.totalMs;
  const [fp32Bytes, int8Bytes] = await Promise.all(['model.onnx', 'model.int8.onnx'].map(async (f) => (await fs.stat(path.join(demo, 'unet', f))).size));

  const last = psa.runs.at(-1)!;
  const lastSld = sld.runs.at(-1)!;
  const warm = med(psa, total);
  const result: BackendResult = {
    overhead_ratio: warm / med(psa, (t) => t.sessionRunMs),
    readbacks_per_step: last.readbacks / o.steps,
    unet_calls_per_step: (last.unet?.calls ?? NaN) / o.steps,
    unet_batch: last.unet?.batch ?? NaN,
    sld_unet_calls_per_step: (lastSld.unet?.calls ?? NaN) / o.steps,
    sld_unet_batch: lastSld.unet?.batch ?? NaN,
    psa_overhead_ratio: med(psa, perStep) / med(plain, perStep),
    warm_speedup: psa.cold!.timings.totalMs / warm,
    ms_per_step: med(psa, (t) => t.denoiseMs) / o.steps,
    first_image_ms: psa.loadMs + psa.cold!.timings.totalMs,
    load_ms: psa.loadMs,
    cold_image_ms: psa.cold!.timings.totalMs,
    warm_image_ms: warm,
    noise_cv: cv(psa.runs.map((r) => r.timings.totalMs)),
    runs: psa.runs.length,
    steps: o.steps,
    device: 'onnxruntime-node CPU EP',
  };

  const f = (x: number) => x.toFixed(3);
  const rows: [string, string, string][] = [
    ['pipeline overhead', f(result.overhead_ratio), `× total / session.run (PSA demo, ${o.steps} steps euler, CFG 7.5; ${warm.toFixed(1)} ms/image)`],
    ['PSA cost', f(result.psa_overhead_ratio), `× U-Net ms/step PSA / plain (${med(psa, perStep).toFixed(2)} vs ${med(plain, perStep).toFixed(2)} ms)`],
    ['kernel vs reference loop', f(med(kernel, total) / warm), `× ms/image, step-kernel loop / CPU reference loop (${med(kernel, total).toFixed(1)} vs ${warm.toFixed(1)} ms)`],
    ['int8 vs fp32 U-Net time', f(med(int8, perStep) / med(psa, perStep)), `× U-Net ms/step int8 / fp32 (${med(int8, perStep).toFixed(2)} vs ${med(psa, perStep).toFixed(2)} ms)`],
    ['int8 vs fp32 U-Net size', f(int8Bytes / fp32Bytes), `× unet/model.int8.onnx / model.onnx (${int8Bytes} vs ${fp32Bytes} bytes)`],
    ['CFG vs no CFG', f(med(psa, perStep) / med(noCfg, perStep)), `× U-Net ms/step, guidance 7.5 (batch 2) / 1.0 (batch 1)`],
    ['SLD U-Net calls', `${result.sld_unet_calls_per_step}`, `per step, batch ${result.sld_unet_batch} (CFG alone: ${result.unet_calls_per_step} per step, batch ${result.unet_batch})`],
    ['warm speedup', f(result.warm_speedup), `× cold first image / warm image (${result.cold_image_ms.toFixed(1)} vs ${warm.toFixed(1)} ms; load ${result.load_ms.toFixed(0)} ms)`],
  ];
  if (parity) rows.push(['diffusers bundle overhead', f(med(parity, total) / med(parity, (t) => t.sessionRunMs)), `× total / session.run (fixtures/parity/bundle, Optimum layout; ${med(parity, total).toFixed(1)} ms/image)`]);
  const noisiest = cases.reduce((a, b) => (madRatio(b.runs.map((r) => r.timings.totalMs)) > madRatio(a.runs.map((r) => r.timings.totalMs)) ? b : a));
  rows.push(['noise', f(madRatio(noisiest.runs.map((r) => r.timings.totalMs))), `MAD / median of ms/image, worst case (${noisiest.name}); > 0.1: rerun on an idle machine or raise --repeats`]);
  return { result, rows, wallS };
}
