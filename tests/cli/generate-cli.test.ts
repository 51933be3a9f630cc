// The CLI's contract with people: bad flags, wrong noise shapes, missing or broken bundles each print one clear
// line (no stack trace) and exit non-zero; a good run writes a PNG and can save the noise it drew.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDefectiveModel, renameInput } from '../../scripts/models/defects';
import { readNpy, writeNpy } from '../../scripts/lib/npy';
import { decodePng } from '../../scripts/lib/png';
import { DEMO, PARITY, ensureDemoBundles } from '../helpers/bundles';
import { runCli } from '../helpers/cli';

let tmp: string;
beforeAll(async () => {
  await ensureDemoBundles();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'cli-'));
});

const oneLine = (s: string) => expect(s.split('\n')).toHaveLength(1);

describe('npm run generate', () => {
  it('generates with the demo bundle by default, saves latents, and the same seed reproduces the file', async () => {
    const a = path.join(tmp, 'a.png');
    const lat = path.join(tmp, 'a.npy');
    const r = runCli(['--prompt', 'a photo of a cat', '--seed', '3', '--steps', '3', '--out', a, '--save-latents', lat]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/wrote .*a\.png \(64×64/);
    const png = decodePng(await fs.readFile(a));
    expect([png.width, png.height]).toEqual([64, 64]);
    expect(readNpy(await fs.readFile(lat)).shape).toEqual([1, 4, 8, 8]);
    const b = path.join(tmp, 'b.png');
    expect(runCli(['--prompt', 'a photo of a cat', '--seed', '3', '--steps', '3', '--out', b]).code).toBe(0);
    expect((await fs.readFile(b)).equals(await fs.readFile(a))).toBe(true);
    // The saved noise fed back as --latents reproduces the seed's image.
    const c = path.join(tmp, 'c.png');
    expect(runCli(['--prompt', 'a photo of a cat', '--seed', '99', '--steps', '3', '--latents', lat, '--out', c]).code).toBe(0);
    expect((await fs.readFile(c)).equals(await fs.readFile(a))).toBe(true);
  });

  it('refuses bad flags with exit 2 and one line', () => {
    for (const args of [['--prompt', 'x', '--bogus'], ['--out', 'x.png'], ['--prompt', 'x', '--out', 'x.png', '--steps', 'many'], ['--prompt', 'x', '--out', 'x.png', '--scheduler', 'heun']]) {
      const r = runCli(args);
      expect(r.code).toBe(2);
      oneLine(r.stderr);
      expect(r.stderr).toMatch(/^generate: /);
    }
  });

  it('refuses a size outside the bundle\'s rule with exit 2, naming the rule and the sizes it allows', () => {
    const r = runCli(['--prompt', 'x', '--out', path.join(tmp, 'x.png'), '--width', '80']);
    expect(r.code).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toContain('width must be a multiple of 32 from 32 to 256 pixels for this model (got 80)');
    expect(r.stderr).toContain('this bundle allows 32, 64, 96, 128, 160, 192, 224, 256');
  });

  it('refuses latents whose shape does not fit the size, naming both shapes', async () => {
    const f = path.join(tmp, 'bad.npy');
    await fs.writeFile(f, writeNpy({ shape: [1, 4, 4, 4], data: new Float32Array(64) }));
    const r = runCli(['--prompt', 'x', '--out', path.join(tmp, 'x.png'), '--latents', f]);
    expect(r.code).toBe(2);
    oneLine(r.stderr);
    expect(r.stderr).toContain('[1,4,4,4]');
    expect(r.stderr).toContain('[1,4,8,8]');
  });

  it('names a missing bundle, a missing component, a truncated model and a contract mismatch in one line each', async () => {
    const missing = runCli(['--prompt', 'x', '--out', path.join(tmp, 'x.png'), '--bundle', path.join(tmp, 'nope')]);
    expect(missing.code).toBe(1);
    oneLine(missing.stderr);
    expect(missing.stderr).toMatch(/bundle folder not found/);

    const copy = async (name: string) => {
      const d = path.join(tmp, name);
      await fs.cp(path.join(PARITY, 'bundle'), d, { recursive: true });
      return d;
    };
    const noVae = await copy('novae');
    await fs.rm(path.join(noVae, 'vae_decoder'), { recursive: true });
    let r = runCli(['--prompt', 'x', '--out', path.join(tmp, 'x.png'), '--bundle', noVae]);
    expect(r.code).toBe(1);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/MODEL_FILE_MISSING: vae_decoder\/model\.onnx is missing/);

    const truncated = await copy('truncated');
    const unet = path.join(truncated, 'unet', 'model.onnx');
    const bytes = await fs.readFile(unet);
    await fs.writeFile(unet, bytes.subarray(0, bytes.length - 1000));
    r = runCli(['--prompt', 'x', '--out', path.join(tmp, 'x.png'), '--bundle', truncated]);
    expect(r.code).toBe(1);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/MODEL_FILE_CORRUPT: unet\/model\.onnx/);

    const renamed = await copy('renamed');
    const u = path.join(renamed, 'unet', 'model.onnx');
    await fs.writeFile(u, renameInput(new Uint8Array(await fs.readFile(u)), 'encoder_hidden_states', 'text_embeds'));
    r = runCli(['--prompt', 'x', '--out', path.join(tmp, 'x.png'), '--bundle', renamed]);
    expect(r.code).toBe(1);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/CONTRACT_MISMATCH: unet \(unet\/model\.onnx\) has no input `encoder_hidden_states`/);

    const wrongRank = path.join(tmp, 'wrongrank');
    await fs.cp(DEMO, wrongRank, { recursive: true });
    await fs.writeFile(path.join(wrongRank, 'unet', 'model.onnx'), buildDefectiveModel('unet', 'wrong-rank'));
    r = runCli(['--prompt', 'x', '--out', path.join(tmp, 'x.png'), '--bundle', wrongRank]);
    expect(r.code).toBe(1);
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/CONTRACT_MISMATCH: unet \(unet\/model\.onnx\) input `sample` has rank 3/);
  });

  it('reports a prompt cut to 77 tokens', () => {
    const long = Array.from({ length: 90 }, (_, i) => `w${i}`).join(' ');
    const r = runCli(['--prompt', long, '--steps', '1', '--out', path.join(tmp, 'long.png'), '--bundle', DEMO]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/prompt was cut to 77 tokens \(\d+ tokens dropped\)/);
  });
});
