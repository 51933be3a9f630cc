// From the checker graph's own scores (computed at adjustment 0, see graph-scores.ts) to psa-web's verdict at any
// `adjustment`, with diffusers' special-care rule (StableDiffusionSafetyChecker.forward_onnx):
//   special_scores = special_cos − special_threshold + adjustment
//   special_care   = any(special_scores > 0)          → every concept gets +0.01
//   concept_scores = cos − threshold + adjustment + 0.01·special_care
//   flagged        = any(concept_scores > 0)
// `adjustment` lowers every threshold (diffusers' "increase this value to create a stronger nsfw filter"); psa-web
// uses it to be stricter for minors. The graph's concept scores already hold 0.01·special_care at adjustment 0, which
// is taken out and put back for the new special-care verdict.

import { AppError } from '../../shared/errors';

/** diffusers' special-care bump (forward_onnx: `special_care * 0.01`). */
export const SPECIAL_CARE_BUMP = 0.01;

export interface CheckerScores {
  /** Per concept: cosine − threshold + adjustment (+ 0.01 under special care); > 0 means the concept fired. */
  scores: number[];
  /** Per special-care concept: cosine − threshold + adjustment. */
  specialScores: number[];
  specialCare: boolean;
  flagged: boolean;
}

/**
 * `graphConcept`/`graphSpecial`: one image's rows of the graph's score tensors; `graphFlag`: its has_nsfw_concepts.
 * Throws when the graph's boolean disagrees with its own scores (the score tensors were not what we took them for).
 */
export function scoresAt(graphConcept: ArrayLike<number>, graphSpecial: ArrayLike<number>, graphFlag: boolean, adjustment: number): CheckerScores {
  if (!Number.isFinite(adjustment) || Math.abs(adjustment) > 1) throw new AppError('INVALID_REQUEST', `imageCheck.adjustment must be a number between -1 and 1 (got ${adjustment})`);
  const concept = Array.from(graphConcept);
  const special = Array.from(graphSpecial);
  if (!concept.length || !special.length || [...concept, ...special].some((x) => !Number.isFinite(x))) {
    throw new AppError('CONTRACT_MISMATCH', 'the safety checker returned empty or non-finite scores');
  }
  if (concept.some((s) => s > 0) !== graphFlag) {
    throw new AppError('CONTRACT_MISMATCH', "the safety checker's has_nsfw_concepts disagrees with its concept scores: the score tensors were misidentified");
  }
  const care0 = special.some((s) => s > 0);
  const specialScores = special.map((s) => s + adjustment);
  const specialCare = specialScores.some((s) => s > 0);
  const shift = adjustment + (specialCare ? SPECIAL_CARE_BUMP : 0) - (care0 ? SPECIAL_CARE_BUMP : 0);
  const scores = concept.map((s) => s + shift);
  return { scores, specialScores, specialCare, flagged: scores.some((s) => s > 0) };
}
