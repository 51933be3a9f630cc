// planStep + applyPlan (the GPU path's linear-combination form) must perform the same update as step()
// (an independent direct port of diffusers' math): rollouts of both agree to PLAN_TOL relative, for every
// scheduler, several step counts and config variants. Also: plans consume noise exactly where diffusers draws it.
import { describe, expect, it } from 'vitest';
import { applyPlan, createHistory, createScheduler, type SchedulerName } from '../../src/engine/schedulers';
import { randn } from '../../src/engine/rng';
import { FIXTURE_NAMES, fakeModel, loadFixture, relErr } from './helpers';

const PLAN_TOL = 1e-6;
const SD15 = loadFixture('ddim').baseConfig;
const N = 64;

const VARIANTS: [SchedulerName, Record<string, unknown>][] = [
  ['ddim', {}],
  ['ddim', { eta: 1 }],
  ['ddim', { prediction_type: 'v_prediction', eta: 0.3 }],
  ['pndm', {}],
  ['pndm', { prediction_type: 'v_prediction' }],
  ['pndm', { timestep_spacing: 'trailing' }],
  ['euler', {}],
  ['euler', { prediction_type: 'v_prediction', timestep_spacing: 'leading' }],
  ['euler-ancestral', {}],
  ['euler-ancestral', { prediction_type: 'v_prediction' }],
  ['dpmpp-2m', {}],
  ['dpmpp-2m', { solver_type: 'heun', final_sigmas_type: 'sigma_min', lower_order_final: false }],
  ['dpmpp-2m', { prediction_type: 'v_prediction', euler_at_final: true }],
  ['dpmpp-2m-karras', {}],
  ['dpmpp-2m-karras', { prediction_type: 'v_prediction' }],
  ['lcm', {}],
  ['lcm', { prediction_type: 'v_prediction' }],
];

const STEPS = [1, 2, 3, 4, 7, 10, 14, 15, 25, 50];

function rollouts(name: SchedulerName, cfg: Record<string, unknown>, steps: number): number {
  const a = createScheduler(name, { ...SD15, ...cfg });
  const b = createScheduler(name, { ...SD15, ...cfg });
  a.setTimesteps(steps);
  b.setTimesteps(steps);
  let xs: Float32Array = randn(7, N).map((v) => v * a.initNoiseSigma);
  let xp: Float32Array = xs.slice();
  const hist = createHistory(N);
  let worst = 0;
  a.timesteps.forEach((t, i) => {
    const noise = randn(1000 + i, N);
    xs = a.step(fakeModel(a.scaleModelInput(xs, t), t), t, xs, noise);
    const eps = fakeModel(b.scaleModelInput(xp, t), t); // engine order: scale, UNet, then plan
    const plan = b.planStep(t);
    expect(plan.out.length).toBe(6);
    if (!plan.noise) expect(plan.out[5]).toBe(0);
    xp = applyPlan(plan, xp, eps, hist, plan.noise ? noise : undefined);
    worst = Math.max(worst, relErr(xp, xs));
  });
  return worst;
}

describe('planStep + applyPlan == step()', () => {
  for (const [name, cfg] of VARIANTS) {
    it(`${name} ${JSON.stringify(cfg)}`, () => {
      for (const steps of STEPS) {
        expect(rollouts(name, cfg, steps), `${steps} steps`).toBeLessThanOrEqual(PLAN_TOL);
      }
    });
  }
});

describe('noise consumption follows diffusers', () => {
  for (const name of FIXTURE_NAMES) {
    it(`${name}: plan.noise matches where diffusers drew noise`, () => {
      const fx = loadFixture(name);
      for (const c of Object.values(fx.cases)) {
        const s = createScheduler(name, { ...fx.baseConfig, ...c.config, ...(c.eta !== undefined ? { eta: c.eta } : {}) });
        s.setTimesteps(c.steps);
        const used = s.timesteps.map((t) => s.planStep(t).noise);
        expect(used).toEqual(c.noiseUsed);
        expect(s.needsNoise).toBe(name === 'lcm' || name === 'euler-ancestral' || (name === 'ddim' && (c.eta ?? 0) > 0));
      }
    });
  }

  it('step() without noise draws from the seeded generator: same seed same result, new seed different', () => {
    const run = (seed: number): Float32Array => {
      const s = createScheduler('euler-ancestral', { ...SD15, seed });
      s.setTimesteps(4);
      let x: Float32Array = randn(1, N);
      for (const t of s.timesteps) x = s.step(fakeModel(s.scaleModelInput(x, t), t), t, x);
      return x;
    };
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
  });

  it('plans refuse nonlinear configs instead of returning a wrong plan', () => {
    const s = createScheduler('ddim', { ...SD15, clip_sample: true });
    s.setTimesteps(4);
    expect(() => s.planStep(s.timesteps[0])).toThrow(/clip_sample/);
  });
});
