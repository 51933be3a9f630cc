// Test helpers for the scheduler suites: fixture loading (fixtures/schedulers/*.json written by
// scripts/reference/schedulers_ref.py from diffusers' own code), the fake UNet both sides use, and error metrics.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { SchedulerName } from '../../src/engine/schedulers';

export interface FixtureCase {
  config: Record<string, unknown>;
  steps: number;
  eta?: number;
  resolvedConfig: Record<string, unknown>;
  timesteps: number[];
  initNoiseSigma: number;
  inputScales: number[];
  noiseUsed: boolean[];
  noise?: (number[] | null)[];
  samples: number[][];
}

export interface SchedulerFixture {
  scheduler: SchedulerName;
  diffusersClass: string;
  diffusers: { commit: string; version: string };
  baseConfig: Record<string, unknown>;
  shape: number[];
  initNoise: number[];
  cases: Record<string, FixtureCase>;
  spacing?: { timestep_spacing: string; steps: number; timesteps: number[]; sigmas?: number[] }[];
}

export const FIXTURE_NAMES: SchedulerName[] = ['ddim', 'pndm', 'euler', 'euler-ancestral', 'dpmpp-2m', 'dpmpp-2m-karras', 'lcm'];

const dir = fileURLToPath(new URL('../../fixtures/schedulers/', import.meta.url));

export function loadFixture(name: string): SchedulerFixture {
  return JSON.parse(readFileSync(dir + name + '.json', 'utf8')) as SchedulerFixture;
}

export function loadTrainSchedule(): { betas: number[]; alphasCumprod: number[]; baseConfig: Record<string, unknown> } {
  return JSON.parse(readFileSync(dir + '_train_schedule.json', 'utf8'));
}

/** The fake UNet of the fixtures: eps[i] = float32(0.5 * x_in[i] + sin(0.01 * t + i)). */
export function fakeModel(xIn: Float32Array, t: number): Float32Array {
  const out = new Float32Array(xIn.length);
  for (let i = 0; i < xIn.length; i++) out[i] = 0.5 * xIn[i] + Math.sin(0.01 * t + i);
  return out;
}

/** max |a - b| / max(|b|, floor): relative to the tensor's scale, so values near zero do not blow it up. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-3): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let num = 0;
  let den = floor;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}
