// The semantic check through the profiles slice (on the real guard, policy, steering and storage; the engine is a
// fake that answers with a given semantic verdict): the request names the banned categories with the profile's
// actions and carries the steering for a prompt the text guard allowed; a semantic block replaces the picture by a
// child-safe explanation and is logged; a semantic steer marks the picture adjusted.
import '../storage/helpers';
import { beforeEach, describe, expect, it } from 'vitest';
import type { GenerateParams, GenerateResult, SemanticGuardResult } from '../../src/shared/types';
import type { EmbedFn } from '../../src/state/profiles-slice';
import { freshDatabase } from '../storage/helpers';
import { storeWith, type Store } from './flow-store';

function fakeEngine(verdict?: Omit<SemanticGuardResult, 'stage' | 'source'>) {
  const generates: GenerateParams[] = [];
  const embed: EmbedFn = async () => ({ embedding: new Float32Array(8), encoderId: 'enc-1', tokens: 1, ms: 1 });
  const generate = (s: { setState(p: Partial<Store>): void }) => async (params: GenerateParams) => {
    generates.push(params);
    const semanticGuard = params.semanticGuard && verdict ? { stage: 'text' as const, source: 'semantic' as const, ...verdict } : undefined;
    s.setState({ result: { seed: params.seed, rgba: new Uint8ClampedArray(4), ...(semanticGuard ? { semanticGuard } : {}) } as GenerateResult });
  };
  return { generates, embed, generate };
}


const params: GenerateParams = { prompt: 'a quiet lake at dawn', negativePrompt: 'blurry', seed: 3, steps: 20, scheduler: 'ddim', guidance: 7.5, width: 64, height: 64 };
const child = (st: Store) => ({ ...st.draftFromPreset('child', 'Mia'), protected: false, logPrompts: false });
const adult = (st: Store) => ({ ...st.draftFromPreset('adult', 'Sam'), protected: false, choices: { Violence: 'ban' as const }, logPrompts: false });

beforeEach(freshDatabase);

describe('semantic check through the profile flow', () => {
  it('asks for every banned category with its action and carries the steering for an allowed prompt', async () => {
    const engine = fakeEngine();
    const { s } = await storeWith(adult, engine);
    await s.getState().generateForActive(params);
    const sent = engine.generates[0];
    expect(sent.semanticGuard?.categories).toEqual({ Violence: 'steer' });
    expect(sent.negativePrompt).toBe('blurry'); // the text guard allowed: nothing steered yet
    expect(sent.sld).toBeUndefined();
    expect(sent.semanticGuard?.steer?.negativePrompt).toMatch(/^blurry, .*violence/);
    expect(sent.semanticGuard?.steer?.sld?.concept).toMatch(/violence/);
    expect(s.getState().guardOutcome).toEqual({ decision: 'allowed', explanations: [], imageExplanation: undefined });
  });

  it('a semantic block: no picture, a child explanation without words or score, a text-stage log entry', async () => {
    const engine = fakeEngine({ decision: 'blocked', hits: [{ category: 'Violence', action: 'block', score: 0.97, threshold: 0.9 }], scores: { Violence: 0.97 } });
    const { s } = await storeWith(child, engine);
    await s.getState().generateForActive(params);
    expect(engine.generates[0].semanticGuard?.categories.Violence).toBe('block');
    expect(s.getState().result).toBeUndefined();
    const out = s.getState().guardOutcome!;
    expect(out.decision).toBe('blocked');
    expect(out.explanations).toHaveLength(1);
    expect(out.explanations[0]).toMatchObject({ category: 'Violence', action: 'blocked', style: 'child', source: 'semantic' });
    expect(JSON.stringify(out.explanations[0])).not.toMatch(/0\.97|score/);
    await s.getState().openLog();
    expect(s.getState().log.entries.map((e) => [e.stage, e.source, e.category, e.action])).toEqual([['text', 'semantic', 'Violence', 'blocked']]);
  });

  it('a semantic steer marks the picture adjusted and keeps it', async () => {
    const engine = fakeEngine({ decision: 'steered', hits: [{ category: 'Violence', action: 'steer', score: 0.95, threshold: 0.9 }], scores: { Violence: 0.95 } });
    const { s } = await storeWith(adult, engine);
    await s.getState().generateForActive(params);
    expect(s.getState().result).toBeDefined();
    const out = s.getState().guardOutcome!;
    expect(out.decision).toBe('steered');
    expect(out.explanations[0]).toMatchObject({ category: 'Violence', action: 'steered', style: 'adult', source: 'semantic' });
  });
});
