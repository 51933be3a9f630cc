// Q16's explanation (src/safety/image-explain.ts): which categories Q16 stands for, child wording that names no
// category, no probability and no lexicon word (findMatches: the guard's own matcher), adult wording with Q16's
// verdict, probability and the profile's bans with their reasons.
import { describe, expect, it } from 'vitest';
import { computePolicy } from '../../src/safety/policy';
import { createProfile } from '../../src/safety/profile';
import { explainQ16, q16Categories } from '../../src/safety/image-explain';
import { findMatches } from '../../src/safety/guard/guard';
import { TEXTS } from '../../src/safety/texts';
import { CATEGORIES, type Profile, type ProfilePreset } from '../../src/shared/profile';

const make = (preset: ProfilePreset, patch: Partial<Profile> = {}) => {
  const profile = { ...createProfile(preset, { id: preset, now: 0 }), ...patch };
  return { profile, policy: computePolicy(profile) };
};

describe('Q16 explanations', () => {
  it('Q16 stands for every banned category but Sexuality', () => {
    const { policy } = make('child');
    expect(q16Categories(policy)).toEqual(policy.banned.filter((c) => c !== 'Sexuality'));
    expect(q16Categories(policy).length).toBe(CATEGORIES.length - 1); // the child preset bans all seven
    expect(q16Categories(make('adult', { choices: { Sexuality: 'ban' } }).policy)).toEqual([]);
  });

  it('child style: the gentle label, the child rule line, no number, no category, no lexicon word', () => {
    const { profile, policy } = make('child');
    const e = explainQ16(profile, policy, 0.987);
    expect(e).toMatchObject({ stage: 'q16', category: 'Inappropriate', action: 'blurred', style: 'child', triggers: [], reason: TEXTS.childReason, title: TEXTS.title.child.blurred });
    expect(e.words).toContain(TEXTS.q16.childLabel);
    expect(e.words).not.toMatch(/\d|Q16/);
    for (const c of CATEGORIES) expect(e.words.toLowerCase()).not.toContain(c.toLowerCase());
    for (const t of [e.words, e.title, e.reason, TEXTS.q16.childLabel]) expect(findMatches(t), t).toEqual([]);
    expect(e.policyReason).toContain('Violence'); // for the parent's view and log
  });

  it('adult style: Q16, its probability, the banned categories and their reasons', () => {
    const { profile, policy } = make('adult', { choices: { Violence: 'ban', Hate: 'ban' } });
    const e = explainQ16(profile, policy, 0.9312);
    expect(e.style).toBe('adult');
    expect(e.words).toContain('Q16');
    expect(e.words).toContain('probability 0.93');
    expect(e.words).toMatch(/bans (Hate, Violence|Violence, Hate)/);
    expect(e.reason).toBe(e.policyReason);
    expect(e.policyReason.split('; ')).toHaveLength(2);
  });
});
