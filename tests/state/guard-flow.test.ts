// The safety flow through the profiles slice, on the real guard, policy, steering and storage (fake-indexeddb): a
// blocked prompt never reaches the engine (not even the embedding) and is logged; a steered one carries SLD and the
// personalized negative after the user's own; a profile that bans Sexuality asks for the image stage, one that bans
// any other category asks for Q16 in it, and a blurred result is explained (in the profile's style) and logged with
// the stage that flagged it. The engine is a small fake (generate/embed): the engine has its own suites
// (tests/engine/q16-parity.test.ts runs the real one).
import '../storage/helpers';
import { beforeEach, describe, expect, it } from 'vitest';
import { SLD_PRESETS } from '../../src/safety/sld';
import type { Profile } from '../../src/shared/profile';
import type { GenerateParams, GenerateResult } from '../../src/shared/types';
import type { EmbedFn } from '../../src/state/profiles-slice';
import { freshDatabase } from '../storage/helpers';
import { storeWith as flowStore, type Store } from './flow-store';
import { textLogEvents } from '../../src/state/guard-flow';
import type { GuardResult } from '../../src/safety/guard/guard';

/** A fake engine: counts embeds and records generate requests; `blur` / `q16` say whether the checker / Q16 flag. */
function fakeEngine(opts: { blur?: boolean; q16?: boolean } = {}) {
  const embeds: string[] = [];
  const generates: GenerateParams[] = [];
  const embed: EmbedFn = async (text) => {
    embeds.push(text);
    return { embedding: new Float32Array(8).fill(text.length / 1000), encoderId: 'enc-1', tokens: 1, ms: 1 };
  };
  const generate = (s: { setState(p: Partial<Store>): void }) => async (params: GenerateParams) => {
    generates.push(params);
    const ic = params.imageCheck;
    const q16 = ic?.q16 && { probability: opts.q16 ? 0.93 : 0.02, flagged: !!opts.q16 };
    const blurred = !!ic && ic.blur && ((ic.concepts !== false && !!opts.blur) || !!q16?.flagged); // as applyImageCheck
    const imageCheck = ic && { flagged: !!opts.blur, scores: [0], specialScores: [0], blurred, ...(q16 ? { q16 } : {}) };
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
    // Each entry names the check that decided its category, as the explanation does.
    const byCategory = new Map(out.explanations.map((e) => [e.category, e.source]));
    for (const e of log) expect(e.source).toBe(byCategory.get(e.category as never));
  });

  it('textLogEvents: a classifier decision is logged as the classifier\'s, a word-list one as the word list\'s', async () => {
    const { s } = await storeWith(child);
    const profile = s.getState().profiles[0];
    const guard = {
      decision: 'blocked',
      explanations: [
        { stage: 'text', source: 'classifier', category: 'Hate', action: 'blocked' },
        { stage: 'text', source: 'lexicon', category: 'Violence', action: 'blocked' },
      ],
    } as unknown as GuardResult;
    expect(textLogEvents(profile, guard, 'x').map((e) => [e.source, e.category])).toEqual([['classifier', 'Hate'], ['lexicon', 'Violence']]);
    const imageStage = { ...guard, explanations: [{ stage: 'image', source: 'safety-checker', category: 'Sexuality', action: 'blurred' }] } as unknown as GuardResult;
    expect(() => textLogEvents(profile, imageStage, 'x')).toThrow(/safety-checker stage/);
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
    const log = await logEntries(s); // newest first: Q16's pass (the fake does not flag), then the text stage's steer
    expect(log).toHaveLength(2);
    expect(log[0]).toMatchObject({ stage: 'q16', action: 'allowed' });
    expect(log[1]).toMatchObject({ stage: 'text', action: 'steered', category: 'Violence', prompt: 'a knife fight in an alley', source: s.getState().guardOutcome?.explanations[0].source });
  });

  it('allowed: the request goes as asked (with Q16 only, for a Violence ban); only Q16\'s pass is logged', async () => {
    const { s, engine } = await storeWith(adultBanningViolence);
    await s.getState().generateForActive(params('a lighthouse at dawn', 'blurry'));
    expect(engine.generates[0].negativePrompt).toBe('blurry');
    expect(engine.generates[0].sld).toBeUndefined();
    expect(engine.generates[0].imageCheck).toEqual({ adjustment: 0, blur: true, concepts: false, q16: { threshold: 0.5 } });
    expect(s.getState().guardOutcome).toEqual({ decision: 'allowed', explanations: [], imageExplanation: undefined });
    expect((await logEntries(s)).map((e) => [e.stage, e.category, e.action])).toEqual([['q16', 'Inappropriate', 'allowed']]);
  });
});

describe('image stage', () => {
  it('a minor banning Sexuality gets the stricter check; a blurred result is explained and logged', async () => {
    const { s, engine } = await storeWith(child, fakeEngine({ blur: true }));
    await s.getState().generateForActive(params('a cat on a sofa'));
    expect(engine.generates[0].imageCheck).toEqual({ adjustment: 0.01, blur: true, q16: { threshold: 0.5 } });
    const out = s.getState().guardOutcome!;
    expect(out.decision).toBe('allowed');
    expect(out.imageExplanation).toMatchObject({ stage: 'image', action: 'blurred', style: 'child' });
    const log = await logEntries(s);
    expect(log.map((e) => [e.stage, e.category, e.action])).toEqual([['q16', 'Inappropriate', 'allowed'], ['image', 'Sexuality', 'blurred']]); // newest first
  });

  it('an adult banning Sexuality gets the checker\'s own thresholds; an unflagged image is logged as allowed', async () => {
    const adult = (st: Store) => ({ ...st.draftFromPreset('adult', 'Ada'), protected: false, choices: { Sexuality: 'ban' as const } });
    const { s, engine } = await storeWith(adult);
    await s.getState().generateForActive(params('a cat on a sofa'));
    expect(engine.generates[0].imageCheck).toEqual({ adjustment: 0, blur: true });
    expect(s.getState().guardOutcome?.imageExplanation).toBeUndefined();
    expect((await logEntries(s)).map((e) => [e.stage, e.action])).toEqual([['image', 'allowed']]);
  });

  it('Q16 flags for a child: blurred, explained in child words (no probability, no category), logged as stage q16', async () => {
    const { s, engine } = await storeWith(child, fakeEngine({ q16: true }));
    await s.getState().generateForActive(params('a cat on a sofa'));
    expect(engine.generates[0].imageCheck?.q16).toEqual({ threshold: 0.5 });
    const e = s.getState().guardOutcome!.imageExplanation!;
    expect(e).toMatchObject({ stage: 'q16', category: 'Inappropriate', action: 'blurred', style: 'child', triggers: [] });
    expect(e.words).toContain('not okay for this profile');
    expect(e.words).not.toMatch(/0\.9|Q16|violence|hate|probab/i);
    expect(e.policyReason).toMatch(/Violence/); // kept for the parent, not shown to the child
    expect((await logEntries(s)).map((x) => [x.stage, x.category, x.action])).toEqual([['q16', 'Inappropriate', 'blurred'], ['image', 'Sexuality', 'allowed']]); // newest first
  });

  it('Q16 flags for an adult banning Violence only: the checker\'s verdict does not count; adult words with Q16\'s probability', async () => {
    const { s, engine } = await storeWith(adultBanningViolence, fakeEngine({ q16: true, blur: true }));
    await s.getState().generateForActive(params('a lighthouse at dawn'));
    expect(engine.generates[0].imageCheck).toMatchObject({ concepts: false });
    const e = s.getState().guardOutcome!.imageExplanation!;
    expect(e).toMatchObject({ stage: 'q16', category: 'Inappropriate', style: 'adult' });
    expect(e.words).toMatch(/Q16.*inappropriate \(probability 0\.93\).*bans Violence/);
    // The checker flagged too, but Sexuality is allowed here: no 'image' (Sexuality) entry.
    expect((await logEntries(s)).map((x) => [x.stage, x.category, x.action, x.prompt])).toEqual([['q16', 'Inappropriate', 'blurred', 'a lighthouse at dawn']]);
  });

  it('no live previews when the picture will be checked (a late preview is nearly the picture, before the check)', async () => {
    const { s, engine } = await storeWith(adultBanningViolence);
    await s.getState().generateForActive({ ...params('a lighthouse at dawn'), previewEveryMs: 250 });
    expect(engine.generates[0].imageCheck).toBeDefined();
    expect(engine.generates[0].previewEveryMs).toBeUndefined();
  });

  it('a profile banning nothing gets no image stage (and keeps its previews)', async () => {
    const open = (st: Store) => ({ ...st.draftFromPreset('adult', 'Al'), protected: false });
    const { s, engine } = await storeWith(open);
    await s.getState().generateForActive({ ...params('a lighthouse at dawn'), previewEveryMs: 250 });
    expect(engine.generates[0].previewEveryMs).toBe(250);
    expect(engine.generates[0].imageCheck).toBeUndefined();
    expect(await logEntries(s)).toHaveLength(0);
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
