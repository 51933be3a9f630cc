// Test helper: runs the real CLI (`scripts/generate.ts` through tsx) as a child process.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

export function runCli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'scripts/generate.ts'), ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, ORT_LOG_LEVEL: 'error' },
  });
  // onnxruntime-node prints its own graph-cleanup warnings on stderr; they are not ours.
  const stderr = r.stderr.split('\n').filter((l) => l.trim() && !/onnxruntime|graph\.cc/.test(l)).join('\n');
  return { code: r.status ?? 1, stdout: r.stdout.trim(), stderr };
}
