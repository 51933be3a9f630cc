// `npm run generate -- --profile`: the profile's embedding is computed with the bundle's own encoder and steers the
// U-Net. Two profiles (child vs adult) give different U-Net conditioning (the projected user tokens) and different
// images from the same seed; the image equals the one made from that same embedding passed by hand, and the result
// says which profile it was made for.
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readNpy } from '../../scripts/lib/npy';
import { DEMO, ensureDemoBundles } from '../helpers/bundles';
import { runCli } from '../helpers/cli';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

function profileCli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'scripts/profile.ts'), ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status ?? 1, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

let tmp: string;
beforeAll(async () => {
  await ensureDemoBundles();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'profile-generate-'));
});

const gen = ['--prompt', 'a photo of a cat', '--seed', '5', '--steps', '3', '--json'];

describe('npm run generate -- --profile', () => {
  it('child and adult: different user tokens, different images from the same seed; the result names the profile', async () => {
    const tokens: Float32Array[] = [];
    const images: Buffer[] = [];
    for (const p of ['child', 'adult']) {
      const t = path.join(tmp, `${p}-tokens.npy`);
      const e = profileCli(['embed', '--bundle', DEMO, '--profile', p, '--out', path.join(tmp, `${p}.npy`), '--tokens', t]);
      expect(e.code, e.stderr).toBe(0);
      tokens.push(readNpy(await fs.readFile(t)).data);
      const out = path.join(tmp, `${p}.png`);
      const r = runCli([...gen, '--profile', p, '--out', out]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).profile).toBe(p);
      expect(r.stderr).toContain(`profile "${p}"`);
      images.push(await fs.readFile(out));
    }
    let diff = 0;
    for (let i = 0; i < tokens[0].length; i++) diff = Math.max(diff, Math.abs(tokens[0][i] - tokens[1][i]));
    expect(diff).toBeGreaterThan(1e-3);
    expect(images[0].equals(images[1])).toBe(false);
  });

  it('uses exactly the profile\'s embedding: same image as --user-embedding with that vector', async () => {
    const npy = path.join(tmp, 'l5.npy');
    expect(profileCli(['embed', '--bundle', DEMO, '--profile', 'psa-level-5', '--out', npy]).code).toBe(0);
    const json = path.join(tmp, 'l5.json');
    await fs.writeFile(json, JSON.stringify(Array.from(readNpy(await fs.readFile(npy)).data)));
    const a = path.join(tmp, 'a.png'), b = path.join(tmp, 'b.png');
    expect(runCli([...gen, '--profile', 'psa-level-5', '--out', a]).code).toBe(0);
    expect(runCli([...gen, '--user-embedding', json, '--out', b]).code).toBe(0);
    expect((await fs.readFile(a)).equals(await fs.readFile(b))).toBe(true);
  });

  it('refuses --profile together with --user-embedding, and an unknown preset, with exit 2', () => {
    for (const extra of [['--profile', 'child', '--user-embedding', 'x.json'], ['--profile', 'grandpa']]) {
      const r = runCli([...gen, '--out', path.join(tmp, 'x.png'), ...extra]);
      expect(r.code).toBe(2);
      expect(r.stderr.split('\n')).toHaveLength(1);
    }
  });
});
