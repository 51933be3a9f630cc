// The semantic check's pure half: pooling a [rows, tokens, hidden] state (EOS position or mean over BOS..EOS),
// cosine, the per-category verdict against thresholds, and its explanations (child: no words, no score).
import { describe, expect, it } from 'vitest';
import { computePolicy } from '../../src/safety/policy';
import { createProfile } from '../../src/safety/profile';
import { cosine, decideSemantic, explainSemantic, poolRow, type ConceptSet } from '../../src/safety/semantic';
import type { SemanticGuardResult } from '../../src/shared/types';

/** rows × tokens × hidden with value = row·100 + token·10 + d, so every position is recognisable. */
function states(rows: number, tokens: number, hidden: number): Float32Array {
  const s = new Float32Array(rows * tokens * hidden);
  for (let r = 0; r < rows; r++) for (let t = 0; t < tokens; t++) for (let d = 0; d < hidden; d++) s[(r * tokens + t) * hidden + d] = r * 100 + t * 10 + d;
  return s;
}

describe('poolRow', () => {
  const s = states(2, 5, 3);
  it("'eos' takes the state at the EOS position of the row", () => {
    expect([...poolRow(s, 1, 5, 3, 2, 'eos')]).toEqual([120, 121, 122]);
    expect([...poolRow(s, 0, 5, 3, 4, 'eos')]).toEqual([40, 41, 42]);
  });
  it("'mean' averages BOS..EOS and leaves the padding out", () => {
    // row 1, positions 0..2: 100+{0,10,20}+d → mean 110+d
    expect([...poolRow(s, 1, 5, 3, 2, 'mean')]).toEqual([110, 111, 112]);
  });
  it('refuses an EOS outside the row or a state too short for the row', () => {
    expect(() => poolRow(s, 0, 5, 3, 5, 'eos')).toThrow(/EOS position 5 is outside 0..4/);
    expect(() => poolRow(s, 2, 5, 3, 1, 'eos')).toThrow(/row 2 needs 45/);
  });
});

describe('cosine', () => {
  it('is 1 for parallel, -1 for opposite, 0 for orthogonal or zero vectors', () => {
    expect(cosine([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(cosine([1, 0], [-3, 0])).toBeCloseTo(-1, 12);
    expect(cosine([1, 0], [0, 5])).toBe(0);
    expect(cosine([0, 0], [1, 1])).toBe(0);
    expect(cosine([1, 1], [1, 0])).toBeCloseTo(Math.SQRT1_2, 12);
  });
  it('refuses vectors of different sizes', () => {
    expect(() => cosine([1, 2], [1, 2, 3])).toThrow(/2 and 3 values/);
  });
});

describe('decideSemantic', () => {
  const concepts: ConceptSet[] = [
    { category: 'Violence', threshold: 0.9, vectors: [[1, 0, 0], [0.6, 0.8, 0]] },
    { category: 'Sexuality', threshold: 0.8, vectors: [[0, 0, 1]] },
    { category: 'Shocking', threshold: 0.5, vectors: [[0, 1, 0]] },
  ];
  it('scores each asked category by its best phrase and fires at score ≥ threshold', () => {
    const v = decideSemantic([0.6, 0.8, 0], concepts, { Violence: 'block', Sexuality: 'block' });
    expect(v.decision).toBe('blocked');
    expect(v.scores.Violence).toBeCloseTo(1, 12); // the second phrase, not the first (0.6)
    expect(v.scores.Sexuality).toBe(0);
    expect(v.hits).toEqual([{ category: 'Violence', action: 'block', score: v.scores.Violence, threshold: 0.9 }]);
    expect(v.scores.Shocking).toBeUndefined(); // not asked
  });
  it('a score exactly at the threshold fires; just below does not', () => {
    const at = [{ category: 'Violence', threshold: 1, vectors: [[2, 0]] }];
    expect(decideSemantic([1, 0], at, { Violence: 'block' }).decision).toBe('blocked');
    expect(decideSemantic([1, 0.01], at, { Violence: 'block' }).decision).toBe('allowed');
  });
  it('block wins over steer; steer alone steers; hits are sorted by score', () => {
    const p = [0.6, 0.8, 0];
    const v = decideSemantic(p, concepts, { Violence: 'steer', Shocking: 'block' });
    expect(v.decision).toBe('blocked');
    expect(v.hits.map((h) => h.category)).toEqual(['Violence', 'Shocking']);
    expect(decideSemantic(p, concepts, { Violence: 'steer' }).decision).toBe('steered');
    expect(decideSemantic([0, 0, -1], concepts, { Violence: 'block', Sexuality: 'block', Shocking: 'block' })).toMatchObject({ decision: 'allowed', hits: [] });
  });
});

describe('explanations of a semantic hit', () => {
  const blocked: SemanticGuardResult = {
    stage: 'text', source: 'semantic', decision: 'blocked',
    hits: [{ category: 'Violence', action: 'block', score: 0.973, threshold: 0.9 }, { category: 'Shocking', action: 'steer', score: 0.95, threshold: 0.9 }],
    scores: { Violence: 0.973, Shocking: 0.95 },
  };
  it('child style: the gentle label only, no score, no trigger words', () => {
    const child = createProfile('child');
    const [e, ...rest] = explainSemantic(blocked, child, computePolicy(child));
    expect(rest).toEqual([]); // a blocked result explains its block hits only
    expect(e).toMatchObject({ source: 'semantic', stage: 'text', category: 'Violence', action: 'blocked', style: 'child', triggers: [] });
    expect(e.score).toBeUndefined();
    expect(e.words).not.toMatch(/0\.9|similar|violence/i);
  });
  it('adult style: says the meaning matched and how closely', () => {
    const adult = { ...createProfile('adult'), choices: { Violence: 'ban' as const } };
    const [e] = explainSemantic(blocked, adult, computePolicy(adult));
    expect(e).toMatchObject({ source: 'semantic', style: 'adult', action: 'blocked', score: 0.973 });
    expect(e.words).toMatch(/meaning of the prompt \(similarity 0\.97\)/);
  });
  it('steered results explain every hit as steered; allowed ones nothing', () => {
    const adult = { ...createProfile('adult'), choices: { Violence: 'ban' as const, Shocking: 'ban' as const } };
    const steered = { ...blocked, decision: 'steered' as const, hits: blocked.hits.map((h) => ({ ...h, action: 'steer' as const })) };
    expect(explainSemantic(steered, adult, computePolicy(adult)).map((e) => [e.category, e.action])).toEqual([['Violence', 'steered'], ['Shocking', 'steered']]);
    expect(explainSemantic({ ...blocked, decision: 'allowed', hits: [] }, adult, computePolicy(adult))).toEqual([]);
  });
});
