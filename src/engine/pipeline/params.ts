// Checks of a generation request against the loaded models, with messages a person can act on.

import { LATENT_CHANNELS, VAE_FACTOR } from '../../shared/contract';
import { AppError } from '../../shared/errors';
import { ANY_LATENT_SIZES, MAX_SIDE, sizeProblem } from '../../shared/image-size';
import { SCHEDULER_NAMES, type GenerateParams } from '../../shared/types';
import type { LoadedModels } from '../models';

export { MAX_SIDE };
export const MAX_STEPS = 1000;

export function checkParams(p: GenerateParams, m: LoadedModels): void {
  const bad = (msg: string) => {
    throw new AppError('INVALID_REQUEST', msg);
  };
  if (typeof p.prompt !== 'string') bad('the prompt must be text');
  // The bundle's size rule (shared/image-size.ts), the one the CLI and the generate form apply too.
  const sizes = sizeProblem(p.width, p.height, m.bundle?.sizes ?? ANY_LATENT_SIZES);
  if (sizes) bad(sizes);
  if (!Number.isInteger(p.steps) || p.steps < 1 || p.steps > MAX_STEPS) bad(`steps must be a whole number from 1 to ${MAX_STEPS} (got ${p.steps})`);
  if (!Number.isFinite(p.guidance) || p.guidance < 0 || p.guidance > 50) bad(`guidance must be between 0 and 50 (got ${p.guidance})`);
  if (!Number.isSafeInteger(p.seed) || p.seed < 0) bad(`the seed must be a whole number ≥ 0 (got ${p.seed})`);
  if (!(SCHEDULER_NAMES as readonly string[]).includes(p.scheduler)) bad(`unknown scheduler "${p.scheduler}"; choose one of ${SCHEDULER_NAMES.join(', ')}`);
  const latentSize = LATENT_CHANNELS * (p.width / VAE_FACTOR) * (p.height / VAE_FACTOR);
  if (p.initialNoise && p.initialNoise.length !== latentSize) {
    bad(`initial noise has ${p.initialNoise.length} values; ${p.width}×${p.height} needs [1,4,${p.height / 8},${p.width / 8}] = ${latentSize}`);
  }
  if (p.userEmbedding) {
    if (!m.userProjection) bad('this bundle is not personalized (no PSA user projection): a user embedding cannot be used');
    if (p.userEmbedding.length !== m.io.embeddingSize) bad(`the user embedding has ${p.userEmbedding.length} values; this bundle expects ${m.io.embeddingSize}`);
    for (const x of p.userEmbedding) if (!Number.isFinite(x)) bad('the user embedding contains a value that is not a finite number');
  }
  if (p.psaScale !== undefined && !Number.isFinite(p.psaScale)) bad('psa_scale must be a finite number');
  if (p.sld !== undefined) {
    const s = p.sld;
    if (typeof s !== 'object' || s === null) bad('sld must be an object of Safe Latent Diffusion settings');
    if (typeof s.concept !== 'string') bad('the SLD safety concept must be text');
    if (!Number.isInteger(s.warmupSteps) || s.warmupSteps < 0) bad(`SLD warm-up steps must be a whole number ≥ 0 (got ${s.warmupSteps})`);
    for (const [k, v] of [['guidance scale', s.guidanceScale], ['threshold', s.threshold], ['momentum scale', s.momentumScale]] as const) {
      if (typeof v !== 'number' || !Number.isFinite(v)) bad(`the SLD ${k} must be a finite number (got ${v})`);
    }
    if (typeof s.momentumBeta !== 'number' || !(s.momentumBeta >= 0 && s.momentumBeta <= 1)) bad(`the SLD momentum beta must be between 0 and 1 (got ${s.momentumBeta})`);
  }
  if (p.semanticGuard !== undefined) {
    const cats = p.semanticGuard?.categories;
    if (typeof cats !== 'object' || cats === null) bad('semanticGuard.categories must map category names to "block" or "steer"');
    for (const [c, a] of Object.entries(cats)) if (a !== 'block' && a !== 'steer') bad(`semanticGuard.categories.${c} must be "block" or "steer" (got ${JSON.stringify(a)})`);
  }
}
