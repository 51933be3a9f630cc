// The semantic prompt check's arithmetic and verdict (issue 16, item 1, optional path): pooling a CLIP hidden state
// into one vector, cosine similarity, and the per-category decision against the bundle's thresholds. Pure functions
// on arrays — the engine computes the embeddings (engine/pipeline/semantic-guard.ts) and calls these. Also the
// explanation of a semantic hit, worded from the one table (../texts.ts): child style says only the gentle label
// (no words, no score: a score next to a threshold is a bypass oracle); adult style says it was the meaning of the
// prompt and how close it came.

import type { Policy, Profile } from '../shared/profile';
import type { SemanticAction, SemanticGuardResult, SemanticHit } from '../shared/types';
import { explain, type Explanation } from './guard/explain';
import type { GuardCategory } from './guard/categories';
import { TEXTS, fill } from './texts';

export type Pooling = 'eos' | 'mean';

/**
 * One row of a [rows, tokens, hidden] hidden state pooled into a [hidden] vector: 'eos' takes the state at `eos`
 * (CLIP's pooled output — with causal attention it is the only position that has read the whole prompt); 'mean'
 * averages positions 0..eos (BOS, the content, EOS; the padding after it is left out).
 */
export function poolRow(states: Float32Array, row: number, tokens: number, hidden: number, eos: number, pooling: Pooling): Float32Array {
  if (!Number.isInteger(eos) || eos < 0 || eos >= tokens) throw new RangeError(`EOS position ${eos} is outside 0..${tokens - 1}`);
  if (states.length < (row + 1) * tokens * hidden) throw new RangeError(`hidden state has ${states.length} values; row ${row} needs ${(row + 1) * tokens * hidden}`);
  const base = row * tokens * hidden;
  if (pooling === 'eos') return states.slice(base + eos * hidden, base + (eos + 1) * hidden);
  const out = new Float32Array(hidden);
  for (let t = 0; t <= eos; t++) for (let d = 0; d < hidden; d++) out[d] += states[base + t * hidden + d];
  for (let d = 0; d < hidden; d++) out[d] /= eos + 1;
  return out;
}

/** Cosine similarity in float64; 0 when either vector is all zeros (nothing to compare). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`cannot compare vectors of ${a.length} and ${b.length} values`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** One category's embedded concept phrases and its threshold. */
export interface ConceptSet {
  category: string;
  threshold: number;
  vectors: readonly ArrayLike<number>[];
}

/**
 * The verdict: each asked category scores its best cosine over its phrases and fires at score ≥ threshold. Any
 * 'block' hit blocks; otherwise any 'steer' hit steers; otherwise allowed. Categories without concepts are skipped.
 */
export function decideSemantic(prompt: ArrayLike<number>, concepts: readonly ConceptSet[], actions: Readonly<Record<string, SemanticAction>>): Omit<SemanticGuardResult, 'stage' | 'source'> {
  const hits: SemanticHit[] = [];
  const scores: Record<string, number> = {};
  for (const c of concepts) {
    const action = actions[c.category];
    if (!action || c.vectors.length === 0) continue;
    const score = Math.max(...c.vectors.map((v) => cosine(prompt, v)));
    scores[c.category] = score;
    if (score >= c.threshold) hits.push({ category: c.category, action, score, threshold: c.threshold });
  }
  hits.sort((a, b) => b.score - a.score);
  const decision = hits.some((h) => h.action === 'block') ? 'blocked' : hits.length > 0 ? 'steered' : 'allowed';
  return { decision, hits, scores };
}

/** An explanation of a semantic hit: the text stage's, marked with its source (and, for the parent view, its score). */
export interface SemanticExplanation extends Explanation {
  source: 'semantic';
  /** The cosine that fired (adult style only; child style never carries it). */
  score?: number;
}

/**
 * The explanation of one hit, for the profile. The result's decision picks the action: a blocked result explains
 * its block hits as blocked, a steered one its hits as steered.
 */
export function explainSemanticHit(hit: SemanticHit, profile: Profile, policy: Policy): SemanticExplanation {
  const action = hit.action === 'block' ? 'blocked' : 'steered';
  const base = explain({ stage: 'text', source: 'semantic', category: hit.category as GuardCategory, action }, profile, policy);
  if (base.style === 'child') return { ...base, source: 'semantic' };
  const words = fill(TEXTS.message.adult[action], {
    label: TEXTS.adultLabel[hit.category as GuardCategory] ?? hit.category,
    reason: base.policyReason,
    words: fill(TEXTS.semanticMatch, { score: hit.score.toFixed(2) }),
    stage: TEXTS.stage.text,
  });
  return { ...base, words, source: 'semantic', score: hit.score };
}

/** The explanations of a semantic result: its block hits when blocked, all hits when steered, none when allowed. */
export function explainSemantic(result: SemanticGuardResult, profile: Profile, policy: Policy): SemanticExplanation[] {
  const shown = result.decision === 'blocked' ? result.hits.filter((h) => h.action === 'block') : result.decision === 'steered' ? result.hits : [];
  return shown.map((h) => explainSemanticHit(h, profile, policy));
}
