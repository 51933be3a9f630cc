// Runs the browser half of the bench: a test build (engine-harness.html needs PSA_HARNESS=1) into dist/, then
// e2e/measure/bench.spec.ts under the measurement config (its own vite preview), and reads what the spec wrote.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { BackendName, BackendResult, Machine } from './schema';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface BrowserBench {
  backends: Partial<Record<BackendName, BackendResult>>;
  skipped: Partial<Record<BackendName, string>>;
  chromium_version: string | null;
  adapter: Machine['adapter'];
}

export function benchBrowser(o: { backends: ('wasm' | 'webgpu')[]; steps: number; repeats: number; port: number }): BrowserBench {
  const out = path.join(ROOT, '.tmp', 'bench-browser.json');
  rmSync(out, { force: true });
  const node = process.execPath;
  const build = spawnSync(node, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, PSA_HARNESS: '1', NODE_ENV: 'production' } });
  if (build.status !== 0) throw new Error('the test build (PSA_HARNESS=1 vite build) failed; see above');
  const pw = spawnSync(node, ['node_modules/@playwright/test/cli.js', 'test', '-c', 'e2e/measure.config.ts', 'e2e/measure/bench.spec.ts'], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, E2E_PORT: String(o.port), PSA_BENCH_OUT: out, PSA_BENCH_BACKENDS: o.backends.join(','), PSA_BENCH_STEPS: String(o.steps), PSA_BENCH_REPEATS: String(o.repeats) },
  });
  const got = existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as Partial<BrowserBench>) : {};
  const skipped: BrowserBench['skipped'] = { ...got.skipped };
  for (const b of o.backends) {
    if (!got.backends?.[b] && !skipped[b]) skipped[b] = `the browser run did not finish it (Playwright exit ${pw.status}; see its log above)`;
  }
  return { backends: got.backends ?? {}, skipped, chromium_version: got.chromium_version ?? null, adapter: got.adapter ?? null };
}
