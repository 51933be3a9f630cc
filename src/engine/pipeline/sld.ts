// Safe Latent Diffusion's guidance on the CPU: the reference form of what the SLD step kernel (kernels.ts) does on
// the device. Ported from the denoising loop of diffusers' StableDiffusionPipelineSafe.__call__ (not from its
// `perform_safety_guidance` helper, which unpacks the first two rows the other way round; safety.md §2), with
// float32 rounding after every operation as torch computes it on float32 tensors with Python scalars (the scalars
// become float32; `1 - sld_mom_beta` is computed by Python in double first).

import type { GenerateParams, SldParams } from '../../shared/types';

const f = Math.fround;

/** diffusers: enable_safety_guidance = sld_guidance_scale > 1 and guidance_scale > 1. */
export function sldActive(p: Pick<GenerateParams, 'guidance' | 'sld'>): p is Pick<GenerateParams, 'guidance'> & { sld: SldParams } {
  return p.guidance > 1 && p.sld !== undefined && p.sld.guidanceScale > 1;
}

/** The per-step scalars as float32 values, in the order the step kernel's `sld` input takes them. */
export interface SldScalars {
  scale: number;
  threshold: number;
  momentumScale: number;
  beta: number;
  oneMinusBeta: number;
}

export function sldScalars(s: SldParams): SldScalars {
  return {
    scale: f(s.guidanceScale),
    threshold: f(s.threshold),
    momentumScale: f(s.momentumScale),
    beta: f(s.momentumBeta),
    oneMinusBeta: f(1 - s.momentumBeta),
  };
}

/** The step kernel's `sld` input: [s_S, λ, s_m, β_m, 1 − β_m, applies (0 during warm-up, 1 after)]. */
export function sldKernelInput(s: SldParams, applies: boolean): Float32Array {
  const k = sldScalars(s);
  return Float32Array.of(k.scale, k.threshold, k.momentumScale, k.beta, k.oneMinusBeta, applies ? 1 : 0);
}

/** diffusers applies g ← g − γ from step index δ on (`if i >= sld_warmup_steps`). */
export const sldApplies = (s: SldParams, stepIndex: number): boolean => stepIndex >= s.warmupSteps;

/**
 * One step of CFG + SLD. `u`, `c`, `s` are the offsets of the negative, prompt and safety-concept rows in `out`;
 * `nu` (the momentum, zeros before step 0) is updated in place. Returns ε̂ = ε_∅ + G·g.
 */
export function sldCombine(out: Float32Array, rows: { u: number; c: number; s: number }, n: number, guidance: number, k: SldScalars, nu: Float32Array, applies: boolean): Float32Array {
  const g = f(guidance);
  const eps = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const eu = out[rows.u + i];
    const ec = out[rows.c + i];
    const es = out[rows.s + i];
    let guide = f(ec - eu); // noise_guidance = noise_pred_text - noise_pred_uncond
    const d = f(ec - es);
    const scale = Math.min(f(Math.abs(d) * k.scale), 1); // Eq. 6: clamp(|text − safety| · s_S, max=1)
    const mu = d >= k.threshold ? 0 : scale; // Eq. 6: where(text − safety >= λ, 0, scale)
    let gamma = f(f(es - eu) * mu); // Eq. 4: (safety − uncond) ⊙ μ
    gamma = f(gamma + f(k.momentumScale * nu[i])); // Eq. 7: + s_m · ν
    nu[i] = f(f(k.beta * nu[i]) + f(k.oneMinusBeta * gamma)); // Eq. 8, every step
    if (applies) guide = f(guide - gamma); // Eq. 3, after warm-up
    eps[i] = f(eu + f(g * guide));
  }
  return eps;
}
