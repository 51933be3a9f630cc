// Parity with diffusers: the CLI, given the same tiny Optimum-layout SD1.5 export, prompt, negative prompt,
// scheduler, steps, CFG and initial noise, reproduces diffusers' StableDiffusionPipeline images
// (fixtures/parity, made by scripts/reference/parity_fixture.py from diffusers' own code). Threshold from the
// issue: at most 2 levels per pixel, under 0.1 on average.
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodePng } from '../../scripts/lib/png';
import { PARITY } from '../helpers/bundles';
import { runCli } from '../helpers/cli';

interface Case { id: string; scheduler: string; steps: number; guidance: number; prompt: string; negative: string | null; width: number; height: number; latents: string; expected: string }
const cases: Case[] = JSON.parse(readFileSync(path.join(PARITY, 'cases.json'), 'utf8')).cases;

export function pixelDiff(a: Uint8Array, b: Uint8Array): { max: number; mean: number } {
  let max = 0;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    if (i % 4 === 3) continue; // alpha is always 255
    const d = Math.abs(a[i] - b[i]);
    max = Math.max(max, d);
    sum += d;
    n++;
  }
  return { max, mean: sum / n };
}

describe('CLI = diffusers StableDiffusionPipeline', () => {
  const table: Record<string, { max: number; mean: number }> = {};
  it.each(cases.map((c) => [c.id, c] as const))('%s', async (_id, c) => {
    const out = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'parity-')), `${c.id}.png`);
    const args = ['--bundle', path.join(PARITY, 'bundle'), '--prompt', c.prompt, '--scheduler', c.scheduler, '--steps', String(c.steps),
      '--cfg', String(c.guidance), '--width', String(c.width), '--height', String(c.height), '--latents', path.join(PARITY, c.latents), '--out', out];
    if (c.negative !== null) args.push('--negative', c.negative);
    const r = runCli(args);
    // Nothing on stderr but the one note that a run without --profile is unguarded (scripts/generate.ts).
    expect(r.stderr.replace(/^note: no --profile: nothing is guarded.*(\n|$)/m, '')).toBe('');
    expect(r.code).toBe(0);
    const got = decodePng(await fs.readFile(out));
    const want = decodePng(await fs.readFile(path.join(PARITY, c.expected)));
    expect([got.width, got.height]).toEqual([want.width, want.height]);
    const d = pixelDiff(got.rgba, want.rgba);
    table[c.id] = d;
    expect(d.max).toBeLessThanOrEqual(2);
    expect(d.mean).toBeLessThan(0.1);
  });
  it('records the differences', async () => {
    await fs.mkdir('.tmp', { recursive: true });
    await fs.writeFile('.tmp/parity-cli.json', JSON.stringify(table, null, 1));
    expect(Object.keys(table).length).toBe(cases.length);
  });
});
