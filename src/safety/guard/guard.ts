// The prompt guard: runs on the prompt (never the negative prompt) before the text encoder. Its stages run in the
// order of ./stages.ts (TEXT_STAGES): the word lists (lexicon terms and the profile's custom words in the normalised
// prompt), then the learned classifier (categories over the thresholds of the profile's mode). It then decides per
// category from the profile:
//   not banned → allow; banned → profile.actions[category] if set, else block for minors (age < 18) and protected
//   profiles, steer for adults; custom words are always blocked.
// A category is decided by the first stage that found it (the word lists before the classifier), and its
// explanation names that stage. The whole prompt is blocked if any category blocks, steered if any steers, allowed
// otherwise. Every match keeps the span of the original prompt it came from, so decisions can be explained and
// audited.

import type { GuardAction, Policy, Profile } from '../../shared/profile';
import { CUSTOM, GUARD_CATEGORIES, MINOR_AGE, isBanned, type GuardCategory } from './categories';
import { classifierHits, shippedModel, type ClassifierModel, type ThresholdMode } from './classifier/classifier';
import { explain, type Explanation } from './explain';
import { Lexicon, effectiveHits, type Hit } from './lexicon';
import { builtinLexicon } from './lexicons';
import { normalizeText, tokenize } from './normalize';
import { SOURCE_OF, TEXT_STAGES, type TextStageId } from './stages';

export type GuardDecision = 'blocked' | 'steered' | 'allowed';

export interface GuardMatch {
  category: GuardCategory;
  /**
   * The lexicon term (or custom word) as written in the list, without inflection marks; for the classifier, the
   * word as it read it (normalised), or '' when the score came from the prompt as a whole.
   */
  term: string;
  /** [start, end) in the original prompt (UTF-16 offsets); [0, 0] for a classifier hit without a word. */
  span: [number, number];
  /** The original prompt text of the span, as the user wrote it. */
  text: string;
  /** The stage that found it: the word lists ('lexicon', custom words included) or the classifier. */
  source: 'lexicon' | 'classifier';
  /** The classifier's score for the category (classifier matches only). */
  score?: number;
}

export interface GuardResult {
  decision: GuardDecision;
  /**
   * Every match of the stages that ran, stage by stage (word lists, then classifier; the classifier's are absent
   * when the word lists already blocked) and in prompt order within a stage, including those of categories this
   * profile allows.
   */
  matches: GuardMatch[];
  /** One per category acted on (blocked or steered), in category order. */
  explanations: Explanation[];
  /** Categories to steer away from (banned, matched, action steer), for the negative prompt / SLD concept. */
  steerCategories: GuardCategory[];
  /** Categories that blocked the prompt. */
  blockCategories: GuardCategory[];
}

/**
 * The classifier's thresholds for a profile: 'recall' (catch more) for minors and protected profiles — the same
 * rule that makes a banned category block rather than steer — 'strict' (fewer false blocks) for adults.
 */
export function classifierModeFor(profile: Profile): ThresholdMode {
  return profile.age < MINOR_AGE || profile.protected ? 'recall' : 'strict';
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
    source: 'lexicon' as const,
  }));
}

/**
 * The classifier stage: one match per word that pushed a category over its threshold under `mode` (strongest
 * words, in prompt order), or one word-less match when the score came from the prompt as a whole. Shocking and
 * Propaganda have no threshold in the model (no training data): the word lists alone judge them.
 */
export function classifierMatches(prompt: string, mode: ThresholdMode, model: ClassifierModel = shippedModel()): GuardMatch[] {
  const out: GuardMatch[] = [];
  for (const h of classifierHits(prompt, mode, model)) {
    if (h.words.length === 0) out.push({ category: h.category, term: '', span: [0, 0], text: '', source: 'classifier', score: h.score });
    for (const w of h.words) {
      out.push({ category: h.category, term: w.word, span: [w.start, w.end], text: prompt.slice(w.start, w.end), source: 'classifier', score: h.score });
    }
  }
  return out;
}

/** Each text stage's matcher, run in TEXT_STAGES order (./stages.ts). */
const RUN: Record<TextStageId, (prompt: string, profile: Profile) => GuardMatch[]> = {
  'word-lists': (prompt, profile) => findMatches(prompt, profile.customWords ?? []),
  classifier: (prompt, profile) => classifierMatches(prompt, classifierModeFor(profile)),
};

/** Every text stage's matches for a prompt under a profile, stage by stage (word lists first). */
export function guardMatches(prompt: string, profile: Profile): GuardMatch[] {
  return TEXT_STAGES.flatMap((stage) => RUN[stage](prompt, profile));
}

const ORDER: readonly GuardCategory[] = [...GUARD_CATEGORIES, CUSTOM];

/** Judge a prompt for a profile under its policy. */
export function checkPrompt(prompt: string, profile: Profile, policy: Policy): GuardResult {
  if (typeof prompt !== 'string') throw new TypeError(`the prompt must be text, got ${typeof prompt}`);
  return decide(guardMatches(prompt, profile), profile, policy);
}

/**
 * The decision for matches already found (guardMatches for this profile, or the same stages' matches computed
 * once for profiles that share custom words and classifier mode): lets a caller judging one prompt under many
 * profiles normalise and match it once.
 */
export function decide(matches: GuardMatch[], profile: Profile, policy: Policy): GuardResult {
  const rank = (c: GuardCategory) => ORDER.indexOf(c);
  const blockCategories: GuardCategory[] = [];
  const steerCategories: GuardCategory[] = [];
  const explanations: Explanation[] = [];
  const seen: GuardMatch[] = [];
  const decided = new Set<GuardCategory>();
  for (const stage of TEXT_STAGES) {
    const source = SOURCE_OF[stage];
    const own = matches.filter((m) => m.source === source);
    seen.push(...own);
    // A category is decided by the first stage that found it; a later stage only adds categories.
    for (const category of ORDER) {
      const found = own.filter((m) => m.category === category);
      if (found.length === 0 || decided.has(category)) continue;
      decided.add(category);
      if (!isBanned(category, profile, policy)) continue;
      const action = actionFor(category, profile);
      (action === 'block' ? blockCategories : steerCategories).push(category);
      const triggers = found.map((m) => m.text).filter((t) => t !== '');
      const score = source === 'classifier' ? found[0].score : undefined;
      explanations.push(explain({ stage: 'text', source, category, action: action === 'block' ? 'blocked' : 'steered', triggers, score }, profile, policy));
    }
    // A blocked prompt goes no further: each stage sees only what the stages before it let through (./stages.ts).
    if (blockCategories.length > 0) break;
  }
  blockCategories.sort((a, b) => rank(a) - rank(b));
  steerCategories.sort((a, b) => rank(a) - rank(b));
  explanations.sort((a, b) => rank(a.category) - rank(b.category));
  const decision: GuardDecision = blockCategories.length > 0 ? 'blocked' : steerCategories.length > 0 ? 'steered' : 'allowed';
  return { decision, matches: seen, explanations, steerCategories, blockCategories };
}
