// Noise-schedule numerics shared by all schedulers, reproducing diffusers' float handling:
//   * betas / alphas_cumprod are float32 torch tensors: torch.linspace(float32) (emulated as its AVX2 CPU kernel,
//     8-lane vectors with fused multiply-add, which matches torch bit for bit on x86; other builds differ by <=1 ulp),
//     `** 2`, `1 - betas`, and torch.cumprod (CPU accumulates in double, stores float32).
//   * timestep grids are numpy float64 (np.linspace / np.arange / np.round = round-half-even, np.interp).
// `f32` (Math.fround) marks every place diffusers rounds to float32; plain JS numbers are float64 like numpy.
import type { BetaSchedule } from './types';

export const f32 = Math.fround;

/** torch.linspace(start, end, n, dtype=float32) as computed by torch's vectorised (AVX2) CPU kernel. */
export function torchLinspaceF32(startIn: number, endIn: number, n: number): Float64Array {
  const out = new Float64Array(n);
  if (n === 1) {
    out[0] = f32(startIn);
    return out;
  }
  const start = f32(startIn);
  const end = f32(endIn);
  const step = f32(f32(end - start) / (n - 1));
  const halfway = Math.floor(n / 2);
  const lanes = 8;
  const vecEnd = n - (n % lanes);
  // step*k (k < 2^24) and the following add are exact in float64, so one f32() = one fused multiply-add.
  const head = (idx: number): number => (idx < halfway ? f32(start + step * idx) : f32(end - step * (n - idx - 1)));
  for (let base = 0; base < vecEnd; base += lanes) {
    const b = head(base);
    for (let k = 0; k < lanes; k++) out[base + k] = f32(b + step * k);
  }
  for (let i = vecEnd; i < n; i++) out[i] = head(i); // scalar tail
  return out;
}

/** diffusers' betas_for_alpha_bar with the default cosine transform (float64 math, float32 tensor). */
function cosineBetas(n: number, maxBeta = 0.999): Float64Array {
  const alphaBar = (t: number): number => Math.cos(((t + 0.008) / 1.008) * Math.PI / 2) ** 2;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = f32(Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), maxBeta));
  return out;
}

export interface TrainSchedule {
  betas: Float64Array;
  /** float32 values, as diffusers' `alphas_cumprod`. */
  alphasCumprod: Float64Array;
}

export interface BetaConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: BetaSchedule;
  trained_betas: number[] | null;
}

export function trainSchedule(c: BetaConfig): TrainSchedule {
  const n = c.num_train_timesteps;
  let betas: Float64Array;
  if (c.trained_betas) betas = Float64Array.from(c.trained_betas, f32);
  else if (c.beta_schedule === 'linear') betas = torchLinspaceF32(c.beta_start, c.beta_end, n);
  else if (c.beta_schedule === 'scaled_linear') {
    betas = torchLinspaceF32(Math.sqrt(c.beta_start), Math.sqrt(c.beta_end), n).map((b) => f32(b * b));
  } else betas = cosineBetas(n);
  const alphasCumprod = new Float64Array(n);
  let acc = 1;
  for (let i = 0; i < n; i++) {
    acc *= f32(1 - betas[i]);
    alphasCumprod[i] = f32(acc);
  }
  return { betas, alphasCumprod };
}

/** Karras/Euler sigma of each train timestep: float32 ((1 - a) / a) ** 0.5. */
export function trainSigmas(alphasCumprod: Float64Array): Float64Array {
  return alphasCumprod.map((a) => f32(Math.sqrt(f32(f32(1 - a) / a))));
}

/** np.round / np.rint: round half to even. */
export function roundHalfEven(x: number): number {
  const fl = Math.floor(x);
  const d = x - fl;
  if (d > 0.5) return fl + 1;
  if (d < 0.5) return fl;
  return fl % 2 === 0 ? fl : fl + 1;
}

/** np.linspace(start, stop, n) in float64 (endpoint included). */
export function npLinspace(start: number, stop: number, n: number): number[] {
  const out: number[] = [];
  if (n === 1) return [start];
  const step = (stop - start) / (n - 1);
  for (let i = 0; i < n; i++) out.push(i * step + start);
  out[n - 1] = stop;
  return out;
}

/** np.arange(start, stop, step) for float64 (numpy fills start + i * (x1 - x0), x1 = start + step). */
export function npArange(start: number, stop: number, step: number): number[] {
  const len = Math.max(0, Math.ceil((stop - start) / step));
  const delta = start + step - start;
  const out: number[] = [];
  for (let i = 0; i < len; i++) out.push(i === 0 ? start : i === 1 ? start + step : start + i * delta);
  return out;
}

/** np.interp(x, arange(len(fp)), fp) in float64. */
export function npInterpIndex(x: number, fp: ArrayLike<number>): number {
  const last = fp.length - 1;
  if (x <= 0) return fp[0];
  if (x >= last) return fp[last];
  const j = Math.floor(x);
  if (j === x) return fp[j];
  return (fp[j + 1] - fp[j]) * (x - j) + fp[j];
}

/** diffusers `_sigma_to_t`: fractional train timestep of `sigma` by interpolating in float32 log-sigma space. */
export function sigmaToT(sigma: number, logSigmas: Float64Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  // low_idx = last index whose log-sigma <= logSigma (0 when none), clipped so high_idx stays in range
  let low = 0;
  for (let i = 0; i < logSigmas.length; i++) if (logSigma - logSigmas[i] >= 0) low = i;
  low = Math.min(low, logSigmas.length - 2);
  const lo = logSigmas[low];
  const hi = logSigmas[low + 1];
  let w = (lo - logSigma) / f32(lo - hi); // lo - hi is a float32 - float32 numpy subtraction
  w = Math.min(Math.max(w, 0), 1);
  return (1 - w) * low + w * (low + 1);
}

/** Karras et al. (2022) rho=7 sigma ramp from sigmaMax down to sigmaMin, float64 as in diffusers. */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number): number[] {
  const rho = 7.0;
  const minInv = sigmaMin ** (1 / rho);
  const maxInv = sigmaMax ** (1 / rho);
  return npLinspace(0, 1, n).map((r) => (maxInv + r * (minInv - maxInv)) ** rho);
}
