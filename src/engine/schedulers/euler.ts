// Euler (diffusers EulerDiscreteScheduler, no churn) and the sigma grid it shares with Euler-ancestral:
// float32 timesteps from np.linspace/arange, sigmas np.interp'ed from the float32 train sigmas, input scaling
// 1/sqrt(sigma^2+1), and the first-order step x + (sigma_next - sigma) * d.
import { BaseScheduler, type NoiseSource } from './base';
import { plainPlan } from './plan';
import { f32, npArange, npInterpIndex, npLinspace, roundHalfEven, trainSigmas } from './schedule';
import type { SchedulerConfig, StepPlan } from './types';

export interface SigmaGrid {
  timesteps: number[];
  /** float32 values, one per timestep plus the final sigma. */
  sigmas: number[];
}

/** Timesteps + sigmas of EulerDiscrete / EulerAncestralDiscrete `set_timesteps(n)`. */
export function eulerSigmaGrid(cfg: SchedulerConfig, alphasCumprod: Float64Array, n: number, finalSigma: number): SigmaGrid {
  const T = cfg.num_train_timesteps;
  let ts: number[];
  if (cfg.timestep_spacing === 'linspace') ts = npLinspace(0, T - 1, n).reverse().map(f32);
  else if (cfg.timestep_spacing === 'leading') {
    const ratio = Math.floor(T / n);
    ts = Array.from({ length: n }, (_, i) => f32(i * ratio)).reverse().map((v) => f32(v + cfg.steps_offset));
  } else ts = npArange(T, 0, -T / n).map((v) => f32(f32(roundHalfEven(v)) - 1));
  const train = trainSigmas(alphasCumprod);
  const sigmas = ts.map((t) => f32(npInterpIndex(t, train)));
  sigmas.push(f32(finalSigma));
  return { timesteps: ts, sigmas };
}

/** Shared by both Euler variants: grid state, init_noise_sigma and scale_model_input. */
export abstract class SigmaScheduler extends BaseScheduler {
  protected sigmas: number[] = [];

  get initNoiseSigma(): number {
    const source = this.sigmas.length ? this.sigmas : [...trainSigmas(this.train.alphasCumprod), 0];
    const max = source.reduce((a, b) => Math.max(a, b), 0);
    if (this.cfg.timestep_spacing === 'linspace' || this.cfg.timestep_spacing === 'trailing') return max;
    return f32(Math.sqrt(f32(f32(max * max) + 1)));
  }

  inputScale(t: number): number {
    this.requireTimesteps();
    // diffusers uses its step index; when the caller asks about another timestep than the current one (e.g. after
    // planStep already advanced), answer for that timestep instead of a neighbour's sigma.
    const cur = this.stepIndex;
    const i = cur !== null && this.ts[cur] !== t && this.ts.includes(t) ? this.ts.indexOf(t) : this.ensureStepIndex(t);
    const sigma = this.sigmas[i];
    return 1 / f32(Math.sqrt(f32(f32(sigma * sigma) + 1)));
  }

  protected resetState(): void {}

  /** x0 prediction as (coefficient of sample, coefficient of eps) at sigma. */
  protected x0Coeffs(sigma: number): [number, number] {
    if (this.cfg.prediction_type === 'v_prediction') {
      const s2p1 = f32(f32(sigma * sigma) + 1);
      return [1 / s2p1, f32(-sigma / f32(Math.sqrt(s2p1)))];
    }
    return [1, -sigma];
  }
}

export class EulerScheduler extends SigmaScheduler {
  readonly needsNoise = false;

  protected computeTimesteps(n: number): number[] {
    const a = this.train.alphasCumprod;
    const final = this.cfg.final_sigmas_type === 'sigma_min' ? f32(Math.sqrt(f32(f32(1 - a[0]) / a[0]))) : 0;
    const grid = eulerSigmaGrid(this.cfg, a, n, final);
    this.sigmas = grid.sigmas;
    return grid.timesteps;
  }

  protected stepImpl(eps: Float32Array, t: number, sample: Float32Array, _noise: NoiseSource): Float32Array {
    const i = this.ensureStepIndex(t);
    const sigma = this.sigmas[i];
    const dt = f32(this.sigmas[i + 1] - sigma);
    const [cx, ce] = this.x0Coeffs(sigma);
    const out = new Float32Array(sample.length);
    for (let k = 0; k < sample.length; k++) {
      const x = sample[k];
      const x0 = cx * x + ce * eps[k];
      const derivative = (x - x0) / sigma;
      out[k] = x + derivative * dt;
    }
    this.stepIndex = i + 1;
    return out;
  }

  protected planImpl(t: number): StepPlan {
    const i = this.ensureStepIndex(t);
    const sigma = this.sigmas[i];
    const dt = f32(this.sigmas[i + 1] - sigma);
    const [cx, ce] = this.x0Coeffs(sigma);
    this.stepIndex = i + 1;
    // x + dt * (x - (cx x + ce e)) / sigma
    return plainPlan(1 + (dt * (1 - cx)) / sigma, (-dt * ce) / sigma);
  }
}
