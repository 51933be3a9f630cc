// The explanation of a picture that Q16 flagged (the image stage for every banned category other than Sexuality;
// the safety checker's own Sexuality verdict is explained by guard/explain.ts). Q16 says only "inappropriate", not
// which category, so its explanation has its own category, `Inappropriate`, and names the profile's bans instead.
// Child style: the gentle label only — no probability (a score next to the line is a bypass oracle, safety.md §7.2)
// and no category names. Adult style: Q16's verdict with its probability, the banned categories and their reasons.

import type { Category, Policy, Profile } from '../shared/profile';
import { policyReasonFor, type Explanation } from './guard/explain';
import { TEXTS, fill } from './texts';

export const Q16_CATEGORY = 'Inappropriate' as const;

/** The PSA categories Q16 stands for: every banned one but Sexuality (the checker's). */
export function q16Categories(policy: Policy): Category[] {
  return policy.banned.filter((c) => c !== 'Sexuality');
}

export type Q16Explanation = Omit<Explanation, 'category' | 'stage'> & { stage: 'q16'; category: typeof Q16_CATEGORY };

/** What the image stage says when Q16 flagged (and so blurred) the picture. */
export function explainQ16(profile: Profile, policy: Policy, probability: number): Q16Explanation {
  const style = profile.explanationStyle;
  const cats = q16Categories(policy);
  const policyReason = cats.map((c) => policyReasonFor(c, profile, policy)).join('; ');
  const base = { stage: 'q16' as const, source: 'q16' as const, category: Q16_CATEGORY, action: 'blurred' as const, style, policyReason, triggers: [] };
  if (style === 'child') {
    const words = fill(TEXTS.message.child.blurred, { label: TEXTS.q16.childLabel });
    return { ...base, reason: TEXTS.childReason, title: TEXTS.title.child.blurred, words };
  }
  const words = fill(TEXTS.q16.adultMessage, { probability: probability.toFixed(2), categories: cats.join(', '), reason: policyReason });
  return { ...base, reason: policyReason, title: TEXTS.title.adult.blurred, words };
}
