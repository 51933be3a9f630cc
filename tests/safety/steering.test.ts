// Steering texts and SLD settings: the presets and default concept are diffusers' own (as recorded from diffusers by
// scripts/reference/sld_fixture.py), the concept and personalized negative prompt come from the profile's bans and fit
// CLIP's window by whole phrases with the user's words first, token counts are exact for every shipped word (checked
// with SD1.5's real CLIP BPE from the parity bundle), and the preset per profile follows the documented rule.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadClipTokenizer, type ClipTokenizer } from '../../src/engine/clip-tokenizer';
import { fsReader } from '../../src/engine/node-reader';
import { computePolicy } from '../../src/safety/policy';
import { createProfile } from '../../src/safety/profile';
import { DIFFUSERS_SAFETY_CONCEPT, scaleWarmup, SLD_PRESET_NAMES, SLD_PRESETS, sldParams } from '../../src/safety/sld';
import {
  CLIP_CONTENT_TOKENS, CONCEPT_PHRASES, CONCEPT_PREFIX, estimateClipTokens, fitPhrases, KNOWN_WORD_TOKENS, NEGATIVE_PHRASES,
  personalizedNegative, rankedPhrases, safetyConcept, sldPresetFor, steeringCategoriesFromFields, steeringFor,
} from '../../src/safety/steering';
import { GUARD_CATEGORIES } from '../../src/safety/guard/categories';
import type { Profile } from '../../src/shared/profile';
import { PARITY } from '../helpers/bundles';

const SLD_FIXTURE = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../fixtures/sld/cases.json'), 'utf8'));

let clip: ClipTokenizer;
const real = (t: string) => (clip.encode(t, { add_special_tokens: false }) as number[]).length;
beforeAll(async () => {
  clip = await loadClipTokenizer(fsReader(path.join(PARITY, 'bundle')), 'tokenizer');
});

describe("diffusers' SLD settings", () => {
  it('presets equal SafetyConfig as read from diffusers', () => {
    const sc = SLD_FIXTURE.safetyConfig as Record<string, Record<string, number>>;
    expect(Object.keys(sc).map((k) => k.toLowerCase())).toEqual([...SLD_PRESET_NAMES]);
    for (const name of SLD_PRESET_NAMES) {
      const d = sc[name.toUpperCase()];
      expect(SLD_PRESETS[name]).toEqual({
        warmupSteps: d.sld_warmup_steps, guidanceScale: d.sld_guidance_scale, threshold: d.sld_threshold,
        momentumScale: d.sld_momentum_scale, momentumBeta: d.sld_mom_beta,
      });
    }
    expect(sldParams('max', 'c')).toEqual({ ...SLD_PRESETS.max, concept: 'c' });
  });
  it("the default concept is StableDiffusionPipelineSafe's, character for character", () => {
    expect(DIFFUSERS_SAFETY_CONCEPT).toBe(SLD_FIXTURE.defaultConcept);
  });
  it('scaleWarmup shortens δ in proportion to steps / 50, never lengthens it, and keeps the rest', () => {
    expect(scaleWarmup(SLD_PRESETS.medium, 20)).toEqual({ ...SLD_PRESETS.medium, warmupSteps: 4 });
    expect(scaleWarmup(SLD_PRESETS.weak, 10).warmupSteps).toBe(3);
    expect(scaleWarmup(SLD_PRESETS.strong, 50).warmupSteps).toBe(7);
    expect(scaleWarmup(SLD_PRESETS.strong, 200).warmupSteps).toBe(7);
    expect(scaleWarmup(SLD_PRESETS.max, 4).warmupSteps).toBe(0);
    expect(scaleWarmup(sldParams('medium', 'x'), 25)).toEqual({ ...SLD_PRESETS.medium, warmupSteps: 5, concept: 'x' });
    expect(() => scaleWarmup(SLD_PRESETS.medium, 0)).toThrow(/steps/);
  });
});

describe('CLIP token counts', () => {
  const words = new Set<string>();
  for (const table of [CONCEPT_PHRASES, NEGATIVE_PHRASES]) for (const ps of Object.values(table)) for (const p of ps) for (const w of p.toLowerCase().match(/\p{L}+/gu)!) words.add(w);
  for (const w of CONCEPT_PREFIX.match(/\p{L}+/gu)!) words.add(w);

  it('the table has every shipped word, with its real BPE count', () => {
    const missing = [...words].filter((w) => !(w in KNOWN_WORD_TOKENS));
    expect(missing).toEqual([]);
    const wrong = Object.entries(KNOWN_WORD_TOKENS).filter(([w, n]) => real(w) !== n).map(([w, n]) => `${w}: table ${n}, CLIP ${real(w)}`);
    expect(wrong).toEqual([]);
  });
  it('estimate is exact on shipped phrases and concepts, and never under real counts of ordinary negative prompts', () => {
    for (const table of [CONCEPT_PHRASES, NEGATIVE_PHRASES]) for (const ps of Object.values(table)) for (const p of ps) expect(estimateClipTokens(p), p).toBe(real(p));
    const all = safetyConcept(GUARD_CATEGORIES)!;
    expect(estimateClipTokens(all)).toBe(real(all));
    for (const t of [
      'blurry, low quality, deformed hands, extra fingers, watermark, text, jpeg artifacts',
      'worst quality, lowres, bad anatomy, (mutated:1.2), signature; username!!',
      'ugly, duplicate, morbid, mutilated, out of frame, poorly drawn face, 3 legs',
      'Überbelichtung, naïve café, 東京',
    ]) expect(estimateClipTokens(t), t).toBeGreaterThanOrEqual(real(t));
  });
});

describe('safety concept', () => {
  it('is "an image showing" + the banned categories’ phrases, ranked, and fits CLIP even with every category', () => {
    expect(safetyConcept([])).toBeUndefined();
    expect(safetyConcept(['Sexuality'])).toBe('an image showing nudity, sexual');
    expect(safetyConcept(['Violence', 'Sexuality'])).toBe(
      'an image showing violence, nudity, blood, sexual, weapons, brutality, suffering, harm, cruelty');
    const all = safetyConcept(GUARD_CATEGORIES)!;
    expect(real(all)).toBeLessThanOrEqual(CLIP_CONTENT_TOKENS);
    for (const c of GUARD_CATEGORIES) expect(all).toContain(CONCEPT_PHRASES[c][0]);
  });
  it('phrases shared by categories appear once', () => {
    const r = rankedPhrases(CONCEPT_PHRASES, ['Violence', 'Shocking', 'Self-Harm']);
    expect(r.filter((p) => p === 'blood')).toHaveLength(1);
    expect(r.filter((p) => p === 'harm')).toHaveLength(1);
    expect(r.slice(0, 3)).toEqual(['violence', 'suicide', 'gore']);
  });
});

describe('personalized negative prompt', () => {
  it("keeps the user's words first and whole, then adds the profile's phrases", () => {
    const r = personalizedNegative('blurry, low quality', ['Sexuality', 'Violence']);
    expect(r.text).toBe('blurry, low quality, violence, nudity, blood, nsfw, weapons, sexual content, injury, lingerie');
    expect(r.dropped).toEqual([]);
    expect(real(r.text)).toBeLessThanOrEqual(CLIP_CONTENT_TOKENS);
    expect(personalizedNegative(undefined, []).text).toBe('');
    expect(personalizedNegative('  soft  ', []).text).toBe('soft');
    expect(personalizedNegative(undefined, ['Propaganda']).text).toBe('propaganda, extremist symbols');
  });
  it('drops whole phrases when the window is full, keeping every category’s first phrase while possible', () => {
    const user = Array.from({ length: 20 }, (_, i) => `word${i}`).join(' '); // 50 CLIP tokens: two thirds of the window
    expect(real(user)).toBe(50);
    const r = personalizedNegative(user, GUARD_CATEGORIES, real);
    expect(r.text.startsWith(user)).toBe(true);
    expect(r.dropped.length).toBeGreaterThan(0);
    expect(real(r.text)).toBeLessThanOrEqual(CLIP_CONTENT_TOKENS);
    for (const p of r.added) expect(r.text).toContain(p);
    // every phrase either made it whole or is listed as dropped
    expect([...r.added, ...r.dropped].sort()).toEqual(rankedPhrases(NEGATIVE_PHRASES, GUARD_CATEGORIES).sort());
  });
  it("never cuts the user's own words, even past the window (the engine truncates and reports)", () => {
    const user = Array.from({ length: 90 }, () => 'cat').join(' ');
    const r = personalizedNegative(user, ['Violence'], real);
    expect(r.text).toBe(user);
    expect(r.added).toEqual([]);
    expect(r.dropped).toEqual(NEGATIVE_PHRASES.Violence);
  });
  it('fitPhrases skips a phrase that does not fit but takes a later shorter one', () => {
    const count = (t: string) => t.split(/\s+/).filter(Boolean).length;
    const r = fitPhrases('a b', ['c d e', 'f'], count, 4);
    expect(r).toEqual({ text: 'a b, f', added: ['f'], dropped: ['c d e'], tokens: 3 });
  });
});

describe('per profile', () => {
  const of = (preset: Parameters<typeof createProfile>[0], choices: Profile['choices'] = {}) => {
    const p = { ...createProfile(preset, { id: 'x', now: 0 }), choices };
    return steeringFor(p, computePolicy(p), 'blurry');
  };
  it('child → STRONG, teen → MEDIUM, adult with a ban → MEDIUM, nothing banned → off', () => {
    const child = of('child');
    expect(child.preset).toBe('strong');
    expect(child.settings).toEqual(SLD_PRESETS.strong);
    expect(child.categories).toContain('Sexuality');
    expect(child.concept).toContain('nudity');
    expect(child.negative.text.startsWith('blurry, ')).toBe(true);
    expect(of('teen').preset).toBe('medium');
    const adult = of('adult');
    expect(adult.categories).toEqual([]);
    expect(adult).toMatchObject({ preset: undefined, settings: undefined, concept: undefined });
    expect(adult.negative.text).toBe('blurry');
    const banned = of('adult', { Violence: 'ban' });
    expect(banned.preset).toBe('medium');
    expect(banned.concept).toBe(safetyConcept(['Violence']));
    expect(sldPresetFor(12, ['Hate'])).toBe('strong');
    expect(sldPresetFor(13, ['Hate'])).toBe('medium');
  });
  it('from PSA fields (the CLI): the same categories as from the profile, Illegal included by the minor rule', () => {
    const p = createProfile('child', { id: 'x', now: 0 });
    const policy = computePolicy(p);
    const fromFields = steeringCategoriesFromFields({ Age: p.age, Banned_Categories: policy.banned });
    expect(fromFields).toEqual(steeringFor(p, policy).categories);
    expect(steeringCategoriesFromFields({ Age: 30, Banned_Categories: ['Violence'] })).toEqual(['Violence']);
    expect(steeringCategoriesFromFields({ Age: 15, Banned_Categories: ['Violence'] })).toEqual(['Violence', 'Illegal']);
  });
});
