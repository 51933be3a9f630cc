// LCM (diffusers LCMScheduler, for LCM-LoRA on SD1.5): timesteps picked from the distillation grid of
// original_inference_steps, the consistency boundary scalings c_skip / c_out, and re-noising to the next
// timestep with a fresh draw on every step but the last (diffusers draws none there).
import { BaseScheduler, type NoiseSource } from './base';
import { plainPlan } from './plan';
import { f32 } from './schedule';
import type { StepPlan } from './types';

interface LcmCoeffs {
  sqrtAlphaT: number;
  sqrtBetaT: number;
  cSkip: number;
  cOut: number;
  sqrtAlphaPrev: number;
  sqrtBetaPrev: number;
  last: boolean;
}

export class LcmScheduler extends BaseScheduler {
  readonly needsNoise = true;

  protected computeTimesteps(n: number): number[] {
    const original = this.cfg.original_inference_steps;
    const T = this.cfg.num_train_timesteps;
    if (original > T) throw new RangeError(`lcm: original_inference_steps ${original} exceeds num_train_timesteps ${T}`);
    if (n > original) {
      throw new RangeError(`lcm: ${n} steps exceed original_inference_steps ${original} (the schedule is a subset of that grid)`);
    }
    const k = Math.floor(T / original);
    const origin = Array.from({ length: original }, (_, i) => (i + 1) * k - 1).reverse();
    // np.floor(np.linspace(0, len, num=n, endpoint=False))
    return Array.from({ length: n }, (_, i) => origin[Math.floor(i * (origin.length / n))]);
  }

  protected resetState(): void {}

  private coeffs(i: number, t: number): LcmCoeffs {
    const prevT = i + 1 < this.ts.length ? this.ts[i + 1] : t;
    const aT = this.alphaCumprod(t);
    const aPrev = prevT >= 0 ? this.alphaCumprod(prevT) : this.cfg.set_alpha_to_one ? 1 : this.train.alphasCumprod[0];
    // get_scalings_for_boundary_condition_discrete with a tensor timestep: float32 math, sigma_data = 0.5
    const scaled = f32(t * f32(this.cfg.timestep_scaling));
    const d = f32(f32(scaled * scaled) + 0.25);
    return {
      sqrtAlphaT: f32(Math.sqrt(aT)),
      sqrtBetaT: f32(Math.sqrt(f32(1 - aT))),
      cSkip: f32(f32(1 / d) * 0.25),
      cOut: f32(scaled / f32(Math.sqrt(d))),
      sqrtAlphaPrev: f32(Math.sqrt(aPrev)),
      sqrtBetaPrev: f32(Math.sqrt(f32(1 - aPrev))),
      last: i === this.numInferenceSteps! - 1,
    };
  }

  protected stepImpl(eps: Float32Array, t: number, sample: Float32Array, noise: NoiseSource): Float32Array {
    const i = this.ensureStepIndex(t);
    const c = this.coeffs(i, t);
    const vpred = this.cfg.prediction_type === 'v_prediction';
    const clip = this.cfg.clip_sample ? this.cfg.clip_sample_range : null;
    const n = sample.length;
    const denoised = new Float32Array(n);
    for (let k = 0; k < n; k++) {
      const x = sample[k];
      const e = eps[k];
      let x0 = vpred ? c.sqrtAlphaT * x - c.sqrtBetaT * e : (x - c.sqrtBetaT * e) / c.sqrtAlphaT;
      if (clip !== null) x0 = Math.min(Math.max(x0, -clip), clip);
      denoised[k] = c.cOut * x0 + c.cSkip * x;
    }
    this.stepIndex = i + 1;
    if (c.last) return denoised;
    const z = noise();
    const out = new Float32Array(n);
    for (let k = 0; k < n; k++) out[k] = c.sqrtAlphaPrev * denoised[k] + c.sqrtBetaPrev * z[k];
    return out;
  }

  protected planImpl(t: number): StepPlan {
    if (this.cfg.clip_sample) throw new Error('lcm: clip_sample=true makes the step nonlinear; it has no StepPlan');
    const i = this.ensureStepIndex(t);
    const c = this.coeffs(i, t);
    this.stepIndex = i + 1;
    // denoised = cX * sample + cE * eps
    const [px, pe] =
      this.cfg.prediction_type === 'v_prediction' ? [c.sqrtAlphaT, -c.sqrtBetaT] : [1 / c.sqrtAlphaT, -c.sqrtBetaT / c.sqrtAlphaT];
    const cX = c.cOut * px + c.cSkip;
    const cE = c.cOut * pe;
    if (c.last) return plainPlan(cX, cE);
    return plainPlan(c.sqrtAlphaPrev * cX, c.sqrtAlphaPrev * cE, c.sqrtBetaPrev, true);
  }
}
