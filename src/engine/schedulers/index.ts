// CPU reference schedulers with diffusers' exact semantics, and the StepPlan form the GPU path evaluates.
// Entry point: createScheduler(name, scheduler_config.json object). Pure TypeScript math, no runtime imports.
//
// Names, and what A1111 / ComfyUI call the same samplers: 'ddim' = A1111 "DDIM" / ComfyUI `ddim`; 'pndm' = A1111
// "PLMS" (diffusers PNDMScheduler with skip_prk_steps, SD1.5's default scheduler); 'euler' = "Euler" / `euler`;
// 'euler-ancestral' = "Euler a" / `euler_ancestral`; 'dpmpp-2m' = "DPM++ 2M" / `dpmpp_2m` (normal schedule);
// 'dpmpp-2m-karras' = "DPM++ 2M Karras" / `dpmpp_2m` with the `karras` schedule; 'lcm' = "LCM" / `lcm`.
// Timestep grids and final-step handling follow diffusers, not those UIs, so images match diffusers pipelines
// rather than A1111/ComfyUI bit for bit.
import { resolveConfig } from './config';
import { DdimScheduler } from './ddim';
import { DpmSolverMultistepScheduler } from './dpmpp';
import { EulerScheduler } from './euler';
import { EulerAncestralScheduler } from './euler-ancestral';
import { LcmScheduler } from './lcm';
import { PndmScheduler } from './pndm';
import { SCHEDULER_NAMES, type Scheduler, type SchedulerConfig, type SchedulerName } from './types';

export type { Scheduler, SchedulerConfig, SchedulerName, StepPlan, Vec5, PredictionType, TimestepSpacing } from './types';
export { SCHEDULER_NAMES } from './types';
export { applyPlan, createHistory, type History } from './plan';

export function isSchedulerName(name: unknown): name is SchedulerName {
  return typeof name === 'string' && (SCHEDULER_NAMES as readonly string[]).includes(name);
}

/**
 * A scheduler configured like `TargetClass.from_config(config)` in diffusers (see config.ts for the rules).
 * Extra keys: `eta` (ddim only) and `seed` (noise drawn inside step() when the caller passes none).
 */
export function createScheduler(
  name: SchedulerName,
  config: Partial<SchedulerConfig> | Record<string, unknown> = {},
): Scheduler {
  if (!isSchedulerName(name)) {
    throw new Error(`unknown scheduler '${String(name)}'; expected one of: ${SCHEDULER_NAMES.join(', ')}`);
  }
  const resolved = resolveConfig(name, config as Record<string, unknown>);
  switch (name) {
    case 'ddim':
      return new DdimScheduler(name, resolved);
    case 'pndm':
      return new PndmScheduler(name, resolved);
    case 'euler':
      return new EulerScheduler(name, resolved);
    case 'euler-ancestral':
      return new EulerAncestralScheduler(name, resolved);
    case 'dpmpp-2m':
    case 'dpmpp-2m-karras':
      return new DpmSolverMultistepScheduler(name, resolved);
    case 'lcm':
      return new LcmScheduler(name, resolved);
  }
}
