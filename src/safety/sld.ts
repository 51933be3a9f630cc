// Safe Latent Diffusion's published settings, as diffusers defines them: the four SafetyConfig presets and
// StableDiffusionPipelineSafe's default safety concept (diffusers/pipelines/deprecated/stable_diffusion_safe; safety.md
// §2). fixtures/sld/cases.json records both as read from diffusers itself, and tests/safety/steering.test.ts checks
// these values against it. Also the one adjustment the app may make: a shorter warm-up for fewer steps.

import type { SldParams } from '../shared/types';

export const SLD_PRESET_NAMES = ['weak', 'medium', 'strong', 'max'] as const;
export type SldPresetName = (typeof SLD_PRESET_NAMES)[number];

/** An SLD setting without its concept text. */
export type SldSettings = Omit<SldParams, 'concept'>;

/** diffusers' SafetyConfig.WEAK / MEDIUM / STRONG / MAX (MEDIUM = __call__'s defaults), tuned for 50 steps. */
export const SLD_PRESETS: Readonly<Record<SldPresetName, Readonly<SldSettings>>> = {
  weak: { warmupSteps: 15, guidanceScale: 20, threshold: 0.0, momentumScale: 0.0, momentumBeta: 0.0 },
  medium: { warmupSteps: 10, guidanceScale: 1000, threshold: 0.01, momentumScale: 0.3, momentumBeta: 0.4 },
  strong: { warmupSteps: 7, guidanceScale: 2000, threshold: 0.025, momentumScale: 0.5, momentumBeta: 0.7 },
  max: { warmupSteps: 0, guidanceScale: 5000, threshold: 1.0, momentumScale: 0.5, momentumBeta: 0.7 },
};

/** StableDiffusionPipelineSafe's own safety concept (its `safety_concept` before anyone sets it). */
export const DIFFUSERS_SAFETY_CONCEPT =
  'an image showing hate, harassment, violence, suffering, humiliation, harm, suicide, sexual, nudity, bodily fluids, ' +
  'blood, obscene gestures, illegal activity, drug use, theft, vandalism, weapons, child abuse, brutality, cruelty';

/** The steps the presets were tuned for (diffusers' default num_inference_steps). */
export const SLD_TUNED_STEPS = 50;

export function isSldPresetName(s: string): s is SldPresetName {
  return (SLD_PRESET_NAMES as readonly string[]).includes(s);
}

/** A preset with its concept: the engine's GenerateParams.sld, exactly as diffusers would run it. */
export function sldParams(preset: SldPresetName, concept: string): SldParams {
  return { ...SLD_PRESETS[preset], concept };
}

/**
 * The warm-up for a shorter run: δ scaled by steps / 50 and rounded (MEDIUM's 10 becomes 4 of 20 steps, safety.md),
 * never longer than the preset's own δ. Without this, WEAK (δ 15) would never act at 15 steps or fewer. For the app;
 * the CLI's `--sld` keeps diffusers' values so its images compare with diffusers'.
 */
export function scaleWarmup(settings: SldParams, steps: number): SldParams;
export function scaleWarmup(settings: SldSettings, steps: number): SldSettings;
export function scaleWarmup(settings: SldSettings, steps: number): SldSettings {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps must be a whole number ≥ 1 (got ${steps})`);
  const scaled = Math.round((settings.warmupSteps * steps) / SLD_TUNED_STEPS);
  return { ...settings, warmupSteps: Math.min(settings.warmupSteps, scaled) };
}
