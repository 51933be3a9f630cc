// How createScheduler reads a scheduler_config.json: like diffusers' TargetClass.from_config(pipe.scheduler.config).
// The resolved keys are compared with the `.config` diffusers itself built for each fixture case.
import { describe, expect, it } from 'vitest';
import { createScheduler, isSchedulerName, SCHEDULER_NAMES } from '../../src/engine/schedulers';
import { FIXTURE_NAMES, loadFixture } from './helpers';

const SD15 = loadFixture('ddim').baseConfig;

describe('from_config semantics', () => {
  it('absent keys take the TARGET class defaults (SD1.5 PNDM config)', () => {
    expect(createScheduler('euler', SD15).config.timestep_spacing).toBe('linspace');
    expect(createScheduler('euler-ancestral', SD15).config.timestep_spacing).toBe('linspace');
    expect(createScheduler('dpmpp-2m', SD15).config.timestep_spacing).toBe('linspace');
    expect(createScheduler('ddim', SD15).config.timestep_spacing).toBe('leading');
    expect(createScheduler('pndm', SD15).config.timestep_spacing).toBe('leading');
    expect(createScheduler('lcm', SD15).config.original_inference_steps).toBe(50);
    // keys present in the file win over the class default (DDIM/LCM default set_alpha_to_one=true)
    expect(createScheduler('ddim', SD15).config.set_alpha_to_one).toBe(false);
    expect(createScheduler('lcm', SD15).config.set_alpha_to_one).toBe(false);
    expect(createScheduler('ddim', SD15).config.steps_offset).toBe(1);
  });

  for (const name of FIXTURE_NAMES) {
    it(`${name}: every config key matches what diffusers resolved`, () => {
      const fx = loadFixture(name);
      for (const c of Object.values(fx.cases)) {
        const ours = createScheduler(name, { ...fx.baseConfig, ...c.config }).config;
        for (const [key, value] of Object.entries(ours)) {
          if (key === 'eta' || key === 'seed') continue;
          const theirs = c.resolvedConfig[key];
          const norm = theirs === '-inf' ? -Infinity : theirs === 'inf' ? Infinity : theirs;
          expect(value, key).toEqual(norm);
        }
      }
    });
  }

  it('identity keys of a name win over the file', () => {
    expect(createScheduler('dpmpp-2m-karras', SD15).config.use_karras_sigmas).toBe(true);
    expect(createScheduler('dpmpp-2m', { ...SD15, use_karras_sigmas: true }).config.use_karras_sigmas).toBe(false);
  });

  it('ignores unknown and private keys, and honours _use_default_values', () => {
    const s = createScheduler('euler', { ...SD15, skip_prk_steps: true, not_a_key: 3, _class_name: 'X' });
    expect(s.config).not.toHaveProperty('skip_prk_steps');
    expect(s.config).not.toHaveProperty('not_a_key');
    // a dumped pipe.scheduler.config records keys PNDM defaulted; the target must not inherit PNDM's values
    const dumped = { ...SD15, timestep_spacing: 'leading', _use_default_values: ['timestep_spacing'] };
    expect(createScheduler('euler', dumped).config.timestep_spacing).toBe('linspace');
  });

  it('rejects unknown scheduler names with a clear error', () => {
    expect(() => createScheduler('heun' as never, SD15)).toThrow(/unknown scheduler 'heun'.*ddim, pndm/);
    expect(isSchedulerName('lcm')).toBe(true);
    expect(isSchedulerName('LCM')).toBe(false);
    expect(SCHEDULER_NAMES).toHaveLength(7);
  });

  it('rejects settings whose math is not implemented instead of ignoring them', () => {
    expect(() => createScheduler('pndm', {})).toThrow(/skip_prk_steps/); // PNDM default is the PRK warm-up
    expect(() => createScheduler('ddim', { ...SD15, thresholding: true })).toThrow(/thresholding/);
    expect(() => createScheduler('euler', { ...SD15, prediction_type: 'sample' })).toThrow(/prediction_type/);
    expect(() => createScheduler('euler', { ...SD15, eta: 1 })).toThrow(/eta/);
    expect(() => createScheduler('ddim', { ...SD15, seed: -1 })).toThrow(/seed/);
  });

  it('requires setTimesteps before stepping and checks sizes', () => {
    const s = createScheduler('ddim', SD15);
    expect(() => s.planStep(1)).toThrow(/setTimesteps/);
    s.setTimesteps(4);
    expect(() => s.step(new Float32Array(4), s.timesteps[0], new Float32Array(5))).toThrow(/sizes/);
    expect(() => s.setTimesteps(0)).toThrow(RangeError);
    const lcm = createScheduler('lcm', SD15);
    expect(() => lcm.setTimesteps(51)).toThrow(/original_inference_steps/);
  });
});
