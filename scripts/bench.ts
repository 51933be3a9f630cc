// `npm run bench`: how fast the engine is on this machine, per backend — `cpu` (onnxruntime-node, in this process:
// scripts/bench/cpu.ts), `wasm` and `webgpu` (Chromium driven by Playwright: scripts/bench/browser.ts →
// e2e/measure/bench.spec.ts) — plus the first screen's JavaScript (gzip, from a production build), the machine and a
// noise gauge. Prints the CPU table, one line per backend, and the issue's targets with ✓/✗; writes everything to
// bench-results.json (schema: scripts/bench/schema.ts) for other tools to read.
// Why: speed targets live here, not in the tests, because timings on shared machines are noisy. The bench never
// fails on a missed target; it exits 1 only when it could not measure (or its own file would break the schema).
//   npm run bench [-- --backends cpu,wasm,webgpu] [--repeats N] [--steps N] [--warmup N] [--out FILE] [--port N]

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCli, UsageError, wholeArg } from './lib/args';
import { ensureDemoBundles } from './lib/demo-bundles';
import { JS_BUDGET_BYTES, measureBudget } from './build/js-budget';
import { benchBrowser } from './bench/browser';
import { benchCpu } from './bench/cpu';
import { thisMachine } from './bench/machine';
import { BACKENDS, BENCH_SCHEMA, checkBenchResults, targetsOf, type BackendName, type BenchResults } from './bench/schema';

const ROOT = path.resolve(import.meta.dirname, '..');
const USAGE = 'usage: npm run bench [-- --backends cpu,wasm,webgpu] [--repeats N (default 15 on the CPU, 5 in the browser)] [--steps N (default 20)] [--warmup N (CPU, default 2)] [--out FILE (default bench-results.json)] [--port N (default 4190)]';

/**
 * Gzip bytes of the first screen's JavaScript, from a production build made in a temporary folder (dist/ untouched).
 * NODE_ENV is set: under a test runner (NODE_ENV=test) Vite would otherwise bundle React's development build.
 */
function jsGzipBytes(): number {
  const out = mkdtempSync(path.join(os.tmpdir(), 'psa-bench-dist-'));
  try {
    const r = spawnSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'error', '--outDir', out, '--emptyOutDir'], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, PSA_HARNESS: '', NODE_ENV: 'production' } });
    if (r.status !== 0) throw new Error('the production build (vite build) failed; see above');
    return measureBudget(out).total;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * The full-size measurement (e2e/measure/full-size.spec.ts, opt-in and far too long for a bench run) writes
 * bench-full-size.json; its latest figures travel in this file's `full_size` section. Null when there is none.
 */
function fullSize(): Record<string, unknown> | null {
  const file = path.join(ROOT, 'bench-full-size.json');
  if (!existsSync(file)) return null;
  const j = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  if (j.schema !== 'psa-web/full-size@1') throw new Error(`${file}: schema "${String(j.schema)}" is not psa-web/full-size@1`);
  return j;
}

async function main(argv: string[]): Promise<void> {
  const { values } = parseCli(argv, {
    backends: { type: 'string' }, repeats: { type: 'string' }, steps: { type: 'string' }, warmup: { type: 'string' }, out: { type: 'string' }, port: { type: 'string' }, help: { type: 'boolean' },
  });
  if (values.help) return console.log(USAGE);
  const backends = (values.backends ?? BACKENDS.join(',')).split(',').map((s) => s.trim()) as BackendName[];
  for (const b of backends) if (!BACKENDS.includes(b)) throw new UsageError(`--backends: "${b}" is not one of ${BACKENDS.join(', ')}`);
  const repeats = wholeArg('repeats', values.repeats, 1);
  const steps = wholeArg('steps', values.steps, 3) ?? 20;
  const warmup = wholeArg('warmup', values.warmup, 0) ?? 2;
  const port = wholeArg('port', values.port, 1) ?? 4190;
  const out = path.resolve(values.out ?? path.join(ROOT, 'bench-results.json'));
  ensureDemoBundles((l) => console.log(l));

  const t0 = performance.now();
  const machine = thisMachine();
  const results: BenchResults = {
    schema: BENCH_SCHEMA, created_at: new Date().toISOString(), model: 'tiny demo bundles (public/models/demo, demo-plain): SD1.5 + PSA interface, random weights',
    machine, js_gzip_bytes: 0, js_budget_bytes: JS_BUDGET_BYTES, backends: {}, skipped: {}, targets: [], full_size: null,
  };
  results.js_gzip_bytes = jsGzipBytes();
  results.full_size = fullSize();

  if (backends.includes('cpu')) {
    const cpu = await benchCpu({ steps, repeats: repeats ?? 15, warmup });
    results.backends.cpu = cpu.result;
    console.log(`\nonnxruntime-node on the CPU; 1 cold + ${warmup} warm-up + ${repeats ?? 15} timed runs per case, medians; ${cpu.wallS.toFixed(1)} s`);
    const w0 = Math.max(...cpu.rows.map((r) => r[0].length));
    const w1 = Math.max(...cpu.rows.map((r) => r[1].length));
    console.log(`${'name'.padEnd(w0)}  ${'value'.padStart(w1)}  unit / meaning`);
    for (const [n, v, u] of cpu.rows) console.log(`${n.padEnd(w0)}  ${v.padStart(w1)}  ${u}`);
  }
  const browser = backends.filter((b): b is 'wasm' | 'webgpu' => b !== 'cpu');
  if (browser.length) {
    const b = benchBrowser({ backends: browser, steps, repeats: repeats ?? 5, port });
    Object.assign(results.backends, b.backends);
    Object.assign(results.skipped, b.skipped);
    machine.chromium_version = b.chromium_version;
    machine.adapter = b.adapter;
  }
  results.targets = targetsOf(results.backends, { bytes: results.js_gzip_bytes, budget: JS_BUDGET_BYTES });

  console.log(`\nmachine: ${machine.cpu_model}, ${machine.cores} cores, ${(machine.memory_bytes / 2 ** 30).toFixed(1)} GiB, node ${machine.node}, ${machine.platform}`
    + `${machine.chromium_version ? `, Chromium ${machine.chromium_version}` : ''}${machine.adapter ? `, WebGPU adapter ${machine.adapter.vendor} ${machine.adapter.architecture} ${machine.adapter.description}${machine.adapter.isFallbackAdapter ? ' (fallback)' : ''}` : ''}`);
  console.log(`first screen JavaScript: ${(results.js_gzip_bytes / 1000).toFixed(1)} kB gzip (budget ${JS_BUDGET_BYTES / 1000} kB)\n`);
  const cols = ['overhead_ratio', 'psa_overhead_ratio', 'readbacks_per_step', 'unet_calls_per_step', 'sld_unet_calls_per_step', 'warm_speedup', 'ms_per_step', 'first_image_ms', 'noise_cv'] as const;
  console.log(`${'backend'.padEnd(8)}${cols.map((c) => c.padStart(c.length + 2)).join('')}`);
  for (const b of BACKENDS) {
    const r = results.backends[b];
    if (r) console.log(`${b.padEnd(8)}${cols.map((c) => (Number.isInteger(r[c]) ? String(r[c]) : r[c].toFixed(3)).padStart(c.length + 2)).join('')}`);
    else if (results.skipped[b]) console.log(`${b.padEnd(8)}  skipped: ${results.skipped[b]}`);
  }
  console.log('\ntargets (one run; ratios carry across machines, single runs are noisy — see noise_cv):');
  for (const t of results.targets) console.log(`  ${t.pass ? '✓' : '✗'} ${t.backend.padEnd(7)} ${t.name.padEnd(40)} ${String(+t.value.toFixed(4)).padStart(10)}  target ${t.target}`);

  const problems = checkBenchResults(results, backends);
  writeFileSync(out, `${JSON.stringify(results, null, 1)}\n`);
  console.log(`\nwrote ${path.relative(process.cwd(), out) || out} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  if (problems.length) throw new Error(`bench-results.json breaks its schema: ${problems.join('; ')}`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e) => {
    console.error(`bench: ${(e as Error).message.split('\n')[0]}`);
    process.exit(e instanceof UsageError ? 2 : 1);
  },
);
