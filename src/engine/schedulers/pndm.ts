// PNDM / PLMS (diffusers PNDMScheduler with skip_prk_steps=true, as SD1.5 ships it): the n+1 entry timestep grid
// (the second step repeats a timestep to do a Heun-like correction from the saved sample) and the 4th-order
// linear multistep over past epsilons.
//
// Plan history slots: h0 = ets[-1], h1 = ets[-2], h2 = ets[-3] (past model outputs, newest first), except between
// the first and second step, when h1 holds the first step's input sample (diffusers' `cur_sample`).
import { BaseScheduler, type NoiseSource } from './base';
import { ZERO5 } from './plan';
import { f32, npArange, npLinspace, roundHalfEven } from './schedule';
import type { StepPlan, Vec5 } from './types';

/** prev = sampleCoeff * x - epsCoeff * mo, from PNDM's formula (9). */
interface PrevCoeffs {
  sampleCoeff: number;
  epsCoeff: number;
  sqrtAlphaT: number;
  sqrtBetaT: number;
}

export class PndmScheduler extends BaseScheduler {
  readonly needsNoise = false;
  private counter = 0;
  private ets: Float32Array[] = [];
  private curSample: Float32Array | null = null;
  /** How many ets diffusers holds (for planStep, which keeps tensors on the GPU). */
  private etsCount = 0;

  protected computeTimesteps(n: number): number[] {
    const T = this.cfg.num_train_timesteps;
    const spacing = this.cfg.timestep_spacing;
    let base: number[]; // ascending, diffusers' `_timesteps`
    if (spacing === 'linspace') base = npLinspace(0, T - 1, n).map(roundHalfEven);
    else if (spacing === 'leading') {
      const ratio = Math.floor(T / n);
      base = Array.from({ length: n }, (_, i) => i * ratio + this.cfg.steps_offset);
    } else base = npArange(T, 0, -T / n).map((v) => roundHalfEven(v) - 1).reverse();
    // skip_prk_steps: [..._timesteps[:-1], _timesteps[-2], _timesteps[-1]] reversed
    const plms = [...base.slice(0, -1), ...base.slice(-2, -1), ...base.slice(-1)];
    return plms.reverse();
  }

  protected resetState(): void {
    this.counter = 0;
    this.ets = [];
    this.curSample = null;
    this.etsCount = 0;
  }

  private ratio(): number {
    return Math.floor(this.cfg.num_train_timesteps / this.numInferenceSteps!);
  }

  /** The (timestep, prev_timestep) pair diffusers' step_plms uses at the current counter. */
  private timePair(t: number): [number, number] {
    return this.counter === 1 ? [t + this.ratio(), t] : [t, t - this.ratio()];
  }

  private prevCoeffs(t: number, prevT: number): PrevCoeffs {
    const aT = this.alphaCumprod(t);
    const aPrev = prevT >= 0 ? this.alphaCumprod(prevT) : this.cfg.set_alpha_to_one ? 1 : this.train.alphasCumprod[0];
    const bT = f32(1 - aT);
    const bPrev = f32(1 - aPrev);
    const denom = f32(f32(aT * f32(Math.sqrt(bPrev))) + f32(Math.sqrt(f32(f32(aT * bT) * aPrev))));
    return {
      sampleCoeff: f32(Math.sqrt(f32(aPrev / aT))),
      epsCoeff: f32(aPrev - aT) / denom,
      sqrtAlphaT: f32(Math.sqrt(aT)),
      sqrtBetaT: f32(Math.sqrt(bT)),
    };
  }

  protected stepImpl(eps: Float32Array, tIn: number, sampleIn: Float32Array, _noise: NoiseSource): Float32Array {
    const [t, prevT] = this.timePair(tIn);
    let sample = sampleIn;
    if (this.counter !== 1) {
      this.ets = this.ets.slice(-3);
      this.ets.push(eps.slice()); // copies: callers may reuse their buffers
    }
    const e = this.ets;
    const k = e.length;
    const n = sample.length;
    const mo = new Float64Array(n);
    if (k === 1 && this.counter === 0) {
      mo.set(eps);
      this.curSample = sample.slice();
    } else if (k === 1 && this.counter === 1) {
      for (let i = 0; i < n; i++) mo[i] = (eps[i] + e[0][i]) / 2;
      sample = this.curSample!;
      this.curSample = null;
    } else if (k === 2) {
      for (let i = 0; i < n; i++) mo[i] = (3 * e[1][i] - e[0][i]) / 2;
    } else if (k === 3) {
      for (let i = 0; i < n; i++) mo[i] = (23 * e[2][i] - 16 * e[1][i] + 5 * e[0][i]) / 12;
    } else {
      for (let i = 0; i < n; i++) mo[i] = (1 / 24) * (55 * e[3][i] - 59 * e[2][i] + 37 * e[1][i] - 9 * e[0][i]);
    }
    const c = this.prevCoeffs(t, prevT);
    const vpred = this.cfg.prediction_type === 'v_prediction';
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const m = vpred ? c.sqrtAlphaT * mo[i] + c.sqrtBetaT * sample[i] : mo[i];
      out[i] = c.sampleCoeff * sample[i] - c.epsCoeff * m;
    }
    this.counter++;
    return out;
  }

  protected planImpl(tIn: number): StepPlan {
    const [t, prevT] = this.timePair(tIn);
    const c = this.prevCoeffs(t, prevT);
    // The combined model output `mo` as coefficients of (sample, eps, h0, h1, h2); `src` is the sample it applies to.
    let mo: Vec5;
    let src: Vec5;
    let hist: [Vec5, Vec5, Vec5];
    if (this.counter === 0) {
      mo = [0, 1, 0, 0, 0];
      src = [1, 0, 0, 0, 0];
      hist = [[0, 1, 0, 0, 0], [1, 0, 0, 0, 0], [...ZERO5]]; // ets = [eps], cur_sample = sample
      this.etsCount = 1;
    } else if (this.counter === 1) {
      mo = [0, 0.5, 0.5, 0, 0];
      src = [0, 0, 0, 1, 0]; // restart from cur_sample
      hist = [[0, 0, 1, 0, 0], [...ZERO5], [...ZERO5]]; // ets unchanged, cur_sample cleared
    } else {
      this.etsCount = Math.min(this.etsCount, 3) + 1;
      const k = this.etsCount;
      if (k === 2) mo = [0, 3 / 2, -1 / 2, 0, 0];
      else if (k === 3) mo = [0, 23 / 12, -16 / 12, 5 / 12, 0];
      else mo = [0, 55 / 24, -59 / 24, 37 / 24, -9 / 24];
      src = [1, 0, 0, 0, 0];
      hist = [[0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 1, 0]]; // push eps, shift the rest
    }
    if (this.cfg.prediction_type === 'v_prediction') {
      mo = mo.map((m, j) => c.sqrtAlphaT * m + c.sqrtBetaT * src[j]) as Vec5;
    }
    const lin = src.map((s, j) => c.sampleCoeff * s - c.epsCoeff * mo[j]) as Vec5;
    this.counter++;
    return { out: [...lin, 0], hist, noise: false };
  }
}
