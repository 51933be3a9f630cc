// The image stage: SD1.5's safety checker on a finished image, in the worker, before the image leaves it.
// - Finds the bundle's checker: the manifest's `safety_checker` component, or an Optimum export's
//   `safety_checker/model.onnx`; its CLIP preprocessing comes from `preprocessor_config.json` next to the model or in
//   `feature_extractor/` (diffusers' layout).
// - Loads it lazily, on the first image that asks for a check (a real checker is 1.2 GB; profiles that do not ban
//   Sexuality never pay for it), with the score outputs added to the graph (graph-scores.ts), and keeps it.
// - Per image: CLIP pixels (preprocess.ts) + the image in [0,1] → one run → per-concept scores at the profile's
//   adjustment (scores.ts) → on a flag with `blur`, the RGBA is blurred in place (blur.ts) so the unblurred bytes
//   are never posted to the page.
// - Q16 (q16.ts) on the same run: the graph edit also exposes the checker's image embedding; the prompts are the
//   bundle's own `q16.json` next to the checker model when it has one (the tiny demo), else the app's built-in CLIP
//   ViT-L/14 prompts when the embedding is 768-d (SD1.5's checker). A request for Q16 on a checker that has neither
//   fails with a clear error instead of passing the image unchecked.

import type { ModelFile, Variant } from '../../shared/bundle';
import { AppError } from '../../shared/errors';
import type { GenerateParams, GenerateResult } from '../../shared/types';
import { readJson, type BundleReader } from '../bundle-reader';
import { modelWeights } from '../external-data';
import type { ResolvedBundle } from '../bundle-resolve';
import type { InferenceSession } from '../ort-types';
import { createSession, inputMeta, type Runtime } from '../sessions';
import { floatTensor, halfData, type Elem } from '../tensors';
import { blurRgba } from './blur';
import { withScoreOutputs } from './graph-scores';
import { clipPixelValues, parsePreprocessorConfig, type ClipPreprocessConfig } from './preprocess';
import { parseQ16Prompts, q16Score, type Q16Prompts, type Q16Score } from './q16';
import builtInQ16 from './q16-vit-l-14.json' with { type: 'json' };
import { scoresAt, type CheckerScores } from './scores';

export { blurRgba, blurRadius } from './blur';
export { clipPixelValues, parsePreprocessorConfig } from './preprocess';
export { scoresAt, SPECIAL_CARE_BUMP, type CheckerScores } from './scores';
export { withScoreOutputs, readCheckerGraph, findScoreTensors, findImageEmbeds } from './graph-scores';
export { parseQ16Prompts, q16Score, Q16_THRESHOLD, type Q16Prompts, type Q16Score } from './q16';

/** The checker's verdict plus its image embedding (visual_projection output), when the graph exposes it. */
export type CheckResult = CheckerScores & { imageEmbeds?: Float32Array };

export interface ImageChecker {
  readonly file: string;
  /** Scores one RGBA image at `adjustment` (0 = the bundle's thresholds). */
  check(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number, adjustment: number): Promise<CheckResult>;
  /** Q16 on a check's image embedding (throws a clear error when this checker cannot run Q16). */
  q16(result: CheckResult, threshold: number): Q16Score;
  release(): Promise<void>;
}

/** Where the bundle's checker lives, or undefined when it has none. */
export async function locateChecker(reader: BundleReader, bundle: ResolvedBundle, order: readonly Variant[]): Promise<{ model: ModelFile; config: string; q16?: string } | undefined> {
  let model: ModelFile | undefined;
  const variants = bundle.files.safety_checker;
  if (variants) model = order.map((v) => variants[v]).find((f) => f) ?? Object.values(variants)[0];
  else if (bundle.layout === 'optimum' && (await reader.exists('safety_checker/model.onnx'))) {
    // Its external-data files are read from the .onnx when it loads (external-data.ts modelWeights), not guessed.
    model = { path: 'safety_checker/model.onnx' };
  }
  if (!model) return undefined;
  const dir = model.path.includes('/') ? model.path.slice(0, model.path.lastIndexOf('/') + 1) : '';
  const q16 = (await reader.exists(`${dir}q16.json`)) ? `${dir}q16.json` : undefined;
  for (const config of [`${dir}preprocessor_config.json`, 'feature_extractor/preprocessor_config.json']) {
    if (await reader.exists(config)) return { model, config, ...(q16 ? { q16 } : {}) };
  }
  throw new AppError('MODEL_FILE_MISSING', `the bundle at ${reader.label} has a safety checker (${model.path}) but no preprocessor_config.json next to it or in feature_extractor/`);
}

export async function loadImageChecker(rt: Runtime, reader: BundleReader, where: { model: ModelFile; config: string; q16?: string; staticDims?: Record<string, number> }): Promise<ImageChecker> {
  const cfg: ClipPreprocessConfig = parsePreprocessorConfig(await readJson(reader, where.config), where.config);
  const file = where.model.path;
  const bundleQ16 = where.q16 ? parseQ16Prompts(await readJson(reader, where.q16), where.q16) : undefined;
  const original = await reader.bytes(file);
  const { bytes, concept, special, imageEmbeds } = withScoreOutputs(original, file);
  const { externalData } = await modelWeights(reader, where.model, original);
  const session: InferenceSession = await createSession(rt, bytes, { file, role: 'safety_checker', externalData, staticDims: where.staticDims });
  const clipType = inputMeta(session, 'clip_input')!.type as Elem;
  const imagesType = inputMeta(session, 'images')!.type as Elem;
  const toNumbers = (d: unknown, type: string): number[] => (type === 'float16' ? Array.from(halfData(d)) : Array.from(d as ArrayLike<number>));
  let builtIn: Q16Prompts | undefined;
  const q16PromptsFor = (dim: number): Q16Prompts => {
    if (bundleQ16) return bundleQ16;
    builtIn ??= parseQ16Prompts(builtInQ16, 'q16-vit-l-14.json');
    if (builtIn.dim !== dim) throw new AppError('CONTRACT_MISMATCH', `${file}: the checker's image embedding has ${dim} values; Q16's built-in CLIP ViT-L/14 prompts need ${builtIn.dim}, and the bundle has no q16.json of its own`);
    return builtIn;
  };
  return {
    file,
    async check(rgba, width, height, adjustment) {
      const px = clipPixelValues(rgba, width, height, cfg);
      const images = new Float32Array(width * height * 3);
      for (let i = 0; i < width * height; i++) for (let c = 0; c < 3; c++) images[i * 3 + c] = rgba[i * 4 + c] / 255;
      const feeds = {
        clip_input: floatTensor(rt.ort, clipType, px.data, [1, 3, px.height, px.width]),
        images: floatTensor(rt.ort, imagesType, images, [1, height, width, 3]),
      };
      const out = await rt.serial(() => session.run(feeds, ['has_nsfw_concepts', concept, special, ...(imageEmbeds ? [imageEmbeds] : [])]));
      const flag = Boolean((out.has_nsfw_concepts.data as ArrayLike<number | boolean>)[0]);
      const scores = scoresAt(toNumbers(out[concept].data, out[concept].type), toNumbers(out[special].data, out[special].type), flag, adjustment);
      return imageEmbeds ? { ...scores, imageEmbeds: Float32Array.from(toNumbers(out[imageEmbeds].data, out[imageEmbeds].type)) } : scores;
    },
    q16(result, threshold) {
      if (!result.imageEmbeds) throw new AppError('CONTRACT_MISMATCH', `${file}: Q16 needs the checker's image embedding, and this graph's could not be found (see graph-scores.ts)`);
      return q16Score(q16PromptsFor(result.imageEmbeds.length), result.imageEmbeds, threshold);
    },
    release: () => session.release(),
  };
}

/** The checker of a loaded bundle, loaded on first use and kept; `undefined` from get() when there is none. */
export interface LazyImageChecker {
  get(): Promise<ImageChecker | undefined>;
  release(): Promise<void>;
}

export function lazyImageChecker(rt: Runtime, reader: BundleReader, bundle: ResolvedBundle, order: readonly Variant[]): LazyImageChecker {
  let pending: Promise<ImageChecker | undefined> | undefined;
  return {
    get() {
      if (!pending) {
        pending = locateChecker(reader, bundle, order).then((w) => (w ? loadImageChecker(rt, reader, { ...w, staticDims: bundle.staticDims?.safety_checker }) : undefined));
        pending.catch(() => (pending = undefined)); // a failed load is retried by the next image, not cached
      }
      return pending;
    },
    async release() {
      const c = await pending?.catch(() => undefined);
      pending = undefined;
      await c?.release().catch(() => undefined);
    },
  };
}

/**
 * Runs the image stage for one generated image when the request asks for it: returns the result's `imageCheck`
 * (undefined when not asked, or when the bundle has no checker), blurring `rgba` in place on a flag with `blur`.
 */
export async function applyImageCheck(checker: LazyImageChecker | undefined, p: GenerateParams, rgba: Uint8ClampedArray, width: number, height: number): Promise<GenerateResult['imageCheck']> {
  if (!p.imageCheck) return undefined;
  const c = await checker?.get();
  if (!c) return undefined;
  const s = await c.check(rgba, width, height, p.imageCheck.adjustment);
  const q16 = p.imageCheck.q16 ? c.q16(s, p.imageCheck.q16.threshold) : undefined;
  // `concepts: false` (a profile that allows sexual content but bans other categories): the concept verdict is
  // reported, but only Q16's decides the blur.
  const conceptsCount = p.imageCheck.concepts !== false;
  const blurred = p.imageCheck.blur && ((conceptsCount && s.flagged) || !!q16?.flagged);
  if (blurred) blurRgba(rgba, width, height);
  return {
    flagged: s.flagged, scores: s.scores, specialScores: s.specialScores, blurred,
    ...(q16 ? { q16: { probability: q16.probability, flagged: q16.flagged } } : {}),
  };
}
