// The converted tiny bundle generates through the real CLI (`npm run generate -- --bundle OUT`), with a user
// embedding of the adapter's size; psa_scale 0 and 1 give different images from the same seed (the graft is live).
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convert } from '../../scripts/convert/bundle';
import { decodePng } from '../../scripts/lib/png';
import { runCli } from '../helpers/cli';
import { expected, FIX, makeSd15, tmpDir } from './helpers';

let tmp: string;
let out: string;
beforeAll(() => {
  tmp = tmpDir('convert-gen-');
  out = convert({ sd15: makeSd15(tmp, 'unet-external'), psa: path.join(FIX, 'psa_adapter.bin'), out: path.join(tmp, 'bundle') }).dir;
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('a converted bundle in npm run generate', () => {
  it('generates, and psa_scale changes the image', () => {
    const emb = path.join(tmp, 'user.json');
    writeFileSync(emb, JSON.stringify(Array.from({ length: expected.psa.embeddingSize }, (_, i) => Math.sin(i + 1))));
    const png = (scale: string) => {
      const f = path.join(tmp, `img-${scale}.png`);
      const r = runCli(['--bundle', out, '--prompt', 'a photo of a cat', '--seed', '5', '--steps', '3', '--user-embedding', emb, '--psa-scale', scale, '--out', f]);
      expect(r.code, r.stderr).toBe(0);
      return readFileSync(f);
    };
    const a = png('0'), b = png('1');
    expect([decodePng(a).width, decodePng(a).height]).toEqual([64, 64]);
    expect(a.equals(b)).toBe(false);
  }, 300_000); // two CLI processes (tsx + ORT each): generous for a slow, busy machine
});
