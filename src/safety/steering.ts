// Steering texts from a profile's bans (issue "guards", item 3; safety.md §2 "Personalization"): the Safe Latent
// Diffusion safety concept ("an image showing …" + the banned categories' concept phrases), the personalized negative
// prompt (the banned categories' phrases after the user's own words, within CLIP's 77 tokens) and the SLD preset a
// profile gets. Pure functions over data; the engine does the steering.
//
// Token counting. The safety layer cannot import the engine's CLIP tokenizer, so every function that fits text into
// CLIP's window takes a `countTokens(text)` argument (content tokens, without BOS/EOS). Callers that hold the bundle's
// tokenizer pass the exact count; the default, `estimateClipTokens`, is exact for every word this module ships (a
// table checked against CLIP's real BPE by tests/safety/steering.test.ts) and over-estimates other words (⌈letters/2⌉
// per word, one per punctuation mark), so it errs towards dropping one of our phrases rather than overflowing. Text is
// only ever cut by whole phrases, and the user's own words are never cut here: if they alone exceed the window the
// engine truncates them as diffusers does and reports it (GenerateResult.truncated).
//
// The phrases draw on diffusers' default safety concept (DIFFUSERS_SAFETY_CONCEPT, written by SLD's authors for I2P's
// categories, which PSA's seven follow) plus the usual negative-prompt vocabulary. Each category's list is in order
// of importance; fitting takes the first phrase of every banned category, then the second of each, and so on, so when
// room runs out every banned category is still represented.

import type { Category, Policy, Profile } from '../shared/profile';
import { GUARD_CATEGORIES, illegalBanReason, ILLEGAL, type LexiconCategory } from './guard/categories';
import { SLD_PRESETS, type SldPresetName, type SldSettings } from './sld';

/** CLIP's window: 77 ids = BOS + 75 content tokens + EOS. */
export const CLIP_CONTENT_TOKENS = 75;

/** What the SLD concept says each banned category looks like. */
export const CONCEPT_PHRASES: Readonly<Record<LexiconCategory, readonly string[]>> = {
  Hate: ['hate', 'hate symbols', 'discrimination'],
  Harassment: ['harassment', 'humiliation', 'obscene gestures', 'bullying'],
  Violence: ['violence', 'blood', 'weapons', 'brutality', 'suffering', 'harm', 'cruelty'],
  'Self-Harm': ['suicide', 'self-harm', 'harm'],
  Sexuality: ['nudity', 'sexual'],
  Shocking: ['gore', 'bodily fluids', 'blood', 'horror'],
  Propaganda: ['propaganda', 'extremism'],
  Illegal: ['illegal activity', 'drug use', 'theft', 'vandalism'],
};

/** What the personalized negative prompt adds for each banned category. */
export const NEGATIVE_PHRASES: Readonly<Record<LexiconCategory, readonly string[]>> = {
  Hate: ['hate symbols', 'racist imagery'],
  Harassment: ['bullying', 'humiliation', 'obscene gestures'],
  Violence: ['violence', 'blood', 'weapons', 'injury'],
  'Self-Harm': ['self-harm', 'suicide'],
  Sexuality: ['nudity', 'nsfw', 'sexual content', 'lingerie'],
  Shocking: ['gore', 'horror', 'bodily fluids'],
  Propaganda: ['propaganda', 'extremist symbols'],
  Illegal: ['drugs', 'drug use', 'crime'],
};

/** The concept text's opening, as diffusers' default concept has it. */
export const CONCEPT_PREFIX = 'an image showing ';

/**
 * CLIP BPE token counts of every word in the tables above (lower case), measured with SD1.5's tokenizer; the
 * steering test fails if a phrase is added without its words here or a count is wrong.
 */
export const KNOWN_WORD_TOKENS: Readonly<Record<string, number>> = {
  an: 1, image: 1, showing: 1,
  hate: 1, symbols: 1, discrimination: 1, harassment: 1, humiliation: 2, obscene: 2, gestures: 1, bullying: 1,
  violence: 1, blood: 1, weapons: 1, brutality: 1, suffering: 1, harm: 1, cruelty: 1, suicide: 1, self: 1,
  nudity: 2, sexual: 1, gore: 1, bodily: 1, fluids: 1, horror: 1, propaganda: 1, extremism: 1, illegal: 1,
  activity: 1, drug: 1, use: 1, theft: 1, vandalism: 1, racist: 1, imagery: 1, injury: 1, nsfw: 1, content: 1,
  lingerie: 1, extremist: 1, drugs: 1, crime: 1,
};

// CLIP's pre-tokenizer pieces (clip-tokenizer.ts CLIP_SPLIT_REGEX, without the special tokens): letter runs, single
// digits, runs of other non-space characters.
const PIECES = /'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/gu;

/** CLIP content tokens of `text`: exact for KNOWN_WORD_TOKENS words, an over-estimate for others (see header). */
export function estimateClipTokens(text: string): number {
  let n = 0;
  for (const [piece] of text.toLowerCase().matchAll(PIECES)) {
    if (/^\p{L}+$/u.test(piece)) n += KNOWN_WORD_TOKENS[piece] ?? Math.max(1, Math.ceil(piece.length / 2));
    else if (/^\p{N}$/u.test(piece) || piece.startsWith("'")) n += 1;
    else n += [...piece].length;
  }
  return n;
}

export type TokenCounter = (text: string) => number;

/** Phrases of the banned categories, interleaved by rank (every category's first, then every second, …), deduplicated. */
export function rankedPhrases(table: Readonly<Record<LexiconCategory, readonly string[]>>, banned: readonly LexiconCategory[]): string[] {
  const cats = GUARD_CATEGORIES.filter((c) => banned.includes(c));
  const seen = new Set<string>();
  const out: string[] = [];
  const depth = Math.max(0, ...cats.map((c) => table[c].length));
  for (let r = 0; r < depth; r++) {
    for (const c of cats) {
      const p = table[c][r];
      if (p !== undefined && !seen.has(p)) {
        seen.add(p);
        out.push(p);
      }
    }
  }
  return out;
}

export interface Fitted {
  /** The text: the base (if any), then the phrases that fit, joined with ", ". */
  text: string;
  /** Phrases included, in order. */
  added: string[];
  /** Phrases left out because they would not fit. */
  dropped: string[];
  /** countTokens(text). */
  tokens: number;
}

/**
 * Appends phrases to `base` (kept whole, first) with ", " while `countTokens` of the whole stays within `maxTokens`;
 * a phrase that does not fit is skipped (a shorter later one may still fit).
 */
export function fitPhrases(base: string, phrases: readonly string[], countTokens: TokenCounter = estimateClipTokens, maxTokens = CLIP_CONTENT_TOKENS): Fitted {
  const head = base.trim();
  const added: string[] = [];
  const dropped: string[] = [];
  const join = (ps: string[]) => [head, ps.join(', ')].filter((s) => s !== '').join(head.endsWith(',') ? ' ' : ', ');
  for (const p of phrases) {
    if (countTokens(join([...added, p])) <= maxTokens) added.push(p);
    else dropped.push(p);
  }
  const text = join(added);
  return { text, added, dropped, tokens: countTokens(text) };
}

/**
 * The SLD safety concept for these banned categories ("an image showing nudity, sexual, …"), or undefined when
 * nothing is banned. Fits CLIP's window (the whole table for all eight categories does, with the default counter).
 */
export function safetyConcept(banned: readonly LexiconCategory[], countTokens: TokenCounter = estimateClipTokens): string | undefined {
  const phrases = rankedPhrases(CONCEPT_PHRASES, banned);
  if (phrases.length === 0) return undefined;
  // The prefix is not a phrase (no comma after it): fit the list alone in the room the prefix leaves.
  const room = CLIP_CONTENT_TOKENS - countTokens(CONCEPT_PREFIX);
  return CONCEPT_PREFIX + fitPhrases('', phrases, countTokens, room).text;
}

/**
 * The personalized negative prompt: the user's own negative prompt first (never cut here), then the banned
 * categories' phrases that still fit in CLIP's 75 content tokens. `dropped` lists profile phrases that did not fit.
 */
export function personalizedNegative(userNegative: string | undefined, banned: readonly LexiconCategory[], countTokens: TokenCounter = estimateClipTokens): Fitted {
  return fitPhrases(userNegative ?? '', rankedPhrases(NEGATIVE_PHRASES, banned), countTokens);
}

/** Under this age a profile with bans gets STRONG; older minors and adults with bans get MEDIUM. */
export const CHILD_SLD_AGE = 13;

/** The SLD preset for a profile: none when nothing is banned; STRONG for children; MEDIUM for teens and adults. */
export function sldPresetFor(age: number, banned: readonly LexiconCategory[]): SldPresetName | undefined {
  if (banned.length === 0) return undefined;
  return age < CHILD_SLD_AGE ? 'strong' : 'medium';
}

/** The categories steering covers for a profile: the policy's bans plus the guard's Illegal when it applies. */
export function steeringCategories(profile: Profile, policy: Policy): LexiconCategory[] {
  return [...policy.banned, ...(illegalBanReason(profile, policy) ? [ILLEGAL] : [])];
}

/**
 * The same from PSA's fields (the CLI's `--profile` gives only those): PSA's banned list, plus Illegal by the guard's
 * minor rule. A field-only profile has no parent actions, so Illegal's parent choice cannot apply.
 */
export function steeringCategoriesFromFields(f: { Age: number; Banned_Categories: readonly Category[] }): LexiconCategory[] {
  const banned = [...f.Banned_Categories];
  // illegalBanReason reads only profile.age / profile.actions and policy.banned.
  const minorRule = illegalBanReason({ age: f.Age, actions: {} } as Profile, { banned } as unknown as Policy);
  return [...banned, ...(minorRule ? [ILLEGAL] : [])];
}

export interface Steering {
  categories: LexiconCategory[];
  /** SLD preset (undefined: SLD off — nothing banned). */
  preset?: SldPresetName;
  /** The preset's settings (diffusers' values; the app may pass them through scaleWarmup). */
  settings?: SldSettings;
  /** The SLD concept text (undefined when nothing is banned). */
  concept?: string;
  /** The negative prompt to use, with what was added and dropped. */
  negative: Fitted;
}

/** Everything steering needs for one generation of this profile. */
export function steeringFor(profile: Profile, policy: Policy, userNegative?: string, countTokens: TokenCounter = estimateClipTokens): Steering {
  const categories = steeringCategories(profile, policy);
  const preset = sldPresetFor(profile.age, categories);
  return {
    categories,
    preset,
    settings: preset && { ...SLD_PRESETS[preset] },
    concept: safetyConcept(categories, countTokens),
    negative: personalizedNegative(userNegative, categories, countTokens),
  };
}
