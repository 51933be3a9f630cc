// The prompt guard: runs on the prompt (never the negative prompt) before the text encoder. It finds lexicon terms
// and the profile's custom words in the normalised prompt, then decides per category from the profile:
//   not banned → allow; banned → profile.actions[category] if set, else block for minors (age < 18) and protected
//   profiles, steer for adults; custom words are always blocked.
// The whole prompt is blocked if any category blocks, steered if any steers, allowed otherwise. Every match keeps
// the span of the original prompt it came from, so decisions can be explained and audited.

import type { GuardAction, Policy, Profile } from '../../shared/profile';
import { CUSTOM, GUARD_CATEGORIES, MINOR_AGE, isBanned, type GuardCategory } from './categories';
import { explain, type Explanation } from './explain';
import { Lexicon, effectiveHits, type Hit } from './lexicon';
import { builtinLexicon } from './lexicons';
import { normalizeText, tokenize } from './normalize';

export type GuardDecision = 'blocked' | 'steered' | 'allowed';

export interface GuardMatch {
  category: GuardCategory;
  /** The lexicon term (or custom word) as written in the list, without inflection marks. */
  term: string;
  /** [start, end) in the original prompt (UTF-16 offsets). */
  span: [number, number];
  /** The original prompt text of the span, as the user wrote it. */
  text: string;
}

export interface GuardResult {
  decision: GuardDecision;
  /** Every match, in prompt order, including those of categories this profile allows. */
  matches: GuardMatch[];
  /** One per category acted on (blocked or steered), in category order. */
  explanations: Explanation[];
  /** Categories to steer away from (banned, matched, action steer), for the negative prompt / SLD concept. */
  steerCategories: GuardCategory[];
  /** Categories that blocked the prompt. */
  blockCategories: GuardCategory[];
}

/** What a banned category does for this profile when matched. */
export function actionFor(category: GuardCategory, profile: Profile): GuardAction {
  if (category === CUSTOM) return 'block';
  const set = profile.actions?.[category];
  if (set === 'block' || set === 'steer') return set;
  return profile.age < MINOR_AGE || profile.protected ? 'block' : 'steer';
}

const customCache = new Map<string, Lexicon>();

/** The profile's custom words as a one-category lexicon (single words also match plurals; cached by content). */
function customLexicon(words: readonly string[]): Lexicon | undefined {
  // Normalised like prompts (so a parent's "Café" or "ѕріdеr" still means cafe / spider); words that normalise to
  // nothing matchable (e.g. other scripts) are skipped here — a known limit of the Latin-only matcher.
  const terms = words
    .map((w) => normalizeText(w).replace(/[^a-z0-9\s'-]/g, ' ').replace(/\s+/g, ' ').trim())
    .filter((w) => /^[a-z0-9][a-z0-9\s'-]*$/.test(w) && /[a-z0-9]/.test(w.replace(/['-]/g, '')));
  if (terms.length === 0) return undefined;
  const key = terms.join('\n');
  let lex = customCache.get(key);
  if (!lex) {
    if (customCache.size > 64) customCache.clear();
    lex = new Lexicon([{ category: CUSTOM, terms }]);
    customCache.set(key, lex);
  }
  return lex;
}

/** All effective lexicon hits in a prompt (both token streams), custom words included. */
export function findMatches(prompt: string, customWords: readonly string[] = [], lexicon: Lexicon = builtinLexicon()): GuardMatch[] {
  const streams = tokenize(prompt);
  const custom = customLexicon(customWords);
  const hits: Hit[] = [];
  for (const stream of [streams.words, ...streams.joined]) {
    hits.push(...lexicon.hits(stream));
    if (custom) hits.push(...custom.hits(stream));
  }
  return effectiveHits(hits).map((h) => ({
    category: h.category as GuardCategory,
    term: h.term,
    span: [h.start, h.end],
    text: prompt.slice(h.start, h.end),
  }));
}

const ORDER: readonly GuardCategory[] = [...GUARD_CATEGORIES, CUSTOM];

/** Judge a prompt for a profile under its policy. */
export function checkPrompt(prompt: string, profile: Profile, policy: Policy): GuardResult {
  if (typeof prompt !== 'string') throw new TypeError(`the prompt must be text, got ${typeof prompt}`);
  return decide(findMatches(prompt, profile.customWords ?? []), profile, policy);
}

/**
 * The decision for matches already found (findMatches with this profile's custom words): lets a caller judging
 * one prompt under many profiles normalise and match it once.
 */
export function decide(matches: GuardMatch[], profile: Profile, policy: Policy): GuardResult {
  const found = ORDER.filter((c) => matches.some((m) => m.category === c));
  const blockCategories: GuardCategory[] = [];
  const steerCategories: GuardCategory[] = [];
  const explanations: Explanation[] = [];
  for (const category of found) {
    if (!isBanned(category, profile, policy)) continue;
    const action = actionFor(category, profile);
    (action === 'block' ? blockCategories : steerCategories).push(category);
    const triggers = matches.filter((m) => m.category === category).map((m) => m.text);
    explanations.push(explain({ stage: 'text', category, action: action === 'block' ? 'blocked' : 'steered', triggers }, profile, policy));
  }
  const decision: GuardDecision = blockCategories.length > 0 ? 'blocked' : steerCategories.length > 0 ? 'steered' : 'allowed';
  return { decision, matches, explanations, steerCategories, blockCategories };
}
