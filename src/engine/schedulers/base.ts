// Shared scheduler plumbing: config + train schedule, timestep bookkeeping, diffusers' step-index lookup, the
// noise source for stochastic steps, and argument checks. Each subclass owns its own math (step) and its
// plan form (planStep); they share only the scalar schedule values.
import { SeededNormal } from '../rng';
import type { ResolvedConfig } from './config';
import { trainSchedule, type TrainSchedule } from './schedule';
import type { Scheduler, SchedulerConfig, SchedulerName, StepPlan } from './types';

/** Supplies the standard-normal draw of a stochastic step: the caller's, or a fresh one from the seeded generator. */
export type NoiseSource = () => Float32Array;

export abstract class BaseScheduler implements Scheduler {
  readonly config: Readonly<Record<string, unknown>>;
  protected readonly cfg: SchedulerConfig;
  protected readonly train: TrainSchedule;
  protected ts: number[] = [];
  protected numInferenceSteps: number | null = null;
  /** diffusers' `_step_index` (classes that track one); null until the first step/scale call after setTimesteps. */
  protected stepIndex: number | null = null;
  private readonly rng: SeededNormal;

  abstract readonly needsNoise: boolean;

  constructor(
    readonly name: SchedulerName,
    resolved: ResolvedConfig,
  ) {
    this.cfg = resolved.cfg;
    this.config = Object.freeze({ ...resolved.record });
    this.train = trainSchedule(this.cfg);
    this.rng = new SeededNormal(this.cfg.seed);
  }

  get timesteps(): number[] {
    return this.ts.slice();
  }

  get initNoiseSigma(): number {
    return 1.0;
  }

  setTimesteps(n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`${this.name}: number of steps must be a positive integer, got ${n}`);
    if (n > this.cfg.num_train_timesteps) {
      throw new RangeError(`${this.name}: ${n} steps exceed num_train_timesteps ${this.cfg.num_train_timesteps}`);
    }
    this.ts = this.computeTimesteps(n);
    this.numInferenceSteps = n;
    this.stepIndex = null;
    this.resetState();
  }

  inputScale(_t: number): number {
    return 1;
  }

  scaleModelInput(sample: Float32Array, t: number): Float32Array {
    const s = this.inputScale(t);
    const out = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) out[i] = sample[i] * s;
    return out;
  }

  step(modelOutput: Float32Array, t: number, sample: Float32Array, noise?: Float32Array): Float32Array {
    this.requireTimesteps();
    if (modelOutput.length !== sample.length) throw new Error(`${this.name}: modelOutput and sample sizes differ`);
    if (noise && noise.length !== sample.length) throw new Error(`${this.name}: noise and sample sizes differ`);
    const source: NoiseSource = () => noise ?? this.rng.fill(new Float32Array(sample.length));
    return this.stepImpl(modelOutput, t, sample, source);
  }

  planStep(t: number): StepPlan {
    this.requireTimesteps();
    return this.planImpl(t);
  }

  protected abstract computeTimesteps(n: number): number[];
  protected abstract resetState(): void;
  protected abstract stepImpl(eps: Float32Array, t: number, sample: Float32Array, noise: NoiseSource): Float32Array;
  protected abstract planImpl(t: number): StepPlan;

  protected requireTimesteps(): void {
    if (this.numInferenceSteps === null) throw new Error(`${this.name}: call setTimesteps(n) before stepping`);
  }

  /**
   * diffusers `_init_step_index`: on the first call after setTimesteps the index is where `t` sits in the
   * timesteps (the second match if it occurs twice, as diffusers does for img2img); afterwards it just advances.
   * `missingIsLast` is DPMSolverMultistep's variant (an unknown t means the last index instead of an error).
   */
  protected ensureStepIndex(t: number, missingIsLast = false): number {
    if (this.stepIndex === null) {
      const hits: number[] = [];
      this.ts.forEach((v, i) => v === t && hits.push(i));
      if (hits.length === 0) {
        if (!missingIsLast) throw new Error(`${this.name}: timestep ${t} is not one of this schedule's timesteps`);
        this.stepIndex = this.ts.length - 1;
      } else this.stepIndex = hits.length > 1 ? hits[1] : hits[0];
    }
    if (this.stepIndex >= this.ts.length) throw new Error(`${this.name}: stepped past the last timestep`);
    return this.stepIndex;
  }

  /** alphas_cumprod[t] for an integer train timestep. */
  protected alphaCumprod(t: number): number {
    if (!Number.isInteger(t) || t < 0 || t >= this.train.alphasCumprod.length) {
      throw new RangeError(`${this.name}: timestep ${t} is not an integer train timestep`);
    }
    return this.train.alphasCumprod[t];
  }
}
