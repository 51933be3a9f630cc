// Euler ancestral (diffusers EulerAncestralDiscreteScheduler): an Euler step to sigma_down plus fresh noise of
// size sigma_up. diffusers draws noise on EVERY step (at the last step sigma_up is 0), so plans say noise: true
// on every step too; that keeps the engine's draw count identical to diffusers' generator usage.
import type { NoiseSource } from './base';
import { eulerSigmaGrid, SigmaScheduler } from './euler';
import { plainPlan } from './plan';
import { f32 } from './schedule';
import type { StepPlan } from './types';

export class EulerAncestralScheduler extends SigmaScheduler {
  readonly needsNoise = true;

  protected computeTimesteps(n: number): number[] {
    const grid = eulerSigmaGrid(this.cfg, this.train.alphasCumprod, n, 0);
    this.sigmas = grid.sigmas;
    return grid.timesteps;
  }

  /** [sigma, dt = sigma_down - sigma, sigma_up] at step index i. */
  private stepSigmas(i: number): [number, number, number] {
    const from = this.sigmas[i];
    const to = this.sigmas[i + 1];
    const from2 = f32(from * from);
    const to2 = f32(to * to);
    const up = f32(Math.sqrt(f32(f32(to2 * f32(from2 - to2)) / from2)));
    const down = f32(Math.sqrt(f32(to2 - f32(up * up))));
    return [from, f32(down - from), up];
  }

  protected stepImpl(eps: Float32Array, t: number, sample: Float32Array, noise: NoiseSource): Float32Array {
    const i = this.ensureStepIndex(t);
    const [sigma, dt, up] = this.stepSigmas(i);
    const [cx, ce] = this.x0Coeffs(sigma);
    const z = noise();
    const out = new Float32Array(sample.length);
    for (let k = 0; k < sample.length; k++) {
      const x = sample[k];
      const x0 = cx * x + ce * eps[k];
      const derivative = (x - x0) / sigma;
      out[k] = x + derivative * dt + z[k] * up;
    }
    this.stepIndex = i + 1;
    return out;
  }

  protected planImpl(t: number): StepPlan {
    const i = this.ensureStepIndex(t);
    const [sigma, dt, up] = this.stepSigmas(i);
    const [cx, ce] = this.x0Coeffs(sigma);
    this.stepIndex = i + 1;
    return plainPlan(1 + (dt * (1 - cx)) / sigma, (-dt * ce) / sigma, up, true);
  }
}
