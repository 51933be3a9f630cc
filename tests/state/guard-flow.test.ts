// The safety flow through the profiles slice, on the real guard, policy, steering and storage (fake-indexeddb): a
// blocked prompt never reaches the engine (not even the embedding) and is logged; a steered one carries SLD and the
// personalized negative after the user's own; a profile that bans Sexuality asks for the image stage, and a blurred
// result is explained and logged. The engine is a small fake (generate/embed): the engine has its own suites.
import '../storage/helpers';
import { beforeEach, describe, expect, it } from 'vitest';
import { SLD_PRESETS } from '../../src/safety/sld';
import type { Profile } from '../../src/shared/profile';
import type { GenerateParams, GenerateResult } from '../../src/shared/types';
import type { EmbedFn } from '../../src/state/profiles-slice';
import { freshDatabase } from '../storage/helpers';
import { storeWith as flowStore, type Store } from './flow-store';

/** A fake engine: counts embeds and records generate requests; `blur` says whether its image stage flags. */
function fakeEngine(opts: { blur?: boolean } = {}) {
  const embeds: string[] = [];
  const generates: GenerateParams[] = [];
  const embed: EmbedFn = async (text) => {
    embeds.push(text);
    return { embedding: new Float32Array(8).fill(text.length / 1000), encoderId: 'enc-1', tokens: 1, ms: 1 };
  };
  const generate = (s: { setState(p: Partial<Store>): void }) => async (params: GenerateParams) => {
    generates.push(params);
    const imageCheck = params.imageCheck && { flagged: !!opts.blur, scores: [0], specialScores: [0], blurred: !!opts.blur && params.imageCheck.blur };
    s.setState({ result: { seed: params.seed, ...(imageCheck ? { imageCheck } : {}) } as GenerateResult });
  };
  return { embeds, generates, embed, generate };
}

const storeWith = (profile: (s: Store) => Profile, engine = fakeEngine()) => flowStore(profile, engine);

const params = (prompt: string, negativePrompt?: string): GenerateParams => ({ prompt, negativePrompt, seed: 3, steps: 20, scheduler: 'ddim', guidance: 7.5, width: 64, height: 64 });

async function logEntries(s: { getState(): Store }) {
  await s.getState().openLog(); // no lock set in these tests: opens without a PIN
  return s.getState().log.entries;
}

const child = (st: Store) => ({ ...st.draftFromPreset('child', 'Mia'), protected: false, logPrompts: false });
const adultBanningViolence = (st: Store) => ({ ...st.draftFromPreset('adult', 'Sam'), protected: false, choices: { Violence: 'ban' as const }, logPrompts: true });

beforeEach(freshDatabase);

describe('prompt guard before the engine', () => {
  it('blocked: no embed, no generate, the explanation in child words, a text-stage log entry without the prompt', async () => {
    const { s, p, engine } = await storeWith(child);
    await s.getState().generateForActive(params('a bloody knife fight'));
    expect(engine.generates).toHaveLength(0);
    expect(engine.embeds).toHaveLength(0);
    const out = s.getState().guardOutcome!;
    expect(out.decision).toBe('blocked');
    expect(out.explanations.map((e) => e.category)).toContain('Violence');
    for (const e of out.explanations) {
      expect(e.style).toBe('child');
      expect(e.words.toLowerCase()).not.toMatch(/bloody|knife|fight/);
    }
    expect(s.getState().result).toBeUndefined();
    const log = await logEntries(s);
    expect(log.length).toBeGreaterThan(0);
    for (const e of log) {
      expect(e).toMatchObject({ profileId: p.id, stage: 'text', action: 'blocked' });
      expect(e.prompt).toBeUndefined(); // logPrompts is off
    }
    expect(log.map((e) => e.category)).toContain('Violence');
  });

  it('steered: SLD with the preset (warm-up scaled to the steps) and the personalized negative after the user\'s own', async () => {
    const { s, engine } = await storeWith(adultBanningViolence);
    await s.getState().generateForActive(params('a knife fight in an alley', 'blurry'));
    expect(engine.generates).toHaveLength(1);
    const sent = engine.generates[0];
    expect(sent.prompt).toBe('a knife fight in an alley');
    expect(sent.negativePrompt).toMatch(/^blurry, /);
    expect(sent.negativePrompt).toContain('violence');
    expect(sent.sld?.concept).toMatch(/^an image showing .*violence/);
    expect(sent.sld?.guidanceScale).toBe(SLD_PRESETS.medium.guidanceScale);
    expect(sent.sld?.warmupSteps).toBe(Math.round((SLD_PRESETS.medium.warmupSteps * 20) / 50));
    expect(sent.userEmbedding).toBeDefined();
    expect(s.getState().guardOutcome?.decision).toBe('steered');
    expect(s.getState().guardOutcome?.explanations[0].style).toBe('adult');
    const log = await logEntries(s);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ stage: 'text', action: 'steered', category: 'Violence', prompt: 'a knife fight in an alley' });
  });

  it('allowed: the request goes as asked, nothing logged for a profile without a Sexuality ban', async () => {
    const { s, engine } = await storeWith(adultBanningViolence);
    await s.getState().generateForActive(params('a lighthouse at dawn', 'blurry'));
    expect(engine.generates[0].negativePrompt).toBe('blurry');
    expect(engine.generates[0].sld).toBeUndefined();
    expect(engine.generates[0].imageCheck).toBeUndefined();
    expect(s.getState().guardOutcome).toEqual({ decision: 'allowed', explanations: [], imageExplanation: undefined });
    expect(await logEntries(s)).toHaveLength(0);
  });
});

describe('image stage', () => {
  it('a minor banning Sexuality gets the stricter check; a blurred result is explained and logged', async () => {
    const { s, engine } = await storeWith(child, fakeEngine({ blur: true }));
    await s.getState().generateForActive(params('a cat on a sofa'));
    expect(engine.generates[0].imageCheck).toEqual({ adjustment: 0.01, blur: true });
    const out = s.getState().guardOutcome!;
    expect(out.decision).toBe('allowed');
    expect(out.imageExplanation).toMatchObject({ stage: 'image', action: 'blurred', style: 'child' });
    const log = await logEntries(s);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ stage: 'image', action: 'blurred', category: 'Sexuality' });
  });

  it('an adult banning Sexuality gets the checker\'s own thresholds; an unflagged image is logged as allowed', async () => {
    const adult = (st: Store) => ({ ...st.draftFromPreset('adult', 'Ada'), protected: false, choices: { Sexuality: 'ban' as const } });
    const { s, engine } = await storeWith(adult);
    await s.getState().generateForActive(params('a cat on a sofa'));
    expect(engine.generates[0].imageCheck).toEqual({ adjustment: 0, blur: true });
    expect(s.getState().guardOutcome?.imageExplanation).toBeUndefined();
    expect((await logEntries(s)).map((e) => [e.stage, e.action])).toEqual([['image', 'allowed']]);
  });

  it('no active profile: no guard, no steering, no image stage', async () => {
    const { s, engine } = await storeWith(child);
    await s.getState().selectProfile(undefined);
    await s.getState().generateForActive(params('a bloody knife fight'));
    expect(engine.generates).toHaveLength(1);
    expect(engine.generates[0].sld).toBeUndefined();
    expect(engine.generates[0].imageCheck).toBeUndefined();
    expect(s.getState().guardOutcome).toBeUndefined();
  });
});
