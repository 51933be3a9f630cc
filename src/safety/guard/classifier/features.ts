// Features of the learned prompt classifier, shared by its training script (scripts/guard/train-classifier.ts) and
// its inference (./classifier.ts) so the two can never disagree: the guard's own normalisation (tokenize: NFKC,
// homoglyphs, leetspeak readings, joined spaced-out letters) → one canonical word per token → hashed word 1-2-grams
// and character 3-5-grams of each word. Hashing (FNV-1a, signed) keeps the model a fixed-size array with no
// vocabulary to ship; every feature remembers the token(s) it came from, so the strongest ones can be shown to a
// parent as the words that made the score ("matched: …").

import { squeeze, tokenize, type Token } from '../normalize';

/** log2 of the number of hash buckets. 2^17 buckets × 8 categories at int8 ≈ 1 MB; collisions are rare enough. */
export const HASH_BITS = 17;
export const HASH_SIZE = 1 << HASH_BITS;

/** One word of a prompt as the classifier reads it, with its span in the original prompt. */
export interface ClassifierWord {
  word: string;
  start: number;
  end: number;
}

/** A hashed feature: bucket, sign (±1, halves collision bias) and the index of the word it is credited to. */
export interface Feature {
  bucket: number;
  sign: 1 | -1;
  /** Index into the words list (a bigram is credited to both of its words: here the first, `word2` the second). */
  word: number;
  word2: number;
}

/**
 * The reading of a token the classifier uses: an all-letter leetspeak decoding when the token mixes letters with
 * symbols ("s3x" → "sex"), stretched letters squeezed ("nuuuude" → "nude"), otherwise the normalised text.
 */
export function canonicalWord(t: Token): string {
  let w = t.text;
  if (!/^[a-z]+$/.test(w) && /[a-z]/.test(w)) {
    for (const f of t.forms) {
      if (/^[a-z]+$/.test(f)) {
        w = f;
        break;
      }
    }
  }
  if (t.squeezed.size > 0) w = squeeze(w);
  return w;
}

/** The prompt's words as the classifier reads them (spaced-out letters joined: "s e x" is one word). */
export function classifierWords(prompt: string): ClassifierWord[] {
  const streams = tokenize(prompt);
  const tokens = streams.joined.length > 0 ? streams.joined[0] : streams.words;
  return tokens.map((t) => ({ word: canonicalWord(t), start: t.start, end: t.end }));
}

/** FNV-1a 32-bit over UTF-16 code units (all feature strings are ASCII after normalisation). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function push(out: Feature[], key: string, word: number, word2: number): void {
  const h = fnv1a(key);
  // Low bits pick the bucket, the top bit the sign.
  out.push({ bucket: h & (HASH_SIZE - 1), sign: h & 0x80000000 ? -1 : 1, word, word2 });
}

/**
 * Function words give no features: they carry the style of a source, not its content. Trained on unsafe questions
 * put to chatbots and benign image captions, a model that saw "how", "to" or "her" learnt "a question is unsafe"
 * and "a caption is safe"; without them it has to learn from the content words.
 */
export const STOPWORDS: ReadonlySet<string> = new Set(
  ('a an the and or but if then of to in on at by for with from into onto over under up down out about as is are was ' +
    'were be been being am do does did have has had can could would should will shall may might must it its this that ' +
    'these those there here what which who whom whose how why when where i me my we our you your he him his she her ' +
    'they them their some any all no not so very just than too also one two s t').split(' '),
);

/**
 * Hashed features of a list of words: word unigrams and bigrams (of the content words, in order), and character
 * 3-5-grams of "<word>".
 */
export function featuresOfWords(all: readonly ClassifierWord[]): Feature[] {
  const out: Feature[] = [];
  const idx = all.flatMap((w, i) => (w.word !== '' && !STOPWORDS.has(w.word) ? [i] : []));
  for (let j = 0; j < idx.length; j++) {
    const i = idx[j];
    const w = all[i].word;
    push(out, 'w:' + w, i, i);
    if (j + 1 < idx.length) push(out, 'b:' + w + ' ' + all[idx[j + 1]].word, i, idx[j + 1]);
    const padded = '<' + w + '>';
    for (let n = 3; n <= 5; n++) {
      for (let k = 0; k + n <= padded.length; k++) push(out, 'c:' + padded.slice(k, k + n), i, i);
    }
  }
  return out;
}

/** Words and features of a prompt. */
export function featurize(prompt: string): { words: ClassifierWord[]; features: Feature[] } {
  const words = classifierWords(prompt);
  return { words, features: featuresOfWords(words) };
}

/**
 * Each feature counts 1/sqrt(n) (n = number of features): the vector has unit length, so a long prompt that buries
 * one explicit word in fifty harmless ones still scores on that word's own weight, not on its share of the text.
 * (A unit vector does dilute: the training data has long prompts too, so the weights learn that scale.)
 */
export function featureScale(n: number): number {
  return n > 0 ? 1 / Math.sqrt(n) : 0;
}
