// Explanations: one structured object per intervention (a category the guard blocked or steered, or the image
// stage blurred), worded from the one table in ../texts.ts. Child style names only a gentle label for the kind of
// thing and a child-facing rule line; it never carries the words that triggered it (nor the policy's reason, which
// names categories and conditions — that is kept in `policyReason` for the parent log). Adult style quotes the
// matched words and the policy's reason. Every explanation names the stage that made the decision (`source`, see
// ./stages.ts); for the classifier, adult wording quotes the words that pushed its score over the threshold and the
// score — what the parent sees — while child wording is the same gentle line whichever stage decided.

import type { ExplanationStyle, Policy, Profile } from '../../shared/profile';
import { TEXTS, fill, type TextAction, type TextStage } from '../texts';
import { CUSTOM, ILLEGAL, illegalBanReason, type GuardCategory } from './categories';
import type { DecisionSource } from './stages';

export interface Explanation {
  stage: TextStage;
  /** The stage that made the decision: word lists, classifier, semantic check, safety checker or Q16. */
  source: DecisionSource;
  /** The classifier's score (adult style, source 'classifier' only; never in child style: a bypass oracle). */
  score?: number;
  category: GuardCategory;
  action: TextAction;
  style: ExplanationStyle;
  /** The rule shown to the user: the policy's reason (adult) or the child-facing rule line (child). */
  reason: string;
  /** The policy's reason for this category, whatever the style (for the parent log and parent view). */
  policyReason: string;
  /** The words of the prompt that triggered it, as written (adult style only; always [] in child style). */
  triggers: string[];
  /** Short heading. */
  title: string;
  /** The plain-language message. */
  words: string;
}

/** The policy's reason text for a category (several reasons joined), or the guard's own rule for Illegal/Custom. */
export function policyReasonFor(category: GuardCategory, profile: Profile, policy: Policy): string {
  if (category === CUSTOM) return TEXTS.customReason;
  if (category === ILLEGAL) {
    const why = illegalBanReason(profile, policy);
    return why === 'parent' ? TEXTS.illegalReasonParent : why === 'minor' ? TEXTS.illegalReasonMinor : fill(TEXTS.bannedFallbackReason, { category });
  }
  const reasons = policy.decisions[category]?.reasons ?? [];
  return reasons.length > 0 ? reasons.join('; ') : fill(TEXTS.bannedFallbackReason, { category });
}

export interface InterventionInput {
  stage: TextStage;
  /** Default: 'lexicon' for the text stage, 'safety-checker' for the image stage. */
  source?: DecisionSource;
  /** The classifier's score for the category (source 'classifier'). */
  score?: number;
  category: GuardCategory;
  action: TextAction;
  /** Trigger words as written in the prompt (ignored in child style). */
  triggers?: readonly string[];
}

/** Build the explanation of one intervention for a profile. */
export function explain(input: InterventionInput, profile: Profile, policy: Policy): Explanation {
  const style = profile.explanationStyle;
  const source: DecisionSource = input.source ?? (input.stage === 'image' ? 'safety-checker' : 'lexicon');
  const policyReason = policyReasonFor(input.category, profile, policy);
  if (style === 'child') {
    const support = TEXTS.childSupport[input.category];
    const words = fill(TEXTS.message.child[input.action], { label: TEXTS.childLabel[input.category] }) + (support ? ' ' + support : '');
    return { stage: input.stage, source, category: input.category, action: input.action, style, reason: TEXTS.childReason, policyReason, triggers: [], title: TEXTS.title.child[input.action], words };
  }
  const triggers = [...new Set(input.triggers ?? [])];
  const quoted = triggers.map((t) => `"${t}"`).join(', ');
  const matched =
    source === 'classifier'
      ? fill(triggers.length > 0 ? TEXTS.classifierMatch : TEXTS.classifierMatchWhole, { words: quoted, score: (input.score ?? NaN).toFixed(2) })
      : triggers.length > 0 ? quoted : '—';
  const words = fill(TEXTS.message.adult[input.action], {
    label: TEXTS.adultLabel[input.category],
    reason: policyReason,
    words: matched,
    stage: TEXTS.stage[input.stage],
  });
  return {
    stage: input.stage,
    source,
    ...(source === 'classifier' && input.score !== undefined ? { score: input.score } : {}),
    category: input.category,
    action: input.action,
    style,
    reason: policyReason,
    policyReason,
    triggers,
    title: TEXTS.title.adult[input.action],
    words,
  };
}
