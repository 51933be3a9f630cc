// A fresh clone has no demo bundle: `npm run generate` builds it on first use instead of failing (`npm run bench`
// calls the same scripts/lib/demo-bundles.ts). Built into a temporary PSA_MODELS_DIR so public/models (served to the app, used by other tests) is
// never touched.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePng } from '../../scripts/lib/png';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fresh-clone-'));
const models = path.join(tmp, 'models');
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function tool(script: string, args: string[]) {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, script), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, PSA_MODELS_DIR: models },
  });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

describe('the demo bundle on first use', () => {
  it('npm run generate builds it when missing, then uses it without rebuilding', () => {
    expect(existsSync(models)).toBe(false);
    const out = path.join(tmp, 'first.png');
    const first = tool('scripts/generate.ts', ['--prompt', 'a cat', '--steps', '2', '--out', out]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/building the demo bundles/);
    expect(existsSync(path.join(models, 'demo', 'manifest.json'))).toBe(true);
    expect(existsSync(path.join(models, 'demo-plain', 'manifest.json'))).toBe(true);
    expect(readdirSync(models).sort()).toEqual(['demo', 'demo-plain']); // no temporary build folder left behind
    expect(decodePng(readFileSync(out)).width).toBe(64);
    const second = tool('scripts/generate.ts', ['--prompt', 'a cat', '--steps', '2', '--out', path.join(tmp, 'second.png')]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).not.toMatch(/building the demo bundles/);
  }, 300_000); // two CLI processes (each starts tsx and ORT): generous for a slow, busy machine
});
