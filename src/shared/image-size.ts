// Which picture sizes a bundle accepts: one rule, shared by the engine (pipeline/params.ts refuses anything else), the
// command line (scripts/generate.ts checks before loading any model) and the generate form (it offers only these).
// SD1.5's U-Net halves the latent grid three times, so its sides must be multiples of 64 pixels; far from its
// 512×512 training size it repeats or smears the subject, so the range stays near it (256–768). A bundle may
// declare its own rule (manifest `sizes`): the tiny demo models do, for sizes small enough for tests. A bundle that
// declares none gets SD1.5's rule when it was made at SD1.5's size, and otherwise only what the pipeline needs at all
// (multiples of 8 up to 2048) — a diffusers folder of another size cannot declare one.

import { VAE_FACTOR } from './contract';

/** Sides from `min` to `max` in steps of `step` pixels (each a multiple of `step`). */
export interface SizeRule {
  min: number;
  max: number;
  step: number;
}

/** SD1.5's sizes: multiples of 64 from 256 to 768. */
export const SD15_SIZES: SizeRule = { min: 256, max: 768, step: 64 };
/** SD1.5's training size (its bundles' default image side). */
export const SD15_SIDE = 512;
/** The most the pipeline takes on a side (memory, not quality). */
export const MAX_SIDE = 2048;
/** What the pipeline needs at all: whole latents (multiples of the VAE's 8), up to MAX_SIDE. */
export const ANY_LATENT_SIZES: SizeRule = { min: VAE_FACTOR, max: MAX_SIDE, step: VAE_FACTOR };

/** Why `rule` cannot be a bundle's size rule (plain words), or undefined when it can. */
export function sizeRuleProblem(rule: unknown): string | undefined {
  const r = rule as Partial<SizeRule> | undefined;
  if (!r || typeof r !== 'object') return 'sizes must be an object { min, max, step }';
  for (const k of ['min', 'max', 'step'] as const) {
    if (!Number.isInteger(r[k]) || (r[k] as number) <= 0) return `sizes.${k} must be a whole number of pixels above 0 (got ${JSON.stringify(r[k])})`;
  }
  const { min, max, step } = r as SizeRule;
  if (step % VAE_FACTOR) return `sizes.step must be a multiple of ${VAE_FACTOR} (the VAE's factor; got ${step})`;
  if (min % step || max % step) return `sizes.min and sizes.max must be multiples of sizes.step (${step}; got ${min} and ${max})`;
  if (min > max) return `sizes.min (${min}) must not be above sizes.max (${max})`;
  if (max > MAX_SIDE) return `sizes.max must be at most ${MAX_SIDE} (got ${max})`;
  return undefined;
}

/** The rule a bundle works under: its own declaration, else SD1.5's for an SD1.5-size model, else whole latents. */
export function sizeRuleFor(image: { width: number; height: number }, declared?: SizeRule): SizeRule {
  if (declared) return declared;
  return image.width === SD15_SIDE && image.height === SD15_SIDE ? SD15_SIZES : ANY_LATENT_SIZES;
}

/** The rule in words, for errors and hints: "a multiple of 64 from 256 to 768". */
export function describeSizeRule(rule: SizeRule): string {
  return `a multiple of ${rule.step} from ${rule.min} to ${rule.max}`;
}

/** Why `width` × `height` breaks `rule` (naming the side and the rule), or undefined when both sides keep it. */
export function sizeProblem(width: unknown, height: unknown, rule: SizeRule): string | undefined {
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    const ok = typeof v === 'number' && Number.isInteger(v) && v >= rule.min && v <= rule.max && v % rule.step === 0;
    if (!ok) return `${name} must be ${describeSizeRule(rule)} pixels for this model (got ${JSON.stringify(v)})`;
  }
  return undefined;
}

/** Every side the rule allows, smallest first (what a size picker offers). */
export function allowedSides(rule: SizeRule): number[] {
  const out: number[] = [];
  for (let v = rule.min; v <= rule.max; v += rule.step) out.push(v);
  return out;
}

export type SizeShape = 'square' | 'portrait' | 'landscape';

/**
 * The three shapes a person picks from, in the rule's sizes: square at the model's own size, portrait and landscape
 * at about 2:3 around it (SD1.5: 512×512, 512×768, 768×512); each snapped into the rule.
 */
export function sizePresets(rule: SizeRule, image: { width: number; height: number }): Record<SizeShape, { width: number; height: number }> {
  const snap = (v: number) => Math.min(rule.max, Math.max(rule.min, Math.round(v / rule.step) * rule.step));
  const side = snap(Math.min(image.width, image.height));
  const long = snap(side * 1.5);
  return { square: { width: side, height: side }, portrait: { width: side, height: long }, landscape: { width: long, height: side } };
}
