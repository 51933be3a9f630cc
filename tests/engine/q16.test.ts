// Q16's decision in TypeScript (src/engine/image-check/q16.ts) against Q16's own code on the real ViT-L/14 prompts:
// fixtures/q16/vit-l-14-cases.json holds image embeddings and what Q16's SimClassifier + softmax + topk made of them
// (scripts/reference/q16_prompts.py, torch float32 on Q16's float16 prompts). The shipped data file must be the
// converted prompts (same bytes as the fixture's source), and bad prompt files are refused with a clear error.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseQ16Prompts, q16Score, Q16_THRESHOLD } from '../../src/engine/image-check/q16';
import shipped from '../../src/engine/image-check/q16-vit-l-14.json' with { type: 'json' };
import { AppError } from '../../src/shared/errors';

const FIX = path.resolve(import.meta.dirname, '..', '..', 'fixtures', 'q16', 'vit-l-14-cases.json');
interface Case { kind: string; embedding: string; logits: number[]; probs: number[]; label: number; inappropriate: boolean }
const ref = JSON.parse(readFileSync(FIX, 'utf8')) as { source: Record<string, string>; cases: Case[] };
const f32 = (b64: string) => new Float32Array(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)).buffer);

describe('Q16 on the ViT-L/14 prompts shipped with the app', () => {
  const prompts = parseQ16Prompts(shipped, 'q16-vit-l-14.json');

  it('is the data Q16 published, with where it came from', () => {
    expect(prompts.dim).toBe(768);
    expect(prompts.inappropriateIndex).toBe(1);
    expect(shipped.labels[1]).toBe('inappropriate');
    expect(shipped.source).toEqual(ref.source); // converted in the same run as the reference cases
    expect(shipped.source.repo).toBe('https://github.com/ml-research/Q16');
    expect(shipped.source.commit).toMatch(/^[0-9a-f]{40}$/);
  });

  it('covers both decisions', () => {
    expect(new Set(ref.cases.map((c) => c.label))).toEqual(new Set([0, 1]));
  });

  for (const c of ref.cases) {
    it(`${c.kind}: logits, probability and label equal Q16's`, () => {
      const s = q16Score(prompts, f32(c.embedding));
      expect(Math.abs(s.logits[0] - c.logits[0])).toBeLessThan(1e-3); // float32 torch vs float64 here, on ±100 logits
      expect(Math.abs(s.logits[1] - c.logits[1])).toBeLessThan(1e-3);
      expect(Math.abs(s.probability - c.probs[1])).toBeLessThan(1e-5);
      expect(s.flagged).toBe(c.inappropriate);
      expect(s.flagged).toBe(c.probs[1] > Q16_THRESHOLD);
    });
  }

  it('a stricter threshold only adds flags', () => {
    for (const c of ref.cases) {
      const e = f32(c.embedding);
      if (q16Score(prompts, e).flagged) expect(q16Score(prompts, e, 0.1).flagged).toBe(true);
    }
  });

  it('refuses an embedding of the wrong size, and bad thresholds', () => {
    expect(() => q16Score(prompts, new Float32Array(16))).toThrow(/16 values; these prompts need 768/);
    expect(() => q16Score(prompts, new Float32Array(768).fill(1), 1)).toThrow(AppError);
    expect(() => q16Score(prompts, new Float32Array(768))).toThrow(/zero/);
  });
});

describe('Q16 prompt files', () => {
  const good = { labels: ['a', 'b'], inappropriateIndex: 1, scale: 100, shape: [2, 2], dtype: 'float32-le', data: btoa(String.fromCharCode(...new Uint8Array(new Float32Array([1, 0, 0, 1]).buffer))) };
  it('decodes a small file and scores with it', () => {
    const p = parseQ16Prompts(good, 'x.json');
    const s = q16Score(p, [0.1, 1]);
    expect(s.flagged).toBe(true);
    expect(s.probability).toBeCloseTo(1 / (1 + Math.exp(100 * (0.1 - 1) / Math.hypot(0.1, 1))), 12);
  });
  it.each([
    [{ ...good, dtype: 'float16' }, /dtype/],
    [{ ...good, shape: [3, 2] }, /shape/],
    [{ ...good, inappropriateIndex: 2 }, /inappropriateIndex/],
    [{ ...good, scale: 0 }, /scale/],
    [{ ...good, data: btoa('abc') }, /needs 16/],
    [{ ...good, data: '!!' }, /base64/],
    [{ ...good, data: btoa(String.fromCharCode(...new Uint8Array(new Float32Array([0, 0, 0, 1]).buffer))) }, /prompt 0 is zero/],
    [null, /not a JSON object/],
  ])('refuses %j', (f, msg) => {
    expect(() => parseQ16Prompts(f, 'x.json')).toThrow(msg);
  });
});
