// Every user-facing word of the safety layer's explanations, in one table: category labels for children and
// adults, the rule lines, and the messages for each action. Child wording never names what was asked for — only a
// gentle label for the kind of thing — and its labels are checked by tests to contain no lexicon word at all, so a
// child's explanation cannot echo a trigger word even by accident. Adult wording may quote the matched words.

import type { ExplanationStyle } from '../shared/profile';

/** Categories the explanations know: PSA's seven, the guard's Illegal, and the profile's own list. */
export type TextCategory = 'Hate' | 'Harassment' | 'Violence' | 'Self-Harm' | 'Sexuality' | 'Shocking' | 'Propaganda' | 'Illegal' | 'Custom';
export type TextStage = 'text' | 'image' | 'q16';
export type TextAction = 'blocked' | 'steered' | 'blurred';

export const TEXTS = {
  /** Gentle labels a child reads ("this idea is about …"). Must not contain a lexicon word (tested). */
  childLabel: {
    Hate: 'treating groups of people as less than others',
    Harassment: 'being unkind to someone',
    Violence: 'someone getting hurt',
    'Self-Harm': 'things that could make someone feel very unsafe',
    Sexuality: 'grown-up things about bodies',
    Shocking: 'scary or yucky things',
    Propaganda: 'messages that try to turn people against each other',
    Illegal: 'things that break the law',
    Custom: 'words your grown-up asked to leave out',
  } satisfies Record<TextCategory, string>,

  /** Category names adults read. */
  adultLabel: {
    Hate: 'hate',
    Harassment: 'harassment',
    Violence: 'violence',
    'Self-Harm': 'self-harm',
    Sexuality: 'sexual content',
    Shocking: 'shocking content',
    Propaganda: 'propaganda',
    Illegal: 'illegal activity (drugs, weapons, crime)',
    Custom: "this profile's blocked words",
  } satisfies Record<TextCategory, string>,

  /** The rule line a child reads instead of the policy's reason (which names categories and conditions). */
  childReason: 'The grown-up who set up this profile chose which pictures it can show.',

  /** Rule lines for the guard's own categories (the policy has no decision for them). */
  illegalReasonMinor: 'Illegal: banned for everyone under 18 whose profile bans Violence or Self-Harm',
  illegalReasonParent: "Illegal: banned by the parent's choice (an action is set for it)",
  customReason: "Custom: on this profile's own list of blocked words",
  bannedFallbackReason: '{category}: banned for this profile',

  /** Titles by style and action. */
  title: {
    child: { blocked: "Let's try another idea", steered: 'We changed your picture a little', blurred: 'This picture is hidden' },
    adult: { blocked: 'Prompt blocked', steered: 'Adjusted for this profile', blurred: 'Image blurred' },
  } satisfies Record<ExplanationStyle, Record<TextAction, string>>,

  /** Messages; placeholders: {label} category label, {reason} rule line, {words} quoted trigger words, {stage}. */
  message: {
    child: {
      blocked: "This picture idea is about {label}, so it is not available on this profile. How about a different idea?",
      steered: 'Your idea had a bit of {label}, so the picture was changed to fit this profile.',
      blurred: 'The picture came out showing {label}, so it is hidden for this profile.',
    },
    adult: {
      blocked: 'Your words were stopped before generation: {label} is banned for this profile ({reason}). Matched: {words}.',
      steered: 'The image was steered away from {label}, which is banned for this profile ({reason}). Matched: {words}.',
      blurred: 'The image check found {label}, which is banned for this profile ({reason}); the image is blurred.',
    },
  } satisfies Record<ExplanationStyle, Record<TextAction, string>>,

  /** Extra kind words for a child when the category is Self-Harm (safety.md: supportive, never echo). */
  childSupport: {
    'Self-Harm': 'If you feel sad or worried, please talk to a grown-up you trust.',
  } as Partial<Record<TextCategory, string>>,

  stage: { text: 'your words', image: 'the picture', q16: 'the picture' } satisfies Record<TextStage, string>,

  /**
   * Q16's image check (any banned category other than Sexuality): it answers only "inappropriate or not", so the
   * child reads a gentle label (through message.child.blurred) and the adult the verdict, its probability and the
   * profile's bans. Placeholders: {probability}, {categories}, {reason}.
   */
  q16: {
    childLabel: 'things that are not okay for this profile',
    adultMessage: 'The image check (Q16) rated the image inappropriate (probability {probability}); this profile bans {categories} ({reason}); the image is blurred.',
  },

  /** Adult wording's {words} for a classifier decision: the words that pushed its score over the threshold. */
  classifierMatch: '{words} (prompt classifier, score {score})',
  /** …when no single word carried the score (the prompt as a whole read as the category). */
  classifierMatchWhole: 'no single word; the prompt classifier read the prompt as a whole (score {score})',

  /** Adult wording's {words} for a semantic hit (no word matched: the prompt's meaning was close to the category's). */
  semanticMatch: 'no listed word, but the meaning of the prompt (similarity {score})',

  /** Short labels by the result: a steered picture's badge (opens its explanation), a blurred picture's notice. */
  badge: { steered: 'adjusted for this profile', blurred: 'blurred for this profile by the image check' },
} as const;

/** Fill {placeholders} in a table text. */
export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (k in values ? values[k] : m));
}
