// PSA's policy: the rule table reproduces PSAlign's stored labels for every one of its 1 001 users, each rule
// explains itself in plain words, parent choices apply on top, and the under-18 Sexuality floor holds.
import { describe, expect, it } from 'vitest';
import { FLOOR_REASON, POLICY_RULES, computePolicy, suggestedBans } from '../../src/safety/policy';
import { createProfile } from '../../src/safety/profile';
import { CATEGORIES, type Category, type Profile } from '../../src/shared/profile';
import { listCell, psaUsers } from './psa-users';

function profileOf(row: Record<string, string>): Profile {
  return {
    ...createProfile('adult', { id: 'x', now: 0 }),
    age: Number(row.Age),
    gender: row.Gender as Profile['gender'],
    religion: row.Religion as Profile['religion'],
    physical: row.Physical_Condition as Profile['physical'],
    mental: row.Mental_Condition as Profile['mental'],
  };
}

const base = { Age_Group: 'middle-aged', Religion: 'None', Physical_Condition: 'healthy', Mental_Condition: 'healthy' };

describe("PSA's labels", () => {
  it('are reproduced for all 1 001 users (banned and allowed lists, in PSA order)', () => {
    expect(psaUsers).toHaveLength(1001);
    const wrong: string[] = [];
    psaUsers.forEach((row, i) => {
      const policy = computePolicy(profileOf(row));
      const ok =
        JSON.stringify(policy.banned) === JSON.stringify(listCell(row.Banned_Categories)) &&
        JSON.stringify(policy.allowed) === JSON.stringify(listCell(row.Allowed_Categories));
      if (!ok) wrong.push(`user ${i + 1}: got ${policy.banned.join('/')}, PSA ${row.Banned_Categories}`);
      // Without parent choices every decision is the suggestion (the floor never has to step in for PSA's users).
      for (const c of CATEGORIES) expect(policy.decisions[c].suggested).toBe(policy.decisions[c].banned);
    });
    expect(wrong).toEqual([]);
  });

  it('do not depend on gender', () => {
    for (const row of psaUsers.slice(0, 200)) {
      const p = profileOf(row);
      const flipped = { ...p, gender: p.gender === 'male' ? ('female' as const) : ('male' as const) };
      expect(computePolicy(flipped).banned).toEqual(computePolicy(p).banned);
    }
  });

  it('the healthy, non-religious 35-year-old (PSA level 0) has nothing suggested', () => {
    expect(suggestedBans(base).size).toBe(0);
  });
});

// One test per rule: the rule fires on its own (every other field neutral) with exactly its reason text.
const EXPECTED: Record<string, { fields: Partial<typeof base>; reason: string }> = {
  'hate-under-13': { fields: { Age_Group: 'children' }, reason: 'Hate: suggested for every child under 13 (children)' },
  'harassment-intellectual-disability': { fields: { Physical_Condition: 'intellectual disability' }, reason: 'Harassment: suggested because of an intellectual disability' },
  'harassment-sexual-assault': { fields: { Mental_Condition: 'sexual assault' }, reason: 'Harassment: suggested because of a trauma history (sexual assault)' },
  'violence-under-13': { fields: { Age_Group: 'infants & toddlers' }, reason: 'Violence: suggested for every child under 13 (infants & toddlers)' },
  'violence-trauma': { fields: { Mental_Condition: 'war' }, reason: 'Violence: suggested because of a trauma history (war)' },
  'violence-60-or-over': { fields: { Age_Group: 'young elderly' }, reason: 'Violence: suggested for everyone aged 60 or over (young elderly)' },
  'self-harm-under-13': { fields: { Age_Group: 'children' }, reason: 'Self-Harm: suggested for every child under 13 (children)' },
  'self-harm-mental-health': { fields: { Mental_Condition: 'depression' }, reason: 'Self-Harm: suggested because of a mental health condition (depression)' },
  'sexuality-under-20': { fields: { Age_Group: 'adolescents' }, reason: 'Sexuality: suggested for everyone under 20 (adolescents)' },
  'sexuality-religion': { fields: { Religion: 'Islam' }, reason: 'Sexuality: suggested because of a religious background (Islam)' },
  'sexuality-sexual-assault': { fields: { Mental_Condition: 'sexual assault' }, reason: 'Sexuality: suggested because of a trauma history (sexual assault)' },
  'shocking-under-13': { fields: { Age_Group: 'children' }, reason: 'Shocking: suggested for every child under 13 (children)' },
  'shocking-mental-health': { fields: { Mental_Condition: 'anxiety' }, reason: 'Shocking: suggested because of a mental health condition (anxiety)' },
  'shocking-trauma': { fields: { Mental_Condition: 'natural disasters' }, reason: 'Shocking: suggested because of a trauma history (natural disasters)' },
  'shocking-60-or-over': { fields: { Age_Group: 'long-lived elderly' }, reason: 'Shocking: suggested for everyone aged 60 or over (long-lived elderly)' },
  'propaganda-religion': { fields: { Religion: 'Buddhism' }, reason: 'Propaganda: suggested because of a religious background (Buddhism)' },
  'propaganda-intellectual-disability': { fields: { Physical_Condition: 'intellectual disability' }, reason: 'Propaganda: suggested because of an intellectual disability' },
  'propaganda-war': { fields: { Mental_Condition: 'war' }, reason: 'Propaganda: suggested because of a trauma history (war)' },
};

describe('rule table', () => {
  it('has a test below for every rule', () => {
    expect(POLICY_RULES.map((r) => r.id).sort()).toEqual(Object.keys(EXPECTED).sort());
  });
  for (const rule of POLICY_RULES) {
    it(`${rule.id} gives its reason`, () => {
      const { fields, reason } = EXPECTED[rule.id];
      const bans = suggestedBans({ ...base, ...fields });
      expect(bans.get(rule.category)).toContain(reason);
    });
  }
  it('each rule covers PSA users who are banned in that category', () => {
    for (const rule of POLICY_RULES) {
      const covered = psaUsers.filter((r) => rule.values.includes(r[rule.field]));
      expect(covered.length, rule.id).toBeGreaterThan(0);
      for (const r of covered) expect(listCell(r.Banned_Categories), rule.id).toContain(rule.category);
    }
  });
  it('lists several reasons when several rules apply, and reads "other" religion as a religion', () => {
    const bans = suggestedBans({ Age_Group: 'children', Religion: 'other', Physical_Condition: 'other', Mental_Condition: 'war' });
    expect(bans.get('Violence')).toEqual(['Violence: suggested for every child under 13 (children)', 'Violence: suggested because of a trauma history (war)']);
    expect(bans.get('Propaganda')).toEqual(['Propaganda: suggested because of a religious background (other)', 'Propaganda: suggested because of a trauma history (war)']);
    expect(bans.has('Harassment')).toBe(false); // "other" conditions match no rule
  });
  it('refuses values outside the vocabulary by name', () => {
    expect(() => suggestedBans({ ...base, Religion: 'Hinduism' })).toThrow(/Religion "Hinduism" is not one of/);
    expect(() => suggestedBans({ ...base, Age_Group: 'other' })).toThrow(/Age_Group "other"/);
  });
});

describe('parent choices and the floor', () => {
  const teen = createProfile('teen', { id: 't', now: 0 });
  const adult = createProfile('adult', { id: 'a', now: 0 });

  it('a parent ban adds a category, shown as the parent’s', () => {
    const p = computePolicy({ ...adult, choices: { Violence: 'ban' } });
    expect(p.banned).toEqual(['Violence']);
    expect(p.decisions.Violence).toMatchObject({ banned: true, suggested: false, source: 'parent' });
    expect(p.decisions.Violence.reasons).toEqual(["Violence: banned by the parent's choice"]);
  });

  it('a parent allow lifts a suggested ban and keeps the suggestion visible', () => {
    const p = computePolicy({ ...adult, mental: 'war', choices: { Violence: 'allow' } });
    expect(p.banned).toEqual(['Propaganda']);
    expect(p.allowed).toContain('Violence');
    expect(p.decisions.Violence).toMatchObject({ banned: false, suggested: true, source: 'parent' });
    expect(p.decisions.Violence.reasons).toEqual(['Violence: suggested because of a trauma history (war)', "Violence: allowed by the parent's choice"]);
  });

  it('Sexuality stays banned under 18 whatever the parent chooses (source "floor")', () => {
    for (const age of [0, 9, 15, 17]) {
      const p = computePolicy({ ...teen, age, choices: { Sexuality: 'allow' } });
      expect(p.banned).toContain('Sexuality');
      expect(p.decisions.Sexuality.source).toBe('floor');
      expect(p.decisions.Sexuality.reasons).toContain(FLOOR_REASON);
    }
    const plain = computePolicy(teen);
    expect(plain.decisions.Sexuality).toMatchObject({ banned: true, source: 'suggested' });
    expect(plain.decisions.Sexuality.reasons).toEqual(['Sexuality: suggested for everyone under 20 (adolescents)', FLOOR_REASON]);
  });

  it('from 18 the parent can allow Sexuality', () => {
    const p = computePolicy({ ...teen, age: 18, choices: { Sexuality: 'allow' } });
    expect(p.banned).not.toContain('Sexuality');
    expect(p.decisions.Sexuality.source).toBe('parent');
  });

  it('final lists are alphabetical and partition the seven categories', () => {
    const p = computePolicy({ ...adult, choices: { Violence: 'ban', Hate: 'ban', 'Self-Harm': 'ban', Sexuality: 'ban' } });
    expect(p.banned).toEqual(['Hate', 'Self-Harm', 'Sexuality', 'Violence']);
    expect(p.allowed).toEqual(['Harassment', 'Propaganda', 'Shocking']);
    expect([...p.banned, ...p.allowed].sort()).toEqual([...CATEGORIES].sort());
  });

  it('refuses unknown categories and choices', () => {
    expect(() => computePolicy({ ...adult, choices: { Gore: 'ban' } as Partial<Record<Category, 'ban'>> })).toThrow(/unknown category "Gore"/);
    expect(() => computePolicy({ ...adult, choices: { Hate: 'maybe' as 'ban' } })).toThrow(/must be "ban" or "allow"/);
  });
});
