// DPM-Solver++(2M) (diffusers DPMSolverMultistepScheduler, algorithm_type dpmsolver++, solver_order 2), with
// optional Karras sigmas. The model output is converted to an x0 prediction; a step uses the current and the
// previous x0 prediction (first order on the first step and on the final step(s), as diffusers decides).
// Scalars (alpha_t, sigma_t, lambda, h) are float32 torch 0-d tensors in diffusers; we round the same way.
//
// Plan history slot: h0 = the previous step's x0 prediction (diffusers' model_outputs[-2] at the next step).
import { BaseScheduler, type NoiseSource } from './base';
import { ZERO5 } from './plan';
import { f32, karrasSigmas, npArange, npInterpIndex, npLinspace, roundHalfEven, sigmaToT, trainSigmas } from './schedule';
import type { StepPlan, Vec5 } from './types';

/** prev = cSample * sample + cCur * m0 + cPrev * m1, where m0/m1 are the current/previous x0 predictions. */
interface UpdateCoeffs {
  cSample: number;
  cCur: number;
  cPrev: number;
}

export class DpmSolverMultistepScheduler extends BaseScheduler {
  readonly needsNoise = false;
  private sigmas: number[] = [];
  private prevX0: Float32Array | null = null;
  private lowerOrderNums = 0;

  protected computeTimesteps(n: number): number[] {
    const cfg = this.cfg;
    const T = cfg.num_train_timesteps;
    const ac = this.train.alphasCumprod;
    // lambda_min_clipped: drop the trailing train timesteps whose float32 lambda lies below it
    let clipped = 0;
    for (let i = 0; i < T; i++) {
      const lambda = f32(f32(Math.log(f32(Math.sqrt(ac[i])))) - f32(Math.log(f32(Math.sqrt(f32(1 - ac[i]))))));
      if (lambda < cfg.lambda_min_clipped) clipped++;
    }
    const last = T - clipped;
    let ts: number[];
    if (cfg.timestep_spacing === 'linspace') ts = npLinspace(0, last - 1, n + 1).map(roundHalfEven).reverse().slice(0, -1);
    else if (cfg.timestep_spacing === 'leading') {
      const ratio = Math.floor(last / (n + 1));
      ts = Array.from({ length: n + 1 }, (_, i) => i * ratio)
        .reverse()
        .slice(0, -1)
        .map((v) => v + cfg.steps_offset);
    } else ts = npArange(last, 0, -T / n).map((v) => roundHalfEven(v) - 1);

    const train = trainSigmas(ac);
    let sigmas: number[];
    if (cfg.use_karras_sigmas) {
      const logSigmas = train.map((s) => f32(Math.log(s)));
      const smin = cfg.sigma_min ?? train[0];
      const smax = cfg.sigma_max ?? train[T - 1];
      sigmas = karrasSigmas(smin, smax, n);
      const raw = sigmas.map((s) => sigmaToT(s, logSigmas));
      // diffusers rounds except for squaredcos_cap_v2, where the int64 cast truncates
      ts = raw.map((t) => (cfg.beta_schedule === 'squaredcos_cap_v2' ? Math.trunc(t) : roundHalfEven(t)));
    } else {
      sigmas = ts.map((t) => npInterpIndex(t, train));
    }
    const final = cfg.final_sigmas_type === 'sigma_min' ? f32(Math.sqrt(f32(f32(1 - ac[0]) / ac[0]))) : 0;
    this.sigmas = [...sigmas, final].map(f32);
    return ts;
  }

  protected resetState(): void {
    this.prevX0 = null;
    this.lowerOrderNums = 0;
  }

  /** diffusers `_sigma_to_alpha_sigma_t` in float32. */
  private alphaSigma(sigma: number): [number, number] {
    const alpha = f32(1 / f32(Math.sqrt(f32(f32(sigma * sigma) + 1))));
    return [alpha, f32(sigma * alpha)];
  }

  private lambda(alpha: number, sigma: number): number {
    return f32(f32(Math.log(alpha)) - f32(Math.log(sigma)));
  }

  /** x0 = A * sample + B * eps at step index i. */
  private x0Coeffs(i: number): [number, number] {
    const [alpha, sigma] = this.alphaSigma(this.sigmas[i]);
    if (this.cfg.prediction_type === 'v_prediction') return [alpha, -sigma];
    return [1 / alpha, -sigma / alpha];
  }

  /** Which update diffusers' step() picks at index i (before lowerOrderNums is bumped). */
  private order(i: number): 1 | 2 {
    const n = this.ts.length;
    const cfg = this.cfg;
    const lowerFinal =
      i === n - 1 && (cfg.euler_at_final || (cfg.lower_order_final && n < 15) || cfg.final_sigmas_type === 'zero');
    // (diffusers' lower_order_second only matters for solver_order 3.)
    return this.lowerOrderNums < 1 || lowerFinal ? 1 : 2;
  }

  private updateCoeffs(i: number, order: 1 | 2): UpdateCoeffs {
    const [alphaT, sigmaT] = this.alphaSigma(this.sigmas[i + 1]);
    const [alphaS0, sigmaS0] = this.alphaSigma(this.sigmas[i]);
    const lambdaT = this.lambda(alphaT, sigmaT);
    const lambdaS0 = this.lambda(alphaS0, sigmaS0);
    const h = f32(lambdaT - lambdaS0);
    const expm = f32(f32(Math.exp(-h)) - 1); // exp(-h) - 1 (h = +inf at sigma 0 gives -1)
    const c1 = f32(alphaT * expm);
    const cSample = f32(sigmaT / sigmaS0);
    if (order === 1) return { cSample, cCur: -c1, cPrev: 0 };
    const [alphaS1, sigmaS1] = this.alphaSigma(this.sigmas[i - 1]);
    const h0 = f32(lambdaS0 - this.lambda(alphaS1, sigmaS1));
    const invR0 = f32(1 / f32(h0 / h));
    // D0 = m0, D1 = invR0 * (m0 - m1)
    if (this.cfg.solver_type === 'heun') {
      const c2 = f32(alphaT * f32(f32(expm / h) + 1));
      return { cSample, cCur: -c1 + c2 * invR0, cPrev: -c2 * invR0 };
    }
    const half = f32(0.5 * c1);
    return { cSample, cCur: -c1 - half * invR0, cPrev: half * invR0 };
  }

  protected stepImpl(eps: Float32Array, t: number, sample: Float32Array, _noise: NoiseSource): Float32Array {
    const i = this.ensureStepIndex(t, true);
    const order = this.order(i);
    const [a, b] = this.x0Coeffs(i);
    const n = sample.length;
    const x0 = new Float32Array(n);
    for (let k = 0; k < n; k++) x0[k] = a * sample[k] + b * eps[k];
    const c = this.updateCoeffs(i, order);
    const out = new Float32Array(n);
    if (order === 1) {
      for (let k = 0; k < n; k++) out[k] = c.cSample * sample[k] + c.cCur * x0[k];
    } else {
      const m1 = this.prevX0!;
      for (let k = 0; k < n; k++) out[k] = c.cSample * sample[k] + c.cCur * x0[k] + c.cPrev * m1[k];
    }
    this.prevX0 = x0;
    this.lowerOrderNums = Math.min(this.lowerOrderNums + 1, 2);
    this.stepIndex = i + 1;
    return out;
  }

  protected planImpl(t: number): StepPlan {
    const i = this.ensureStepIndex(t, true);
    const order = this.order(i);
    const [a, b] = this.x0Coeffs(i);
    const c = this.updateCoeffs(i, order);
    this.lowerOrderNums = Math.min(this.lowerOrderNums + 1, 2);
    this.stepIndex = i + 1;
    const x0: Vec5 = [a, b, 0, 0, 0];
    return {
      out: [c.cSample + c.cCur * a, c.cCur * b, c.cPrev, 0, 0, 0],
      hist: [x0, [...ZERO5], [...ZERO5]],
      noise: false,
    };
  }
}
