// Profiles: PSA's age bands, presets (PSA's reference users copied from users.csv), validation messages, the
// "other" flag and the PSA fields that fill the embedding template.
import { describe, expect, it } from 'vitest';
import { computePolicy } from '../../src/safety/policy';
import { PRESET_PEOPLE, ageGroupOf, createProfile, outOfVocabulary, profileToPsaFields, validateProfile } from '../../src/safety/profile';
import { PROFILE_PRESETS, type Profile } from '../../src/shared/profile';
import { listCell, psaUsers } from './psa-users';

describe('ageGroupOf', () => {
  it("agrees with the Age_Group of every PSA user", () => {
    for (const row of psaUsers) expect(ageGroupOf(Number(row.Age))).toBe(row.Age_Group);
  });
  it('puts band edges in the right group', () => {
    expect([0, 3, 4, 12, 13, 19, 20, 34, 35, 59, 60, 74, 75, 89, 90, 100].map(ageGroupOf)).toEqual([
      'infants & toddlers', 'infants & toddlers', 'children', 'children', 'adolescents', 'adolescents', 'young adults',
      'young adults', 'middle-aged', 'middle-aged', 'young elderly', 'young elderly', 'elderly', 'elderly',
      'long-lived elderly', 'long-lived elderly',
    ]);
  });
  it('refuses fractions, non-numbers and ages outside 0–100', () => {
    expect(() => ageGroupOf(7.5)).toThrow(/whole number of years, got 7.5/);
    expect(() => ageGroupOf(Number.NaN)).toThrow(/whole number/);
    expect(() => ageGroupOf('9' as unknown as number)).toThrow(/whole number/);
    expect(() => ageGroupOf(-1)).toThrow(/from 0 to 100, got -1/);
    expect(() => ageGroupOf(101)).toThrow(/from 0 to 100, got 101/);
  });
});

describe('presets', () => {
  it("PSA's reference levels are users 1001, 797, 697, 2, 742, 501 (evaluation/gen_psa.py) with PSA's ban counts", () => {
    const levels = ['psa-level-0', 'psa-level-1', 'psa-level-2', 'psa-level-3', 'psa-level-4', 'psa-level-5'] as const;
    expect(levels.map((l) => PRESET_PEOPLE[l].psaUserId)).toEqual([1001, 797, 697, 2, 742, 501]);
    const counts = levels.map((l) => computePolicy(createProfile(l)).banned.length);
    expect(counts).toEqual([0, 2, 4, 4, 5, 7]);
    expect(PRESET_PEOPLE['psa-level-5'].age).toBe(5);
  });

  it('copy every field of their users.csv row (User_ID = 1-based row) and reproduce its labels', () => {
    for (const preset of PROFILE_PRESETS) {
      const person = PRESET_PEOPLE[preset];
      if (person.psaUserId === undefined) continue;
      const row = psaUsers[person.psaUserId - 1];
      expect({ age: person.age, gender: person.gender, religion: person.religion, physical: person.physical, mental: person.mental }, preset).toEqual({
        age: Number(row.Age), gender: row.Gender, religion: row.Religion, physical: row.Physical_Condition, mental: row.Mental_Condition,
      });
      // PSA's suggestion alone (without the preset's own parent choices) is the row's label.
      expect(computePolicy({ ...createProfile(preset), choices: {} }).banned, preset).toEqual(listCell(row.Banned_Categories));
    }
  });

  it('child (9), teen (15) and adult (30) are healthy and non-religious; minors are protected with child explanations', () => {
    const [child, teen, adult] = (['child', 'teen', 'adult'] as const).map((p) => createProfile(p, { id: p, now: 5 }));
    expect([child.age, teen.age, adult.age]).toEqual([9, 15, 30]);
    for (const p of [child, teen, adult]) expect([p.religion, p.physical, p.mental]).toEqual(['None', 'healthy', 'healthy']);
    expect([child.protected, teen.protected, adult.protected]).toEqual([true, true, false]);
    expect([child.explanationStyle, teen.explanationStyle, adult.explanationStyle]).toEqual(['child', 'child', 'adult']);
    expect(child).toMatchObject({ id: 'child', name: 'Child', preset: 'child', customWords: [], createdAt: 5, updatedAt: 5 });
    // The Child preset bans what PSA's table leaves allowed for a healthy 9-year-old, as parent choices (liftable).
    expect(child.choices).toEqual({ Harassment: 'ban', Propaganda: 'ban' });
    const policy = computePolicy(child);
    expect(policy.banned).toEqual(['Harassment', 'Hate', 'Propaganda', 'Self-Harm', 'Sexuality', 'Shocking', 'Violence']);
    expect(policy.decisions.Harassment.source).toBe('parent');
    expect([teen.choices, adult.choices]).toEqual([{}, {}]);
    // Two profiles made from the preset never share one choices object.
    expect(createProfile('child').choices).not.toBe(createProfile('child').choices);
    expect(createProfile('psa-level-5').protected).toBe(true);
    expect(createProfile('psa-level-2').protected).toBe(false); // 19
  });

  it('every preset validates, gets a fresh id and takes a name', () => {
    for (const preset of PROFILE_PRESETS) expect(validateProfile(createProfile(preset)), preset).toEqual([]);
    expect(createProfile('child').id).not.toBe(createProfile('child').id);
    expect(createProfile('teen', { name: 'Sam' }).name).toBe('Sam');
    expect(() => createProfile('toddler' as 'child')).toThrow(/unknown preset "toddler"/);
  });
});

describe('validateProfile', () => {
  const good = createProfile('child', { id: 'c', now: 1 });
  const problems = (patch: Record<string, unknown>) => validateProfile({ ...good, ...patch });

  it('accepts a good profile, "other" values and optional fields', () => {
    expect(validateProfile(good)).toEqual([]);
    expect(problems({ religion: 'other', mental: 'other', actions: { Hate: 'steer', Weapons: 'block' }, logPrompts: true })).toEqual([]);
  });

  it('names each problem precisely', () => {
    expect(validateProfile(null)).toEqual(['a profile must be an object (got null)']);
    expect(problems({ id: '' })).toEqual(['id must be a non-empty text (got "")']);
    expect(problems({ name: '  ' })).toEqual(['name must not be empty']);
    expect(problems({ name: 'x'.repeat(61) })).toEqual(['name must be at most 60 characters (has 61)']);
    expect(problems({ age: 7.5 })).toEqual(['age must be a whole number from 0 to 100 (got 7.5)']);
    expect(problems({ age: 120 })).toEqual(['age must be a whole number from 0 to 100 (got 120)']);
    expect(problems({ gender: 'x' })).toEqual(['gender must be one of "male", "female", "other" (got "x")']);
    expect(problems({ religion: 'none' })[0]).toMatch(/^religion must be one of "Christianity", "Islam", "Buddhism", "None", "other" \(got "none"\)$/);
    expect(problems({ physical: 3 })[0]).toMatch(/^physical condition must be one of .* \(got 3\)$/);
    expect(problems({ mental: undefined })[0]).toMatch(/^mental condition must be one of .* \(got undefined\)$/);
    expect(problems({ choices: [] })).toEqual(['choices must be an object of category → "ban" or "allow" (got a list)']);
    expect(problems({ choices: { Gore: 'ban' } })[0]).toMatch(/^choices names an unknown category "Gore"/);
    expect(problems({ choices: { Hate: 'yes' } })).toEqual(['the choice for Hate must be "ban" or "allow" (got "yes")']);
    expect(problems({ actions: { Hate: 'hide' } })).toEqual(['the action for Hate must be "block" or "steer" (got "hide")']);
    expect(problems({ customWords: 'gun' })).toEqual(['customWords must be a list of words or phrases (got "gun")']);
    expect(problems({ customWords: ['gun', '', 7, 'Gun '] })).toEqual([
      'custom word 2 is empty', 'custom word 3 must be a text (got 7)', 'custom word 4 ("Gun ") is listed twice',
    ]);
    expect(problems({ explanationStyle: 'teen' })).toEqual(['explanationStyle must be "child" or "adult" (got "teen")']);
    expect(problems({ protected: 'yes' })).toEqual(['protected must be true or false (got "yes")']);
    expect(problems({ preset: 'baby' })[0]).toMatch(/^preset must be one of "child", .* \(got "baby"\)$/);
    expect(problems({ logPrompts: 1 })).toEqual(['logPrompts must be true or false (got 1)']);
    expect(problems({ createdAt: -1 })).toEqual(['createdAt must be a time in milliseconds since 1970 (got -1)']);
    expect(problems({ updatedAt: 0 })).toEqual(['updatedAt must not be earlier than createdAt']);
  });

  it('reports every problem at once', () => {
    expect(validateProfile({})).toHaveLength(13);
  });
});

describe('outOfVocabulary and profileToPsaFields', () => {
  it('lists the fields set to "other"', () => {
    const p: Profile = { ...createProfile('adult'), gender: 'other', physical: 'other' };
    expect(outOfVocabulary(p)).toEqual(['gender', 'physical']);
    expect(outOfVocabulary(createProfile('adult'))).toEqual([]);
  });

  it("gives PSA's field names, the age group, and the policy's final lists", () => {
    const p = { ...createProfile('psa-level-3'), choices: { Hate: 'ban' as const, Shocking: 'allow' as const } };
    const policy = computePolicy(p);
    expect(profileToPsaFields(p, policy)).toEqual({
      Age: 20, Age_Group: 'young adults', Gender: 'male', Religion: 'Christianity', Physical_Condition: 'healthy',
      Mental_Condition: 'depression', Banned_Categories: ['Hate', 'Propaganda', 'Self-Harm', 'Sexuality'],
      Allowed_Categories: ['Harassment', 'Shocking', 'Violence'],
    });
  });
});
