// StepPlan helpers: building plans and evaluating them on the CPU (applyPlan), the exact semantics the GPU
// linear-combination kernel must reproduce. Tests roll schedulers out with planStep + applyPlan and compare with
// step() to prove every plan is the same update diffusers performs.
import type { StepPlan, Vec5 } from './types';

export type History = [Float32Array, Float32Array, Float32Array];

export const ZERO5: Readonly<Vec5> = [0, 0, 0, 0, 0];

/** Three zeroed history slots for a latent of `n` elements (slots start at zero by contract). */
export function createHistory(n: number): History {
  return [new Float32Array(n), new Float32Array(n), new Float32Array(n)];
}

/** A plan that keeps no history. */
export function plainPlan(sample: number, eps: number, noise = 0, usesNoise = false): StepPlan {
  return { out: [sample, eps, 0, 0, 0, noise], hist: [[...ZERO5], [...ZERO5], [...ZERO5]], noise: usesNoise };
}

/**
 * Evaluates `plan`: returns prev and overwrites `hist` with the new history. All right-hand sides use the values
 * from before the step (each element is read completely before any slot is written).
 */
export function applyPlan(
  plan: StepPlan,
  sample: Float32Array,
  eps: Float32Array,
  hist: History,
  noise?: Float32Array,
): Float32Array {
  const n = sample.length;
  if (eps.length !== n || hist.some((h) => h.length !== n)) throw new Error('applyPlan: tensor sizes differ');
  if (plan.noise && (!noise || noise.length !== n)) throw new Error('applyPlan: plan needs a noise tensor of the sample size');
  const [o0, o1, o2, o3, o4, o5] = plan.out;
  const [a, b, c] = plan.hist;
  const [h0, h1, h2] = hist;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const x = sample[i];
    const e = eps[i];
    const p = h0[i];
    const q = h1[i];
    const r = h2[i];
    let v = o0 * x + o1 * e + o2 * p + o3 * q + o4 * r;
    if (plan.noise) v += o5 * noise![i];
    out[i] = v;
    h0[i] = a[0] * x + a[1] * e + a[2] * p + a[3] * q + a[4] * r;
    h1[i] = b[0] * x + b[1] * e + b[2] * p + b[3] * q + b[4] * r;
    h2[i] = c[0] * x + c[1] * e + c[2] * p + c[3] * q + c[4] * r;
  }
  return out;
}
