// Reads a diffusers scheduler_config.json the way `TargetClass.from_config(pipe.scheduler.config)` does:
// keys the target class's __init__ knows are taken from the file, every other key of that class gets the TARGET
// class's own default (defaults below are copied from each diffusers __init__ signature), unknown keys and
// private `_...` keys are ignored, and keys listed in `_use_default_values` (what diffusers records for a loaded
// config's defaulted keys) are treated as absent. Each of our scheduler names then pins the few keys that define
// the sampler (e.g. DPM++ 2M Karras = solver_order 2, dpmsolver++, use_karras_sigmas). Values whose math we do not
// implement are rejected here, loudly, rather than silently ignored.
import type { SchedulerConfig, SchedulerName } from './types';

export type DiffusersClass =
  | 'DDIMScheduler'
  | 'PNDMScheduler'
  | 'EulerDiscreteScheduler'
  | 'EulerAncestralDiscreteScheduler'
  | 'DPMSolverMultistepScheduler'
  | 'LCMScheduler';

type Defaults = Record<string, unknown>;

const COMMON: Defaults = {
  num_train_timesteps: 1000,
  beta_start: 0.0001,
  beta_end: 0.02,
  beta_schedule: 'linear',
  trained_betas: null,
  prediction_type: 'epsilon',
};

/** diffusers __init__ defaults per class (HEAD of the mirror used for the fixtures). */
export const CLASS_DEFAULTS: Record<DiffusersClass, Defaults> = {
  DDIMScheduler: {
    ...COMMON,
    clip_sample: true,
    set_alpha_to_one: true,
    steps_offset: 0,
    thresholding: false,
    dynamic_thresholding_ratio: 0.995,
    clip_sample_range: 1.0,
    sample_max_value: 1.0,
    timestep_spacing: 'leading',
    rescale_betas_zero_snr: false,
  },
  PNDMScheduler: {
    ...COMMON,
    skip_prk_steps: false,
    set_alpha_to_one: false,
    timestep_spacing: 'leading',
    steps_offset: 0,
  },
  EulerDiscreteScheduler: {
    ...COMMON,
    interpolation_type: 'linear',
    use_karras_sigmas: false,
    use_exponential_sigmas: false,
    use_beta_sigmas: false,
    sigma_min: null,
    sigma_max: null,
    timestep_spacing: 'linspace',
    timestep_type: 'discrete',
    steps_offset: 0,
    rescale_betas_zero_snr: false,
    final_sigmas_type: 'zero',
  },
  EulerAncestralDiscreteScheduler: {
    ...COMMON,
    timestep_spacing: 'linspace',
    steps_offset: 0,
    rescale_betas_zero_snr: false,
  },
  DPMSolverMultistepScheduler: {
    ...COMMON,
    solver_order: 2,
    thresholding: false,
    dynamic_thresholding_ratio: 0.995,
    sample_max_value: 1.0,
    algorithm_type: 'dpmsolver++',
    solver_type: 'midpoint',
    lower_order_final: true,
    euler_at_final: false,
    use_karras_sigmas: false,
    use_exponential_sigmas: false,
    use_beta_sigmas: false,
    use_lu_lambdas: false,
    use_flow_sigmas: false,
    flow_shift: 1.0,
    final_sigmas_type: 'zero',
    lambda_min_clipped: -Infinity,
    variance_type: null,
    timestep_spacing: 'linspace',
    steps_offset: 0,
    rescale_betas_zero_snr: false,
    use_dynamic_shifting: false,
    time_shift_type: 'exponential',
  },
  LCMScheduler: {
    ...COMMON,
    beta_start: 0.00085,
    beta_end: 0.012,
    beta_schedule: 'scaled_linear',
    original_inference_steps: 50,
    clip_sample: false,
    clip_sample_range: 1.0,
    set_alpha_to_one: true,
    steps_offset: 0,
    thresholding: false,
    dynamic_thresholding_ratio: 0.995,
    sample_max_value: 1.0,
    timestep_spacing: 'leading',
    timestep_scaling: 10.0,
    rescale_betas_zero_snr: false,
  },
};

/** Which diffusers class each of our names is, and the keys that name pins (they win over the file). */
export const NAME_TO_CLASS: Record<SchedulerName, { cls: DiffusersClass; identity: Defaults }> = {
  ddim: { cls: 'DDIMScheduler', identity: {} },
  pndm: { cls: 'PNDMScheduler', identity: {} },
  euler: { cls: 'EulerDiscreteScheduler', identity: { use_karras_sigmas: false } },
  'euler-ancestral': { cls: 'EulerAncestralDiscreteScheduler', identity: {} },
  'dpmpp-2m': {
    cls: 'DPMSolverMultistepScheduler',
    identity: { solver_order: 2, algorithm_type: 'dpmsolver++', use_karras_sigmas: false },
  },
  'dpmpp-2m-karras': {
    cls: 'DPMSolverMultistepScheduler',
    identity: { solver_order: 2, algorithm_type: 'dpmsolver++', use_karras_sigmas: true },
  },
  lcm: { cls: 'LCMScheduler', identity: {} },
};

/** Options that are ours, not diffusers config keys: DDIM's eta (a step() argument there) and the noise seed. */
const EXTRAS: Defaults = { eta: 0, seed: 0 };

/** Values we accept only at their "off" setting, because their math is not implemented here. */
const MUST_EQUAL: Record<string, unknown> = {
  thresholding: false,
  rescale_betas_zero_snr: false,
  use_exponential_sigmas: false,
  use_beta_sigmas: false,
  use_lu_lambdas: false,
  use_flow_sigmas: false,
  use_dynamic_shifting: false,
  variance_type: null,
  timestep_type: 'discrete',
  interpolation_type: 'linear',
  algorithm_type: 'dpmsolver++',
  solver_order: 2,
  skip_prk_steps: true, // PRK warm-up needs 5 history tensors; SD1.5 ships skip_prk_steps: true
};

const ALLOWED: Record<string, readonly unknown[]> = {
  prediction_type: ['epsilon', 'v_prediction'],
  timestep_spacing: ['linspace', 'leading', 'trailing'],
  beta_schedule: ['linear', 'scaled_linear', 'squaredcos_cap_v2'],
  final_sigmas_type: ['zero', 'sigma_min'],
  solver_type: ['midpoint', 'heun'],
};

function coerce(key: string, value: unknown): unknown {
  // Python's json writes -inf as -Infinity (invalid JSON for JSON.parse); accept the usual spellings as strings.
  if (key === 'lambda_min_clipped' && typeof value === 'string') {
    const v = value.toLowerCase();
    if (v === '-inf' || v === '-infinity') return -Infinity;
    if (v === 'inf' || v === 'infinity') return Infinity;
  }
  return value;
}

export interface ResolvedConfig {
  cls: DiffusersClass;
  /** Typed view of `record` (a class only reads the keys its diffusers __init__ has). */
  cfg: SchedulerConfig;
  /** Exactly the keys diffusers' target class would hold in `.config`, plus eta/seed. */
  record: Record<string, unknown>;
}

export function resolveConfig(name: SchedulerName, input: Record<string, unknown> = {}): ResolvedConfig {
  const { cls, identity } = NAME_TO_CLASS[name];
  const defaults = CLASS_DEFAULTS[cls];
  const useDefault = new Set(Array.isArray(input._use_default_values) ? (input._use_default_values as string[]) : []);
  const record: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(input)) {
    if (key.startsWith('_') || useDefault.has(key) || value === undefined) continue;
    if (key in defaults) record[key] = coerce(key, value);
  }
  Object.assign(record, identity);
  for (const key of Object.keys(EXTRAS)) {
    record[key] = input[key] !== undefined ? input[key] : EXTRAS[key];
  }
  validate(name, record);
  return { cls, cfg: record as unknown as SchedulerConfig, record };
}

function validate(name: SchedulerName, record: Record<string, unknown>): void {
  const fail = (msg: string): never => {
    throw new Error(`scheduler '${name}': ${msg}`);
  };
  for (const [key, want] of Object.entries(MUST_EQUAL)) {
    if (key in record && record[key] !== want) {
      fail(`${key}=${JSON.stringify(record[key])} is not supported (only ${JSON.stringify(want)})`);
    }
  }
  for (const [key, allowed] of Object.entries(ALLOWED)) {
    if (key in record && !allowed.includes(record[key])) {
      fail(`${key}=${JSON.stringify(record[key])} is not supported (one of ${allowed.join(', ')})`);
    }
  }
  const n = record.num_train_timesteps;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 2) fail(`num_train_timesteps must be an integer >= 2`);
  const tb = record.trained_betas;
  if (tb !== null && (!Array.isArray(tb) || tb.length !== n)) fail('trained_betas must be null or num_train_timesteps numbers');
  const eta = record.eta;
  if (typeof eta !== 'number' || !(eta >= 0)) fail('eta must be a number >= 0');
  if (name !== 'ddim' && eta !== 0) fail('eta only applies to ddim');
  const seed = record.seed;
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0) fail('seed must be a non-negative integer');
}
