// `npm run bench [-- --repeats N]`: speed ratios of the engine on this machine's CPU (onnxruntime-node), used
// exactly as the CLI uses it (nodeEngine → load({url, backend: 'cpu'}) → generate). It measures where the time of
// one image goes and what each feature costs, as ratios so that the numbers carry across machines:
//   1. pipeline overhead   total time / time inside ORT session.run (JS tokenizer, schedulers, CFG, copies);
//   2. PSA cost            per-step U-Net time, PSA bundle vs plain bundle (same weights otherwise);
//   3. kernel loop         per-image time, device-form step-kernel loop vs CPU reference loop (the kernel form
//                          is what WebGPU runs; on the CPU it shows the cost of one extra ORT call per step);
//   4. int8 U-Net          per-step time and file size, int8 vs fp32;
//   5. CFG                 per-step U-Net time, guidance 7.5 (batch 2) vs 1.0 (batch 1);
//   plus the pipeline overhead on the Python-made diffusers (Optimum layout) bundle in fixtures/parity/bundle.
// Why: speed targets live here, not in the tests, because timings on shared machines are noisy. The bench only
// prints (never asserts) and exits 0. Each case gets warm-up runs, then the repeats run round-robin across cases
// (so drift hits them all alike) and the medians are compared. Browser WebGPU/WASM numbers come from the e2e suite.

import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Variant } from '../src/shared/bundle';
import type { GenerateParams, GenerateResult } from '../src/shared/types';
import type { Engine } from '../src/engine/engine';
import { nodeEngine } from '../src/engine/node-host';
import { ensureDemoBundles, modelsDir } from './lib/demo-bundles';

const ROOT = path.resolve(import.meta.dirname, '..');
const MODELS = modelsDir();
const DEMO = path.join(MODELS, 'demo');
const PLAIN = path.join(MODELS, 'demo-plain');
const PARITY = path.join(ROOT, 'fixtures', 'parity', 'bundle');
const MEASUREMENTS = path.join(ROOT, '.tmp', 'measurements.json');
const STEPS = 20;
const WARMUP = 2;

type Timings = GenerateResult['timings'];

interface Case {
  name: string;
  bundle: string;
  variant?: Variant;
  loop: 'reference' | 'kernel';
  guidance: number;
  engine?: Engine;
  params?: GenerateParams;
  runs: Timings[];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const med = (c: Case, pick: (t: Timings) => number): number => median(c.runs.map(pick));
/** Noise gauge for the ratios: median absolute deviation of a case's ms/image over its median (outlier-proof). */
const spread = (c: Case): number => {
  const xs = c.runs.map((t) => t.totalMs);
  const m = median(xs);
  return median(xs.map((x) => Math.abs(x - m))) / m;
};
const perStep = (t: Timings) => t.unetRunMs / STEPS;

async function prepare(c: Case): Promise<void> {
  const engine = nodeEngine(() => undefined);
  engine.loop = c.loop;
  const info = await engine.load({ url: c.bundle, backend: 'cpu', ...(c.variant ? { variant: c.variant } : {}) });
  c.engine = engine;
  c.params = {
    prompt: 'a photo of a cat on a windowsill',
    negativePrompt: 'blurry',
    seed: 42,
    steps: STEPS,
    scheduler: 'euler',
    guidance: c.guidance,
    width: info.defaultSize.width,
    height: info.defaultSize.height,
  };
}

async function runOnce(c: Case): Promise<Timings> {
  return (await c.engine!.generate(`bench-${c.name}`, c.params!)).timings;
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { repeats: { type: 'string' }, help: { type: 'boolean' } } });
  if (values.help) {
    console.log('usage: npm run bench [-- --repeats N]   (default 15)');
    return;
  }
  const repeats = values.repeats === undefined ? 15 : Number(values.repeats);
  if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats must be a whole number ≥ 1 (got "${values.repeats}")`);
  ensureDemoBundles((l) => console.log(l));

  const mk = (name: string, bundle: string, o: Partial<Case> = {}): Case => ({ name, bundle, loop: 'reference', guidance: 7.5, runs: [], ...o });
  const psa = mk('psa', DEMO);
  const plain = mk('plain', PLAIN);
  const kernel = mk('psa-kernel', DEMO, { loop: 'kernel' });
  const int8 = mk('psa-int8', DEMO, { variant: 'int8' });
  const noCfg = mk('psa-nocfg', DEMO, { guidance: 1 });
  const parity = existsSync(path.join(PARITY, 'model_index.json')) ? mk('diffusers', PARITY) : undefined;
  const cases = [psa, plain, kernel, int8, noCfg, ...(parity ? [parity] : [])];

  const t0 = performance.now();
  for (const c of cases) {
    await prepare(c);
    for (let i = 0; i < WARMUP; i++) await runOnce(c);
  }
  for (let r = 0; r < repeats; r++) for (const c of cases) c.runs.push(await runOnce(c));
  for (const c of cases) await c.engine!.unload();
  const wallS = (performance.now() - t0) / 1000;

  const [fp32Bytes, int8Bytes] = await Promise.all(['model.onnx', 'model.int8.onnx'].map(async (f) => (await fs.stat(path.join(DEMO, 'unet', f))).size));
  const ratio = (a: number, b: number) => a / b;
  const rows: [string, string, string][] = [
    ['pipeline overhead', ratio(med(psa, (t) => t.totalMs), med(psa, (t) => t.sessionRunMs)).toFixed(3), `× total / session.run (PSA demo, ${STEPS} steps euler, CFG 7.5; ${med(psa, (t) => t.totalMs).toFixed(1)} ms/image)`],
    ['PSA cost', ratio(med(psa, perStep), med(plain, perStep)).toFixed(3), `× U-Net ms/step PSA / plain (${med(psa, perStep).toFixed(2)} vs ${med(plain, perStep).toFixed(2)} ms)`],
    ['kernel vs reference loop', ratio(med(kernel, (t) => t.totalMs), med(psa, (t) => t.totalMs)).toFixed(3), `× ms/image, step-kernel loop / CPU reference loop (${med(kernel, (t) => t.totalMs).toFixed(1)} vs ${med(psa, (t) => t.totalMs).toFixed(1)} ms)`],
    ['int8 vs fp32 U-Net time', ratio(med(int8, perStep), med(psa, perStep)).toFixed(3), `× U-Net ms/step int8 / fp32 (${med(int8, perStep).toFixed(2)} vs ${med(psa, perStep).toFixed(2)} ms)`],
    ['int8 vs fp32 U-Net size', ratio(int8Bytes, fp32Bytes).toFixed(3), `× unet/model.int8.onnx / model.onnx (${int8Bytes} vs ${fp32Bytes} bytes)`],
    ['CFG vs no CFG', ratio(med(psa, perStep), med(noCfg, perStep)).toFixed(3), `× U-Net ms/step, guidance 7.5 (batch 2) / 1.0 (batch 1)`],
  ];
  if (parity) {
    rows.push(['diffusers bundle overhead', ratio(med(parity, (t) => t.totalMs), med(parity, (t) => t.sessionRunMs)).toFixed(3), `× total / session.run (fixtures/parity/bundle, Optimum layout; ${med(parity, (t) => t.totalMs).toFixed(1)} ms/image)`]);
  }
  const noisiest = cases.reduce((a, b) => (spread(b) > spread(a) ? b : a));
  rows.push(['noise', spread(noisiest).toFixed(3), `MAD / median of ms/image, worst case (${noisiest.name}); > 0.1: rerun on an idle machine or raise --repeats`]);

  const cpus = os.cpus();
  console.log(`machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, node ${process.version}, ${os.platform()}/${os.arch()}`);
  console.log(`onnxruntime-node on the CPU; ${WARMUP} warm-up + ${repeats} timed runs per case, medians; ${wallS.toFixed(1)} s\n`);
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  console.log(`${'name'.padEnd(w0)}  ${'value'.padStart(w1)}  unit / meaning`);
  for (const [n, v, u] of rows) console.log(`${n.padEnd(w0)}  ${v.padStart(w1)}  ${u}`);

  console.log('\nBrowser WebGPU/WASM numbers come from the e2e suite (`npm test` writes .tmp/measurements.json).');
  try {
    const m = JSON.parse(await fs.readFile(MEASUREMENTS, 'utf8')) as { timings?: unknown };
    if (m.timings !== undefined) console.log(`${path.relative(ROOT, MEASUREMENTS)} timings:\n${JSON.stringify(m.timings, null, 2)}`);
  } catch {
    console.log(`(${path.relative(ROOT, MEASUREMENTS)} not found or unreadable: run \`npm test\` for the browser numbers)`);
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e) => {
    console.error(`bench: ${(e as Error).message.split('\n')[0]}`);
    process.exit(1);
  },
);
