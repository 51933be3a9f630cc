#!/usr/bin/env node
// `npm test`: every suite, in order, with one closing line `N passed, N failed` totalled over all of them.
// Suites: build the tiny models → type check → layering → Vitest (Node: pure code + real ORT on tiny models) →
// production build → Playwright (Debian Chromium: WebGPU on SwiftShader and WASM, real IndexedDB).
// A suite that crashes before reporting counts as one failure, so a broken step can never read as green.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const tmp = path.join(root, '.tmp');
fs.mkdirSync(tmp, { recursive: true });
const node = process.execPath;
const only = process.argv.slice(2);
let passed = 0;
let failed = 0;
const lines = [];

function run(name, args, env = {}) {
  const t0 = Date.now();
  console.log(`\n=== ${name}: ${args.join(' ')}`);
  const r = spawnSync(node, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  return { code: r.status ?? 1, secs: ((Date.now() - t0) / 1000).toFixed(1) };
}

function step(name, args) {
  if (only.length && !only.includes(name)) return;
  const r = run(name, args);
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

function playwright() {
  if (only.length && !only.includes('e2e')) return;
  const out = path.join(tmp, 'playwright.json');
  fs.rmSync(out, { force: true });
  const r = run('e2e', ['node_modules/@playwright/test/cli.js', 'test', '-c', 'e2e/playwright.config.ts', '--reporter=list,json'], {
    PLAYWRIGHT_JSON_OUTPUT_NAME: out,
  });
  try {
    const s = JSON.parse(fs.readFileSync(out, 'utf8')).stats;
    const bad = s.unexpected + s.flaky;
    passed += s.expected;
    failed += bad + (r.code !== 0 && bad === 0 ? 1 : 0);
    lines.push(`e2e: ${s.expected} passed, ${bad} failed, ${s.skipped} skipped (${r.secs}s)`);
  } catch {
    failed++;
    lines.push(`e2e: no report (exit ${r.code})`);
  }
}

step('models', ['node_modules/tsx/dist/cli.mjs', 'scripts/models/build.ts']);
step('typecheck', ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--noEmit']);
if (fs.existsSync(path.join(root, '..', 'shared', 'tools', 'check-layers.mjs'))) step('layers', ['../shared/tools/check-layers.mjs', '.']);
vitest();
step('build', ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'warn']);
playwright();

console.log('\n' + lines.join('\n'));
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
