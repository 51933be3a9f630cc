// DDIM (diffusers DDIMScheduler): timestep grid and step, including eta > 0 (DDPM-like noise) and v-prediction.
// Scalars are float32 like diffusers' alphas_cumprod tensors; tensor math is float64 rounded to float32 once.
import { BaseScheduler, type NoiseSource } from './base';
import { plainPlan } from './plan';
import { f32, npArange, npLinspace, roundHalfEven } from './schedule';
import type { StepPlan } from './types';

/** Scalars of one DDIM step (names follow diffusers). */
interface DdimCoeffs {
  sqrtAlphaT: number;
  sqrtBetaT: number;
  sqrtAlphaPrev: number;
  /** sqrt(1 - alpha_prev - std^2): weight of the predicted epsilon. */
  dirCoeff: number;
  stdDev: number;
}

export class DdimScheduler extends BaseScheduler {
  get needsNoise(): boolean {
    return this.cfg.eta > 0;
  }

  protected computeTimesteps(n: number): number[] {
    const T = this.cfg.num_train_timesteps;
    const spacing = this.cfg.timestep_spacing;
    if (spacing === 'linspace') return npLinspace(0, T - 1, n).map(roundHalfEven).reverse();
    if (spacing === 'leading') {
      const ratio = Math.floor(T / n);
      return Array.from({ length: n }, (_, i) => i * ratio + this.cfg.steps_offset).reverse();
    }
    return npArange(T, 0, -T / n).map((v) => roundHalfEven(v) - 1);
  }

  protected resetState(): void {}

  private finalAlphaCumprod(): number {
    return this.cfg.set_alpha_to_one ? 1 : this.train.alphasCumprod[0];
  }

  private coeffs(t: number): DdimCoeffs {
    const prevT = t - Math.floor(this.cfg.num_train_timesteps / this.numInferenceSteps!);
    const aT = this.alphaCumprod(t);
    const aPrev = prevT >= 0 ? this.alphaCumprod(prevT) : this.finalAlphaCumprod();
    const bT = f32(1 - aT);
    const bPrev = f32(1 - aPrev);
    const variance = f32(f32(bPrev / bT) * f32(1 - f32(aT / aPrev)));
    const stdDev = f32(f32(this.cfg.eta) * f32(Math.sqrt(variance)));
    return {
      sqrtAlphaT: f32(Math.sqrt(aT)),
      sqrtBetaT: f32(Math.sqrt(bT)),
      sqrtAlphaPrev: f32(Math.sqrt(aPrev)),
      dirCoeff: f32(Math.sqrt(f32(f32(1 - aPrev) - f32(stdDev * stdDev)))),
      stdDev,
    };
  }

  protected stepImpl(eps: Float32Array, t: number, sample: Float32Array, noise: NoiseSource): Float32Array {
    const c = this.coeffs(t);
    const vpred = this.cfg.prediction_type === 'v_prediction';
    const clip = this.cfg.clip_sample ? this.cfg.clip_sample_range : null;
    const z = this.cfg.eta > 0 ? noise() : null;
    const out = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) {
      const x = sample[i];
      const e = eps[i];
      let x0 = vpred ? c.sqrtAlphaT * x - c.sqrtBetaT * e : (x - c.sqrtBetaT * e) / c.sqrtAlphaT;
      const predEps = vpred ? c.sqrtAlphaT * e + c.sqrtBetaT * x : e;
      if (clip !== null) x0 = Math.min(Math.max(x0, -clip), clip);
      let prev = c.sqrtAlphaPrev * x0 + c.dirCoeff * predEps;
      if (z) prev += c.stdDev * z[i];
      out[i] = prev;
    }
    return out;
  }

  protected planImpl(t: number): StepPlan {
    if (this.cfg.clip_sample) {
      throw new Error('ddim: clip_sample=true makes the step nonlinear; it has no StepPlan (SD1.5 uses false)');
    }
    const c = this.coeffs(t);
    const noisy = this.cfg.eta > 0;
    if (this.cfg.prediction_type === 'v_prediction') {
      // x0 = sa*x - sb*e ; eps = sa*e + sb*x
      return plainPlan(
        c.sqrtAlphaPrev * c.sqrtAlphaT + c.dirCoeff * c.sqrtBetaT,
        c.dirCoeff * c.sqrtAlphaT - c.sqrtAlphaPrev * c.sqrtBetaT,
        c.stdDev,
        noisy,
      );
    }
    // x0 = (x - sb*e) / sa ; eps = e
    return plainPlan(
      c.sqrtAlphaPrev / c.sqrtAlphaT,
      c.dirCoeff - (c.sqrtAlphaPrev * c.sqrtBetaT) / c.sqrtAlphaT,
      c.stdDev,
      noisy,
    );
  }
}
