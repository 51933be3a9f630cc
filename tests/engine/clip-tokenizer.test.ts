// The engine's CLIP tokenizer: an Optimum folder (vocab.json + merges.txt, no tokenizer.json) tokenizes exactly
// like the tokenizer.json form, and encoding follows diffusers (BOS, ≤75 tokens, EOS, EOS padding to 77).
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodeClip, loadClipTokenizer, type ClipTokenizer } from '../../src/engine/clip-tokenizer';
import { fsReader } from '../../src/engine/node-reader';
import { DEMO, ensureDemoBundles } from '../helpers/bundles';

let fast: ClipTokenizer;
let slow: ClipTokenizer;
beforeAll(async () => {
  await ensureDemoBundles();
  fast = await loadClipTokenizer(fsReader(DEMO), 'tokenizer');
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'clip-slow-'));
  await fs.mkdir(path.join(dir, 'tokenizer'));
  for (const f of ['vocab.json', 'merges.txt', 'tokenizer_config.json', 'special_tokens_map.json']) {
    await fs.copyFile(path.join(DEMO, 'tokenizer', f), path.join(dir, 'tokenizer', f));
  }
  slow = await loadClipTokenizer(fsReader(dir), 'tokenizer');
});

const TEXTS = [
  'a photo of a cat',
  'A PHOTO   of\ta  Cat!!',
  "an astronaut's horse, 4k, highly-detailed (masterpiece:1.2)",
  'über café naïve 東京 🚗🚀',
  '12345 3.14 #hashtag @user',
  '',
];

describe('CLIP tokenizer', () => {
  it('gives CLIP reference ids', () => {
    expect(encodeClip(fast, 'a photo of a cat').ids.slice(0, 8)).toEqual([49406, 320, 1125, 539, 320, 2368, 49407, 49407]);
  });
  it('vocab.json + merges.txt (Optimum layout) = tokenizer.json, on varied text', () => {
    for (const t of TEXTS) expect(encodeClip(slow, t), t).toEqual(encodeClip(fast, t));
  });
  it('pads with EOS to 77 and truncates content to 75 so BOS and EOS always fit', () => {
    const empty = encodeClip(fast, '');
    expect(empty.ids).toEqual([49406, ...Array(76).fill(49407)]);
    const long = encodeClip(fast, Array.from({ length: 120 }, () => 'cat').join(' '));
    expect(long.ids).toHaveLength(77);
    expect(long.ids[0]).toBe(49406);
    expect(long.ids[76]).toBe(49407);
    expect(long.ids.slice(1, 76).every((x) => x === 2368)).toBe(true);
    expect(long.truncated).toBe(120 - 75);
  });
});
