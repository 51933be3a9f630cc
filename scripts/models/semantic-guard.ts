// The demo bundle's `semanticGuard` section (issue 16, item 1, semantic path): per guard category the steering's
// concept phrases (src/safety/steering.ts CONCEPT_PHRASES, the same words the SLD concept uses) and one threshold.
// The tiny text encoder is random: its cosines say nothing about meaning, so no threshold can be "calibrated" on
// it. DEMO_SEMANTIC_THRESHOLD is chosen for the mechanics only — above every cosine measured between a concept
// phrase and an unrelated prompt on this encoder (tests/engine/semantic-guard.test.ts checks that margin), and below
// the 1.0 of a prompt that is a concept phrase. A real bundle carries thresholds calibrated on its own encoder.
import type { SemanticGuardEntry } from '../../src/shared/bundle';
import { GUARD_CATEGORIES } from '../../src/safety/guard/categories';
import { CONCEPT_PHRASES } from '../../src/safety/steering';

export const DEMO_SEMANTIC_THRESHOLD = 0.995;

export function demoSemanticGuard(): SemanticGuardEntry {
  const concepts = Object.fromEntries(GUARD_CATEGORIES.map((c) => [c, { phrases: [...CONCEPT_PHRASES[c]], threshold: DEMO_SEMANTIC_THRESHOLD }]));
  return { pooling: 'eos', concepts };
}
