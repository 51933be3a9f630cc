// The shipped prompt classifier (src/safety/guard/classifier): the weights load and fit the code, stay within the
// size budget, score a few unambiguous prompts as expected with the thresholds of each mode, are deterministic,
// and name the words behind a score. The prompts here are plain and written for this test, not training rows.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { GUARD_CATEGORIES } from '../../../src/safety/guard/categories';
import { classify, classifierHits, loadModel, shippedModel, type ClassifierModelFile } from '../../../src/safety/guard/classifier/classifier';
import { classifierWords, featurize, HASH_SIZE } from '../../../src/safety/guard/classifier/features';

const MODEL_PATH = new URL('../../../src/safety/guard/classifier/model.json', import.meta.url);

describe('shipped classifier weights', () => {
  it('load, cover the guard categories in order and have a threshold per mode and category', () => {
    const m = shippedModel();
    expect(m.categories).toEqual([...GUARD_CATEGORIES]);
    expect(m.weights.length).toBe(GUARD_CATEGORIES.length * HASH_SIZE);
    for (const mode of ['recall', 'strict'] as const) expect(m.thresholds[mode].length).toBe(GUARD_CATEGORIES.length);
    // Children's thresholds are never stricter than adults'.
    m.thresholds.recall.forEach((t, c) => expect(t).toBeLessThanOrEqual(m.thresholds.strict[c]));
    // At least the categories with public training data are live.
    for (const c of ['Hate', 'Harassment', 'Sexuality', 'Illegal']) expect(m.thresholds.strict[m.categories.indexOf(c as never)]).toBeLessThan(1);
  });

  it('fit the size budget (≤ 3 MB gzip)', () => {
    const gz = gzipSync(readFileSync(MODEL_PATH)).length;
    expect(gz).toBeLessThanOrEqual(3 * 1024 * 1024);
  });

  it('refuse a file made for another hash size', () => {
    const file = JSON.parse(readFileSync(MODEL_PATH, 'utf8')) as ClassifierModelFile;
    expect(() => loadModel({ ...file, hashBits: file.hashBits + 1 })).toThrow(/hash bits/);
    expect(() => loadModel({ ...file, weights: file.weights.slice(0, 100) })).toThrow(/weights/);
  });
});

describe('classifier scores', () => {
  const flagged = (p: string, mode: 'recall' | 'strict') => classifierHits(p, mode).map((h) => h.category);

  it('flag explicit words and hateful phrases (strict mode: the plainest; recall mode: more)', () => {
    expect(flagged('nude', 'strict')).toContain('Sexuality');
    expect(flagged('kill all the jews', 'strict')).toContain('Hate');
    // Thresholds weigh precision (see train-classifier.ts): a prompt with two explicit words passes the children's
    // threshold but not the adults'.
    expect(flagged('a photo of a penis and a vagina', 'recall')).toContain('Sexuality');
    expect(flagged('a photo of a penis and a vagina', 'strict')).not.toContain('Sexuality');
  });

  it('need positive evidence: words it never saw score near nothing (the bias is fixed, not learnt)', () => {
    // With a learnt bias the model scored anything unlike a caption as unsafe ("a gory scene" 0.99 Sexuality).
    for (const p of ['a cyberpunk samurai, trending on artstation', 'a bowl of ramen', 'Mount Fuji at dawn']) {
      for (const s of classify(p).scores) expect(s.score, `${p} ${s.category}`).toBeLessThan(0.5);
    }
  });

  it('leave everyday picture prompts alone under the children\'s thresholds', () => {
    for (const p of ['a dog playing in the park', 'a child eating ice cream at the beach', 'a cute kitten sleeping', 'a beautiful sunset over mountains, trending on artstation']) {
      expect(flagged(p, 'recall'), p).toEqual([]);
    }
  });

  it('see through leetspeak and spaced-out letters (the guard\'s normalisation comes first)', () => {
    expect(classifierWords('a p3n1s').map((w) => w.word)).toEqual(['a', 'penis']);
    expect(classifierWords('n u d e').map((w) => w.word)).toEqual(['nude']);
    const plain = classify('nude').scores.find((s) => s.category === 'Sexuality')!.score;
    expect(classify('n u d e').scores.find((s) => s.category === 'Sexuality')!.score).toBeCloseTo(plain, 12);
  });

  it('are deterministic (same prompt, same scores, bit for bit)', () => {
    const p = 'two people having sex in a dark room, highly detailed';
    const a = classify(p).scores.map((s) => s.score);
    const b = classify(p).scores.map((s) => s.score);
    expect(a).toEqual(b);
    expect(featurize(p).features).toEqual(featurize(p).features);
  });

  it('name the words that pushed a category up, with their spans in the original prompt', () => {
    const prompt = 'A PHOTO of a n.u.d.e';
    const hit = classifierHits(prompt, 'recall').find((h) => h.category === 'Sexuality');
    expect(hit).toBeDefined();
    expect(hit!.words.map((w) => prompt.slice(w.start, w.end))).toEqual(['n.u.d.e']);
    expect(hit!.score).toBeGreaterThanOrEqual(hit!.threshold);
  });

  it('take well under 5 ms per prompt', () => {
    const p = 'portrait of a woman in a red dress standing in a field of flowers, by greg rutkowski, highly detailed, 4k';
    classify(p);
    const t0 = performance.now();
    for (let i = 0; i < 200; i++) classify(p + ' ' + i);
    expect((performance.now() - t0) / 200).toBeLessThan(5);
  });
});
