// The learned prompt classifier: one logistic-regression score per guard category over hashed word and character
// n-grams (./features.ts) of the guard's normalised text. A linear model on purpose: it runs in a few microseconds
// in pure TypeScript (worker, main thread and Node alike, no ONNX), it is deterministic, and every score is a sum of
// per-word contributions, so the words that pushed a category over its threshold can be named to a parent.
//
// The weights (./model.json) are written by scripts/guard/train-classifier.ts from public labelled sets listed in
// fixtures/guard/classifier/MODEL_CARD.md: int8 per bucket and category with one scale per category, base64 in
// JSON so the file is imported (bundled, works offline and in Node) rather than fetched. Each category has two
// thresholds chosen on a validation split: `recall` (children, teens, protected profiles: catch more) and `strict`
// (adults: false blocks on benign captions kept ≤ 0.5 %). A category with no training data has threshold Infinity.

import { GUARD_CATEGORIES, type LexiconCategory } from '../categories';
import { featureScale, featurize, HASH_BITS, HASH_SIZE, type ClassifierWord } from './features';
import modelJson from './model.json' with { type: 'json' };

export type ThresholdMode = 'recall' | 'strict';

/** The shipped model file's shape. */
export interface ClassifierModelFile {
  version: number;
  hashBits: number;
  categories: string[];
  /** Per category: weight = int8 × scale. */
  scale: number[];
  bias: number[];
  /** base64 of int8[categories × 2^hashBits], category-major. */
  weights: string;
  thresholds: Record<ThresholdMode, (number | null)[]>;
}

export interface ClassifierModel {
  categories: LexiconCategory[];
  scale: Float64Array;
  bias: Float64Array;
  weights: Int8Array;
  thresholds: Record<ThresholdMode, Float64Array>;
}

/** Decode a model file (throws on a file that does not fit this code: wrong hash size or categories). */
export function loadModel(file: ClassifierModelFile): ClassifierModel {
  if (file.hashBits !== HASH_BITS) throw new Error(`classifier model has ${file.hashBits} hash bits, the code ${HASH_BITS}`);
  for (const c of file.categories) if (!(GUARD_CATEGORIES as readonly string[]).includes(c)) throw new Error(`classifier model: unknown category ${c}`);
  const bin = atob(file.weights);
  const n = file.categories.length * HASH_SIZE;
  if (bin.length !== n) throw new Error(`classifier model: ${bin.length} weights, expected ${n}`);
  const weights = new Int8Array(n);
  for (let i = 0; i < n; i++) weights[i] = (bin.charCodeAt(i) << 24) >> 24;
  // null in JSON = no threshold (a category without training data never fires).
  const th = (a: (number | null)[]) => Float64Array.from(a, (x) => (x === null ? Infinity : x));
  return {
    categories: file.categories as LexiconCategory[],
    scale: Float64Array.from(file.scale),
    bias: Float64Array.from(file.bias),
    weights,
    thresholds: { recall: th(file.thresholds.recall), strict: th(file.thresholds.strict) },
  };
}

let shipped: ClassifierModel | undefined;

/** The model shipped with the app (decoded once, on first use). */
export function shippedModel(): ClassifierModel {
  shipped ??= loadModel(modelJson as ClassifierModelFile);
  return shipped;
}

export interface CategoryScore {
  category: LexiconCategory;
  /** Probability-like score in (0, 1). */
  score: number;
  /** Logit contribution of each word (same order as `words`); bigrams are split evenly between their two words. */
  contributions: Float64Array;
}

export interface Classification {
  words: ClassifierWord[];
  scores: CategoryScore[];
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Score a prompt for every category of the model. */
export function classify(prompt: string, model: ClassifierModel = shippedModel()): Classification {
  const { words, features } = featurize(prompt);
  const k = featureScale(features.length);
  const scores: CategoryScore[] = model.categories.map((category, c) => {
    const base = c * HASH_SIZE;
    const contributions = new Float64Array(words.length);
    let z = model.bias[c];
    for (const f of features) {
      const v = f.sign * model.weights[base + f.bucket] * model.scale[c] * k;
      z += v;
      if (f.word === f.word2) contributions[f.word] += v;
      else {
        contributions[f.word] += v / 2;
        contributions[f.word2] += v / 2;
      }
    }
    return { category, score: sigmoid(z), contributions };
  });
  return { words, scores };
}

/** A category the classifier flags, with the words that pushed it there (strongest first). */
export interface ClassifierHit {
  category: LexiconCategory;
  score: number;
  threshold: number;
  /** Up to three words with the largest positive contribution (in prompt order), each with its span in the original prompt. */
  words: ClassifierWord[];
}

/** Categories over the threshold of a mode, in category order. */
export function classifierHits(prompt: string, mode: ThresholdMode, model: ClassifierModel = shippedModel()): ClassifierHit[] {
  const { words, scores } = classify(prompt, model);
  const hits: ClassifierHit[] = [];
  scores.forEach((s, c) => {
    const threshold = model.thresholds[mode][c];
    if (!(s.score >= threshold)) return;
    // Only words carrying a real share of the push (≥ a quarter of the strongest), so "a" or "the" never shows up.
    const max = Math.max(0, ...s.contributions);
    const top = [...s.contributions.keys()]
      .filter((i) => s.contributions[i] > 0 && s.contributions[i] >= max / 4)
      .sort((a, b) => s.contributions[b] - s.contributions[a] || a - b)
      .slice(0, 3)
      .sort((a, b) => a - b);
    // `words` may be empty: the score came from the prompt as a whole (no single word pushed it). Requiring a word
    // halved Sexuality recall on the held-out split, so such a hit still counts and is explained without words.
    hits.push({ category: s.category, score: s.score, threshold, words: top.map((i) => words[i]) });
  });
  return hits;
}
