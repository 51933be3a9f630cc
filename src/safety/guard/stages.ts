// The order of the safety stages around one generation, written down once. Each stage sees only what the stages
// before it let through, and every decision (an explanation, a log entry) names the stage that made it:
//
//   1. normalise     src/safety/guard/normalize.ts — NFKC, homoglyphs, leetspeak readings, spaced-out letters.
//                    Feeds both text stages below; decides nothing itself.
//   2. word-lists    src/safety/guard/lexicon*.ts — the category lexicons (hand-kept terms plus the vendored LDNOOBW
//                    list, benign exceptions after) and the profile's custom words. Source 'lexicon'.
//   3. classifier    src/safety/guard/classifier — the learned prompt classifier, per-category thresholds of the
//                    profile's mode (recall for minors and protected profiles, strict for adults). Decides only the
//                    categories the word lists did not already decide. Source 'classifier'.
//   4. semantic      src/engine/pipeline/semantic-guard.ts — the bundle's CLIP text encoder against concept phrases
//                    (real bundles with a `semanticGuard` section). Source 'semantic'.
//   5. steering      src/safety/steering.ts, sld.ts — a steered prompt gets the personalized negative prompt + SLD.
//   6. image-check   src/engine/image-check — the SD safety checker and Q16 on the generated image. Source
//                    'safety-checker' or 'q16'.
//   7. explain       src/safety/guard/explain.ts, src/state/guard-flow.ts — blur, explanation in the profile's style,
//                    parent-log entry.
//
// Stages 1–3 are this pure module's (run by guard.ts, in the order of TEXT_STAGES, before any GPU work); 4–6 run in
// the engine; 7 in the state layer. Why this order: the word lists are exact and explainable word by word, so they
// speak first; the classifier catches what no list holds; the semantic check needs the bundle's text encoder (GPU
// work); the image stage can only judge what was generated.

/** Every stage, in the order it runs. */
export const STAGES = ['normalise', 'word-lists', 'classifier', 'semantic', 'steering', 'image-check', 'explain'] as const;
export type Stage = (typeof STAGES)[number];

/** The stages the pure prompt guard (guard.ts) runs itself, in STAGES order; each may make a decision. */
export const TEXT_STAGES = STAGES.filter((s): s is 'word-lists' | 'classifier' => s === 'word-lists' || s === 'classifier');
export type TextStageId = (typeof TEXT_STAGES)[number];

/** Which stage made a decision (on an explanation, a match, a log entry). */
export type DecisionSource = 'lexicon' | 'classifier' | 'semantic' | 'safety-checker' | 'q16';

/** The decision source of each guard text stage. */
export const SOURCE_OF: Record<TextStageId, DecisionSource> = { 'word-lists': 'lexicon', classifier: 'classifier' };
