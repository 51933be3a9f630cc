// bench-results.json (scripts/bench/schema.ts): a quick real `npm run bench` on the tiny models (CPU backend, 3 steps,
// one timed run) writes a file whose every key is present and well typed, with targets marked; and the checker is not
// a rubber stamp — it names a missing key, a backend neither run nor skipped, and a browser run without Chromium's
// version. Timings themselves are never asserted (they belong to the bench, not the tests).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BACKEND_KEYS, checkBenchResults, type BenchResults } from '../../scripts/bench/schema';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const dir = mkdtempSync(path.join(tmpdir(), 'bench-results-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let cached: { file: BenchResults; stdout: string } | undefined;
/** One quick CPU bench for the whole file (builds the app into a temporary folder for js_gzip_bytes). */
function quickBench(): { file: BenchResults; stdout: string } {
  if (cached) return cached;
  const out = path.join(dir, 'bench-results.json');
  const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'scripts/bench.ts'), '--backends', 'cpu', '--steps', '3', '--repeats', '1', '--warmup', '0', '--out', out], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ORT_LOG_LEVEL: 'error' },
  });
  if (r.status !== 0) throw new Error(`bench exited ${r.status}: ${r.stderr.slice(-2000)}`);
  cached = { file: JSON.parse(readFileSync(out, 'utf8')) as BenchResults, stdout: r.stdout };
  return cached;
}

describe('bench-results.json from a quick CPU run', () => {
  it('has every key for the cpu backend, the machine, the app JavaScript and marked targets; the table is still printed', () => {
    const { file, stdout } = quickBench();
    expect(checkBenchResults(file, ['cpu'])).toEqual([]);
    expect(Object.keys(file.backends)).toEqual(['cpu']);
    for (const k of BACKEND_KEYS) expect(file.backends.cpu, k).toHaveProperty(k);
    const cpu = file.backends.cpu!;
    // Counts, not timings: one U-Net call per step at batch 2 with CFG, batch 3 with SLD, no GPU reads on the CPU.
    expect([cpu.unet_calls_per_step, cpu.unet_batch, cpu.sld_unet_calls_per_step, cpu.sld_unet_batch, cpu.readbacks_per_step]).toEqual([1, 2, 1, 3, 0]);
    expect(cpu.steps).toBe(3);
    expect(cpu.runs).toBe(1);
    expect(cpu.first_image_ms).toBeCloseTo(cpu.load_ms + cpu.cold_image_ms, 6);
    expect(file.machine.cores).toBeGreaterThan(0);
    expect(file.machine.chromium_version).toBeNull();
    expect(file.js_gzip_bytes).toBeGreaterThan(10_000);
    // full_size carries bench-full-size.json (the opt-in full-size measurement) when the repo has one, else null.
    const full = existsSync(path.join(ROOT, 'bench-full-size.json')) ? JSON.parse(readFileSync(path.join(ROOT, 'bench-full-size.json'), 'utf8')) : null;
    expect(file.full_size).toEqual(full);
    expect(file.targets.map((t) => t.name)).toEqual(expect.arrayContaining(['overhead_ratio', 'psa_overhead_ratio', 'warm_speedup', 'js_gzip_bytes']));
    expect(file.targets.every((t) => typeof t.pass === 'boolean')).toBe(true);
    expect(stdout).toMatch(/pipeline overhead\s+\d/);
    expect(stdout).toMatch(/[✓✗] cpu\s+warm_speedup/);
  }, 10 * 60_000);

  it('the checker names what is wrong', () => {
    const { file } = quickBench();
    const clone = () => JSON.parse(JSON.stringify(file)) as BenchResults;
    const noKey = clone();
    delete (noKey.backends.cpu as Partial<typeof noKey.backends.cpu>)!.warm_speedup;
    expect(checkBenchResults(noKey)).toEqual(['.backends.cpu.warm_speedup: expected a finite number, got undefined']);
    expect(checkBenchResults(clone(), ['cpu', 'wasm'])).toEqual(['.backends.wasm: neither run nor skipped with a reason']);
    const skipped = clone();
    skipped.skipped.wasm = 'no browser here';
    expect(checkBenchResults(skipped, ['cpu', 'wasm'])).toEqual([]);
    const browser = clone();
    browser.backends.wasm = { ...browser.backends.cpu! };
    expect(checkBenchResults(browser)).toEqual([".machine.chromium_version: a browser backend ran, so Chromium's version is expected"]);
    const nan = clone();
    nan.backends.cpu!.ms_per_step = NaN;
    expect(checkBenchResults(nan)[0]).toMatch(/ms_per_step: expected a finite number/);
  }, 10 * 60_000);
});
