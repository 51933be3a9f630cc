#!/usr/bin/env node
// `npm test`: every suite, in order, with one closing line `N passed, N failed` totalled over all of them.
// Suites: build the tiny models → type check → layering → Vitest (Node: pure code + real ORT on tiny models) →
// production build → JavaScript budget (scripts/build/js-budget.ts, ≤ 250 kB gzip for the first screen) → Playwright (Debian Chromium: WebGPU on SwiftShader and WASM, real IndexedDB).
// Measurements (timings, memory: e2e/measure/, their own config e2e/measure.config.ts) are never run here.
// A suite that crashes before reporting counts as one failure, so a broken step can never read as green.
// `PSA_TEST_LOAD=N npm test` or `npm test -- --load N`: N busy processes keep N cores at 100% for the whole run
// (started and ended here, also on a crash or Ctrl-C), to prove the suite does not depend on the machine's speed.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const tmp = path.join(root, '.tmp');
fs.mkdirSync(tmp, { recursive: true });
const node = process.execPath;
const argv = process.argv.slice(2);
const loadAt = argv.indexOf('--load');
const loadArg = loadAt >= 0 ? argv.splice(loadAt, 2)[1] : process.env.PSA_TEST_LOAD;
const load = loadArg === undefined || loadArg === '' ? 0 : Number(loadArg);
if (!Number.isInteger(load) || load < 0 || load > 64) {
  console.error(`test-all: the load must be a whole number of busy processes from 0 to 64 (got "${loadArg}")`);
  process.exit(2);
}
const only = argv;
let passed = 0;
let failed = 0;
const lines = [];

function run(name, args, env = {}) {
  const t0 = Date.now();
  console.log(`\n=== ${name}: ${args.join(' ')}`);
  const r = spawnSync(node, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  return { code: r.status ?? 1, secs: ((Date.now() - t0) / 1000).toFixed(1) };
}

function step(name, args, env = {}) {
  if (only.length && !only.includes(name)) return;
  const r = run(name, args, env);
  if (r.code === 0) passed++;
  else failed++;
  lines.push(`${name}: ${r.code === 0 ? 'ok' : 'FAILED'} (${r.secs}s)`);
}

function vitest() {
  if (only.length && !only.includes('vitest')) return;
  const out = path.join(tmp, 'vitest.json');
  fs.rmSync(out, { force: true });
  const r = run('vitest', ['node_modules/vitest/vitest.mjs', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`]);
  try {
    const j = JSON.parse(fs.readFileSync(out, 'utf8'));
    passed += j.numPassedTests;
    failed += j.numFailedTests + (r.code !== 0 && j.numFailedTests === 0 ? 1 : 0);
    lines.push(`vitest: ${j.numPassedTests} passed, ${j.numFailedTests} failed, ${j.numPendingTests + j.numTodoTests} skipped (${r.secs}s)`);
  } catch {
    failed++;
    lines.push(`vitest: no report (exit ${r.code})`);
  }
}

/** Tests annotated test.fail() (known failures) in a Playwright JSON report. */
function knownFailures(suites) {
  let n = 0;
  for (const suite of suites) {
    for (const spec of suite.specs ?? []) {
      for (const t of spec.tests ?? []) if ((t.annotations ?? []).some((a) => a.type === 'fail')) n++;
    }
    n += knownFailures(suite.suites ?? []);
  }
  return n;
}

function playwright() {
  if (only.length && !only.includes('e2e')) return;
  const out = path.join(tmp, 'playwright.json');
  fs.rmSync(out, { force: true });
  const r = run('e2e', ['node_modules/@playwright/test/cli.js', 'test', '-c', 'e2e/playwright.config.ts', '--reporter=list,json'], {
    PLAYWRIGHT_JSON_OUTPUT_NAME: out,
  });
  try {
    const report = JSON.parse(fs.readFileSync(out, 'utf8'));
    const s = report.stats;
    const bad = s.unexpected + s.flaky;
    // A test marked test.fail() that fails is "expected" to Playwright; it is a known failure, never a pass here.
    const known = knownFailures(report.suites ?? []);
    passed += s.expected - known;
    failed += bad + (r.code !== 0 && bad === 0 ? 1 : 0);
    lines.push(`e2e: ${s.expected - known} passed, ${bad} failed, ${s.skipped + known} skipped${known ? ` (${known} of them known failures)` : ''} (${r.secs}s)`);
  } catch {
    failed++;
    lines.push(`e2e: no report (exit ${r.code})`);
  }
}

/**
 * Starts n processes that spin on a core each. Each also ends itself when this script is gone (its parent id
 * changes), so even a `kill -9` of the test run leaves no busy process behind.
 */
function startLoad(n) {
  if (!n) return () => undefined;
  const spin = `const p=process.ppid;for(;;){for(let i=0;i<5e7;i++);if(process.ppid!==p)process.exit(0)}`;
  const kids = Array.from({ length: n }, () => spawn(node, ['-e', spin], { stdio: 'ignore' }));
  console.log(`load: started ${n} busy process${n === 1 ? '' : 'es'} (pids ${kids.map((k) => k.pid).join(', ')}) for the whole run`);
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    for (const k of kids) k.kill('SIGKILL');
    console.log(`load: stopped ${n} busy process${n === 1 ? '' : 'es'}`);
  };
  process.on('exit', stop);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      stop();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (e) => {
    stop();
    console.error(e);
    process.exit(1);
  });
  return stop;
}

const t0 = Date.now();
const stopLoad = startLoad(load);
step('models', ['node_modules/tsx/dist/cli.mjs', 'scripts/models/build.ts']);
step('typecheck', ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--noEmit']);
if (fs.existsSync(path.join(root, '..', 'shared', 'tools', 'check-layers.mjs'))) step('layers', ['../shared/tools/check-layers.mjs', '.']);
vitest();
// The browser suites drive the test harness pages too: a test build has them (a production build does not).
step('build', ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn'], { PSA_HARNESS: '1' });
// The first screen's JavaScript (index.html's graph only; the harness pages are not counted) against its budget.
step('js-budget', ['node_modules/tsx/dist/cli.mjs', 'scripts/build/js-budget.ts']);
playwright();

stopLoad();
console.log('\n' + lines.join('\n'));
console.log(`wall time ${((Date.now() - t0) / 1000).toFixed(0)} s${load ? ` under a load of ${load} busy process${load === 1 ? '' : 'es'}` : ''}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
