// The image stage: SD1.5's safety checker on a finished image, in the worker, before the image leaves it.
// - Finds the bundle's checker: the manifest's `safety_checker` component, or an Optimum export's
//   `safety_checker/model.onnx`; its CLIP preprocessing comes from `preprocessor_config.json` next to the model or in
//   `feature_extractor/` (diffusers' layout).
// - Loads it lazily, on the first image that asks for a check (a real checker is 1.2 GB; profiles that do not ban
//   Sexuality never pay for it), with the score outputs added to the graph (graph-scores.ts), and keeps it.
// - Per image: CLIP pixels (preprocess.ts) + the image in [0,1] → one run → per-concept scores at the profile's
//   adjustment (scores.ts) → on a flag with `blur`, the RGBA is blurred in place (blur.ts) so the unblurred bytes
//   are never posted to the page.

import type { ModelFile, Variant } from '../../shared/bundle';
import { AppError } from '../../shared/errors';
import type { GenerateParams, GenerateResult } from '../../shared/types';
import { externalBytes, readJson, type BundleReader } from '../bundle-reader';
import type { ResolvedBundle } from '../bundle-resolve';
import type { InferenceSession } from '../ort-types';
import { createSession, inputMeta, type Runtime } from '../sessions';
import { floatTensor, fromHalf, type Elem } from '../tensors';
import { blurRgba } from './blur';
import { withScoreOutputs } from './graph-scores';
import { clipPixelValues, parsePreprocessorConfig, type ClipPreprocessConfig } from './preprocess';
import { scoresAt, type CheckerScores } from './scores';

export { blurRgba, blurRadius } from './blur';
export { clipPixelValues, parsePreprocessorConfig } from './preprocess';
export { scoresAt, SPECIAL_CARE_BUMP, type CheckerScores } from './scores';
export { withScoreOutputs, readCheckerGraph, findScoreTensors } from './graph-scores';

export interface ImageChecker {
  readonly file: string;
  /** Scores one RGBA image at `adjustment` (0 = the bundle's thresholds). */
  check(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number, adjustment: number): Promise<CheckerScores>;
  release(): Promise<void>;
}

/** Where the bundle's checker lives, or undefined when it has none. */
export async function locateChecker(reader: BundleReader, bundle: ResolvedBundle, order: readonly Variant[]): Promise<{ model: ModelFile; config: string } | undefined> {
  let model: ModelFile | undefined;
  const variants = bundle.files.safety_checker;
  if (variants) model = order.map((v) => variants[v]).find((f) => f) ?? Object.values(variants)[0];
  else if (bundle.layout === 'optimum' && (await reader.exists('safety_checker/model.onnx'))) {
    model = { path: 'safety_checker/model.onnx' };
    for (const ext of ['model.onnx_data', 'weights.pb']) if (await reader.exists(`safety_checker/${ext}`)) model.externalData = [{ path: `safety_checker/${ext}` }];
  }
  if (!model) return undefined;
  const dir = model.path.includes('/') ? model.path.slice(0, model.path.lastIndexOf('/') + 1) : '';
  for (const config of [`${dir}preprocessor_config.json`, 'feature_extractor/preprocessor_config.json']) {
    if (await reader.exists(config)) return { model, config };
  }
  throw new AppError('MODEL_FILE_MISSING', `the bundle at ${reader.label} has a safety checker (${model.path}) but no preprocessor_config.json next to it or in feature_extractor/`);
}

export async function loadImageChecker(rt: Runtime, reader: BundleReader, where: { model: ModelFile; config: string; staticDims?: Record<string, number> }): Promise<ImageChecker> {
  const cfg: ClipPreprocessConfig = parsePreprocessorConfig(await readJson(reader, where.config), where.config);
  const file = where.model.path;
  const original = await reader.bytes(file);
  const { bytes, concept, special } = withScoreOutputs(original, file);
  const externalData = where.model.externalData
    ? await Promise.all(where.model.externalData.map(async (x) => ({ path: x.path.split('/').pop()!, data: await externalBytes(reader, x.path) })))
    : undefined;
  const session: InferenceSession = await createSession(rt, bytes, { file, role: 'safety_checker', externalData, staticDims: where.staticDims });
  const clipType = inputMeta(session, 'clip_input')!.type as Elem;
  const imagesType = inputMeta(session, 'images')!.type as Elem;
  const toNumbers = (d: unknown, type: string): number[] => (type === 'float16' ? Array.from(d as Uint16Array, fromHalf) : Array.from(d as ArrayLike<number>));
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
      const out = await rt.serial(() => session.run(feeds, ['has_nsfw_concepts', concept, special]));
      const flag = Boolean((out.has_nsfw_concepts.data as ArrayLike<number | boolean>)[0]);
      return scoresAt(toNumbers(out[concept].data, out[concept].type), toNumbers(out[special].data, out[special].type), flag, adjustment);
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
  const blurred = s.flagged && p.imageCheck.blur;
  if (blurred) blurRgba(rgba, width, height);
  return { flagged: s.flagged, scores: s.scores, specialScores: s.specialScores, blurred };
}
