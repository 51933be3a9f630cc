// The guard's categories: PSA's seven plus 'Illegal' (drugs, illegal weapons, theft and other crimes), which PSA has
// no category for but parents expect a prompt guard to cover. src/shared/profile.ts keeps PSA's seven untouched;
// 'Illegal' lives only here, with its ban rule:
//   - banned for a minor (age < 18) whenever the policy bans Violence or Self-Harm (drug and weapon crime is where
//     those two meet);
//   - banned by the parent's choice: an action set for it (profile.actions.Illegal = 'block' | 'steer'). Profile.choices
//     is typed (and validated by computePolicy) for PSA's seven only, so the action is where that choice lives;
//   - allowed otherwise (adults by default).
// 'Custom' is the profile's own word list: always banned, always blocked.

import { CATEGORIES, type Category, type Policy, type Profile } from '../../shared/profile';

export const ILLEGAL = 'Illegal' as const;
export const CUSTOM = 'Custom' as const;

export type LexiconCategory = Category | typeof ILLEGAL;
export type GuardCategory = LexiconCategory | typeof CUSTOM;

/** PSA's seven, then Illegal: the lexicon categories in report order. */
export const GUARD_CATEGORIES: readonly LexiconCategory[] = [...CATEGORIES, ILLEGAL];

export const MINOR_AGE = 18;

export function isLexiconCategory(s: string): s is LexiconCategory {
  return (GUARD_CATEGORIES as readonly string[]).includes(s);
}

/** Why Illegal is banned for this profile, or undefined when it is not. */
export function illegalBanReason(profile: Profile, policy: Policy): 'parent' | 'minor' | undefined {
  const action = profile.actions?.[ILLEGAL];
  if (action === 'block' || action === 'steer') return 'parent';
  if (profile.age < MINOR_AGE && (policy.banned.includes('Violence') || policy.banned.includes('Self-Harm'))) return 'minor';
  return undefined;
}

/** Is this category banned for the profile under the policy? Custom words are always banned. */
export function isBanned(category: GuardCategory, profile: Profile, policy: Policy): boolean {
  if (category === CUSTOM) return true;
  if (category === ILLEGAL) return illegalBanReason(profile, policy) !== undefined;
  return policy.banned.includes(category);
}
