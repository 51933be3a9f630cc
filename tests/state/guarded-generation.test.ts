// The shared guarded sequence (src/state/guarded-generation.ts) on the real guard, policy and steering, with an
// engine that answers a given semantic / image verdict (the real engine runs it in tests/cli/generate-guard.test.ts):
// the order of the hooks is the promise — nothing of the engine before the guard, the picture withheld before a
// semantic block is logged, the image stage logged last — and no profile means no guard and no log.
import { describe, expect, it } from 'vitest';
import { computePolicy } from '../../src/safety/policy';
import { createProfile } from '../../src/safety/profile';
import type { GenerateParams, GenerateResult, LoadedBundleInfo, SemanticGuardResult } from '../../src/shared/types';
import { runGuarded, type GuardedHooks } from '../../src/state/guarded-generation';

const params: GenerateParams = { prompt: 'a photo of a cat', seed: 1, steps: 8, scheduler: 'ddim', guidance: 7.5, width: 64, height: 64 };
const child = createProfile('child', { id: 'c', now: 0 });
const who = { profile: child, policy: computePolicy(child) };
const bundle = { psa: true, profileEncoder: { template: '' }, imageChecker: true } as unknown as LoadedBundleInfo;

function recorder(answer: { semantic?: Omit<SemanticGuardResult, 'stage' | 'source'>; flagged?: boolean; q16?: boolean } = {}) {
  const calls: string[] = [];
  const sent: GenerateParams[] = [];
  const hooks: GuardedHooks = {
    async embed() {
      calls.push('embed');
      return new Float32Array(4);
    },
    async generate(p) {
      calls.push('generate');
      sent.push(p);
      return {
        width: 64, height: 64, rgba: new Uint8ClampedArray(4), seed: p.seed,
        ...(answer.semantic && p.semanticGuard ? { semanticGuard: { stage: 'text', source: 'semantic', ...answer.semantic } } : {}),
        ...(p.imageCheck
          ? {
              imageCheck: {
                flagged: !!answer.flagged, blurred: !!answer.flagged || !!answer.q16, scores: [0], specialScores: [],
                ...(p.imageCheck.q16 ? { q16: { probability: answer.q16 ? 0.9 : 0.1, flagged: !!answer.q16 } } : {}),
              },
            }
          : {}),
      } as unknown as GenerateResult;
    },
    async log(e) {
      calls.push(`log ${e.stage} ${e.category} ${e.action}`);
    },
    withhold() {
      calls.push('withhold');
    },
  };
  return { calls, sent, hooks };
}

describe('runGuarded: the app’s and the CLI’s sequence', () => {
  it('a blocked prompt: logged, and neither the embedding nor the engine is asked', async () => {
    const r = recorder();
    const run = await runGuarded({ ...params, prompt: 'a naked woman' }, who, bundle, r.hooks);
    expect(run).toMatchObject({ status: 'blocked', stage: 'text' });
    expect(r.calls).toEqual(['log text Sexuality blocked']);
  });

  it('an allowed prompt: embedding, engine with the image stage and semantic request, the image verdict logged last', async () => {
    const r = recorder({ flagged: true });
    const run = await runGuarded(params, who, bundle, r.hooks);
    // The child bans every category: the checker's verdict (Sexuality) first, then Q16's (the other bans).
    expect(r.calls).toEqual(['embed', 'generate', 'log image Sexuality blurred', 'log q16 Inappropriate allowed']);
    expect(r.sent[0].imageCheck).toEqual({ adjustment: 0.01, blur: true, q16: { threshold: 0.5 } });
    expect(r.sent[0].semanticGuard?.categories.Sexuality).toBe('block');
    expect(run.status === 'done' && run.outcome?.imageExplanation?.action).toBe('blurred');
  });

  it('Q16 flags what the checker passed: the picture blurred for Q16, explained and logged as stage q16', async () => {
    const r = recorder({ q16: true });
    const run = await runGuarded(params, who, bundle, r.hooks);
    expect(r.calls).toEqual(['embed', 'generate', 'log image Sexuality allowed', 'log q16 Inappropriate blurred']);
    expect(run.status === 'done' && run.outcome?.imageExplanation).toMatchObject({ source: 'q16', category: 'Inappropriate', action: 'blurred' });
  });

  it('a semantic block: the picture withheld before the block is logged; no image stage', async () => {
    const r = recorder({ semantic: { decision: 'blocked', hits: [{ category: 'Violence', action: 'block', score: 0.99, threshold: 0.9 }], scores: { Violence: 0.99 } } });
    const run = await runGuarded(params, who, bundle, r.hooks);
    expect(run).toMatchObject({ status: 'blocked', stage: 'semantic' });
    expect(r.calls).toEqual(['embed', 'generate', 'withhold', 'log text Violence blocked']);
  });

  it('a protected profile on a model without its checker is refused before anything runs', async () => {
    const r = recorder();
    const run = await runGuarded(params, who, { ...bundle, imageChecker: false }, r.hooks);
    expect(run).toEqual({ status: 'refused', missing: ['imageChecker'] });
    expect(r.calls).toEqual([]);
  });

  it('a failed embedding stops the run (never the zero embedding); no profile runs the request as given, unlogged', async () => {
    const r = recorder();
    const failing = { ...r.hooks, embed: () => Promise.reject(new Error('encoder gone')) };
    expect((await runGuarded(params, who, bundle, failing)).status).toBe('stopped');
    expect(r.calls).toEqual([]);
    const run = await runGuarded({ ...params, prompt: 'a naked woman' }, undefined, bundle, r.hooks);
    expect(run.status).toBe('done');
    expect(r.calls).toEqual(['embed', 'generate']);
    expect(r.sent[0].imageCheck).toBeUndefined();
    expect(r.sent[0].semanticGuard).toBeUndefined();
  });
});
