// Our schedulers against fixtures produced by running diffusers' own scheduler code (see
// scripts/reference/schedulers_ref.py). Integer timesteps must be identical, float timesteps identical as float32
// (tolerance 1e-6 relative), and every sample of a rollout within ROLLOUT_TOL relative to the tensor's scale.
import { describe, expect, it } from 'vitest';
import { createScheduler } from '../../src/engine/schedulers';
import { trainSchedule } from '../../src/engine/schedulers/schedule';
import { FIXTURE_NAMES, fakeModel, loadFixture, loadTrainSchedule, relErr } from './helpers';

/** Step outputs vs diffusers (float32 torch): max |ours - theirs| / max |theirs| per step, over whole rollouts. */
const ROLLOUT_TOL = 1e-5;
const FLOAT_TOL = 1e-6;

describe('train schedule', () => {
  it('betas and alphas_cumprod match diffusers bit for bit (float32)', () => {
    const ref = loadTrainSchedule();
    const ours = trainSchedule(ref.baseConfig as never);
    expect(Array.from(ours.betas)).toEqual(ref.betas.map(Math.fround));
    expect(Array.from(ours.alphasCumprod)).toEqual(ref.alphasCumprod.map(Math.fround));
  });
});

for (const name of FIXTURE_NAMES) {
  const fx = loadFixture(name);
  describe(`${name} vs diffusers ${fx.diffusersClass} (${fx.diffusers.version} @ ${fx.diffusers.commit.slice(0, 10)})`, () => {
    for (const [id, c] of Object.entries(fx.cases)) {
      it(`${id}: timesteps, init sigma, rollout`, () => {
        const s = createScheduler(name, { ...fx.baseConfig, ...c.config, ...(c.eta !== undefined ? { eta: c.eta } : {}) });
        s.setTimesteps(c.steps);
        expect(s.timesteps).toEqual(c.timesteps.map(Math.fround));
        expect(Math.abs(s.initNoiseSigma - c.initNoiseSigma)).toBeLessThanOrEqual(FLOAT_TOL * c.initNoiseSigma);

        let x: Float32Array = Float32Array.from(fx.initNoise, (v) => v * s.initNoiseSigma);
        let worst = 0;
        s.timesteps.forEach((t, i) => {
          const xIn = s.scaleModelInput(x, t);
          expect(Math.abs(s.inputScale(t) - c.inputScales[i])).toBeLessThanOrEqual(FLOAT_TOL * c.inputScales[i]);
          const eps = fakeModel(xIn, t);
          const noise = c.noiseUsed[i] ? Float32Array.from(c.noise![i]!) : undefined;
          x = s.step(eps, t, x, noise);
          worst = Math.max(worst, relErr(x, c.samples[i]));
        });
        expect(worst).toBeLessThanOrEqual(ROLLOUT_TOL);
      });
    }

    if (fx.spacing) {
      it('timestep grids for every timestep_spacing', () => {
        for (const sp of fx.spacing!) {
          const s = createScheduler(name, { ...fx.baseConfig, timestep_spacing: sp.timestep_spacing });
          s.setTimesteps(sp.steps);
          expect(s.timesteps, `${sp.timestep_spacing} ${sp.steps}`).toEqual(sp.timesteps.map(Math.fround));
          const sigmas = (s as unknown as { sigmas?: number[] }).sigmas;
          if (sp.sigmas && sigmas) {
            expect(relErr(sigmas, sp.sigmas, 0), `sigmas ${sp.timestep_spacing} ${sp.steps}`).toBeLessThanOrEqual(FLOAT_TOL);
          }
        }
      });
    }
  });
}
