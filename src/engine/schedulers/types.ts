// Public types of the CPU reference schedulers: the Scheduler object, its config, and the StepPlan the GPU path
// consumes. Kept separate so the engine can import types without pulling scheduler code.

// The names are part of the worker protocol, so they live in src/shared.
import type { SchedulerName } from '../../shared/types';
export { SCHEDULER_NAMES, type SchedulerName } from '../../shared/types';

/** Coefficients of (sample, eps, h0, h1, h2). */
export type Vec5 = [number, number, number, number, number];

/**
 * One denoising step as linear combinations, so the GPU can run it with a single tiny kernel:
 *   prev  = out[0]*sample + out[1]*eps + out[2]*h0 + out[3]*h1 + out[4]*h2 + out[5]*noise
 *   h_j'  = hist[j] · (sample, eps, h0, h1, h2)
 * Everything on the right-hand side is the value BEFORE this step; history slots start at zero.
 */
export interface StepPlan {
  out: [number, number, number, number, number, number];
  hist: [Vec5, Vec5, Vec5];
  /** The step consumes one standard-normal draw per element (out[5] is its coefficient). */
  noise: boolean;
}

export type PredictionType = 'epsilon' | 'v_prediction';
export type TimestepSpacing = 'linspace' | 'leading' | 'trailing';
export type BetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';

/**
 * The diffusers `scheduler_config.json` keys we understand (snake_case, as in the file), plus two of ours:
 * `eta` (DDIM's step argument, 0 = deterministic) and `seed` (for noise drawn inside step()).
 * Each scheduler class only reads the keys its diffusers __init__ has; see config.ts.
 */
export interface SchedulerConfig {
  num_train_timesteps: number;
  beta_start: number;
  beta_end: number;
  beta_schedule: BetaSchedule;
  trained_betas: number[] | null;
  prediction_type: PredictionType;
  timestep_spacing: TimestepSpacing;
  steps_offset: number;
  set_alpha_to_one: boolean;
  clip_sample: boolean;
  clip_sample_range: number;
  skip_prk_steps: boolean;
  final_sigmas_type: 'zero' | 'sigma_min';
  use_karras_sigmas: boolean;
  sigma_min: number | null;
  sigma_max: number | null;
  solver_order: number;
  algorithm_type: 'dpmsolver++';
  solver_type: 'midpoint' | 'heun';
  lower_order_final: boolean;
  euler_at_final: boolean;
  lambda_min_clipped: number;
  original_inference_steps: number;
  timestep_scaling: number;
  eta: number;
  seed: number;
}

export interface Scheduler {
  readonly name: SchedulerName;
  /** The resolved config (target-class defaults + the keys read from the input config). */
  readonly config: Readonly<Record<string, unknown>>;
  setTimesteps(n: number): void;
  /** As diffusers' `scheduler.timesteps` after `set_timesteps(n)` (float32 values for Euler types, ints otherwise). */
  readonly timesteps: number[];
  readonly initNoiseSigma: number;
  /** diffusers `scale_model_input`. */
  scaleModelInput(sample: Float32Array, t: number): Float32Array;
  /** The scalar scaleModelInput multiplies by (1 for DDIM/PNDM/DPM/LCM). */
  inputScale(t: number): number;
  /** diffusers `step(...).prev_sample`; `noise` is the standard-normal draw for stochastic steps (else seeded). */
  step(modelOutput: Float32Array, t: number, sample: Float32Array, noise?: Float32Array): Float32Array;
  /**
   * The same step as a StepPlan; advances the scheduler's counters exactly like step(). The history tensors then
   * live with the caller (GPU), so drive one rollout with either step() or planStep(), not a mix.
   */
  planStep(t: number): StepPlan;
  /** Whether any step of this scheduler consumes noise. */
  readonly needsNoise: boolean;
}
