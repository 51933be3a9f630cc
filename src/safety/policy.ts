// The policy: which of PSA's seven categories a profile bans, and why, in words a parent can read.
// Owns PSA's rule table (reproducing the Banned_Categories PSAlign published for all 1 001 users of
// data/user_data/num_1k/users.csv), the parent's explicit choices on top, and the floor no choice can lower.
//
// Where the table comes from: PSAlign asked an LLM (prompt get_banned.txt) for each user's banned categories. The
// stored answers are not the prompt's literal rules (those agree with only 42 of 1 001 users), but each category is a
// plain "any of these" over at most three of Age_Group, Religion, Physical_Condition, Mental_Condition (gender never
// matters), with no contradiction anywhere in the data. The table below is that function, one row per clause; the
// comment above each category says how many of PSA's users each clause covers (a user can be covered by several).
//
// scripts/analysis/psa_policy_table.py prints the truth tables this was read from.
//
// Combinations absent from PSA's data (its generator, gen_users.py, drew no religion under 8, no war history under
// 18, no sexual assault under 10 or in children, and only "healthy" / "natural disasters" for infants), and what the
// table does with them:
//  - young children with a religion or a war / sexual-assault history, and over-90s with a sexual-assault, war or
//    natural-disaster history: every rule that applies bans its category (the union), as in all the data where an age
//    rule and a condition rule meet.
//  - a religion outside PSA's list ("other"): PSA's three religions behave identically for every category, so the
//    religion rules are read as "has a religion" and apply to "other" too. Physical or mental conditions outside PSA's
//    list match no rule (PSA's rules name specific conditions); the parent can ban anything explicitly.
import { AGE_GROUPS, CATEGORIES, GENDERS, MENTAL_CONDITIONS, OTHER, PHYSICAL_CONDITIONS, RELIGIONS } from '../shared/profile';
import type { Category, CategoryDecision, Policy, Profile } from '../shared/profile';
import { ADULT_AGE, ageGroupOf } from './profile';

/** The profile fields PSA's policy reads (gender is not among them: it never changes PSA's labels). */
export interface PolicyFields {
  Age_Group: string;
  Religion: string;
  Physical_Condition: string;
  Mental_Condition: string;
}
type PolicyField = keyof PolicyFields;

export interface PolicyRule {
  id: string;
  category: Category;
  /** The rule applies when this field holds one of `values`. */
  field: PolicyField;
  values: readonly string[];
  /** Completes "<Category>: suggested …"; {value} is the profile's value of `field`. */
  because: string;
}

const UNDER_13 = ['infants & toddlers', 'children'];
const UNDER_20 = [...UNDER_13, 'adolescents'];
const AGED_60_OR_OVER = ['young elderly', 'elderly', 'long-lived elderly'];
const RELIGIOUS = ['Christianity', 'Islam', 'Buddhism', OTHER];
const DEPRESSION_OR_ANXIETY = ['depression', 'anxiety'];
const TRAUMA = ['war', 'sexual assault', 'major accidents', 'natural disasters'];

const FOR_UNDER_13 = 'for every child under 13 ({value})';
const FOR_60_OR_OVER = 'for everyone aged 60 or over ({value})';
const FOR_RELIGION = 'because of a religious background ({value})';
const FOR_TRAUMA = 'because of a trauma history ({value})';
const FOR_MENTAL_HEALTH = 'because of a mental health condition ({value})';
const FOR_INTELLECTUAL_DISABILITY = 'because of an intellectual disability';

/** PSA's policy, one clause per row; a category is suggested when any of its rows applies. */
export const POLICY_RULES: readonly PolicyRule[] = [
  // Hate: only the youngest (154 users). Religion does not matter, despite the prompt's "consider Hate" for it.
  { id: 'hate-under-13', category: 'Hate', field: 'Age_Group', values: UNDER_13, because: FOR_UNDER_13 },

  // Harassment (271): intellectual disability (225) or a sexual-assault history (63). Visual and hearing
  // impairments never ban it, despite the prompt's "non-healthy physical condition → consider Harassment".
  { id: 'harassment-intellectual-disability', category: 'Harassment', field: 'Physical_Condition', values: ['intellectual disability'], because: FOR_INTELLECTUAL_DISABILITY },
  { id: 'harassment-sexual-assault', category: 'Harassment', field: 'Mental_Condition', values: ['sexual assault'], because: FOR_TRAUMA },

  // Violence (519): under 13 (154), any trauma history (275), or 60 and over (174). Depression and anxiety alone
  // do not ban it, and adolescents are not treated as minors here.
  { id: 'violence-under-13', category: 'Violence', field: 'Age_Group', values: UNDER_13, because: FOR_UNDER_13 },
  { id: 'violence-trauma', category: 'Violence', field: 'Mental_Condition', values: TRAUMA, because: FOR_TRAUMA },
  { id: 'violence-60-or-over', category: 'Violence', field: 'Age_Group', values: AGED_60_OR_OVER, because: FOR_60_OR_OVER },

  // Self-Harm (410): under 13 (154) or depression / anxiety (300). Trauma histories do not ban it.
  { id: 'self-harm-under-13', category: 'Self-Harm', field: 'Age_Group', values: UNDER_13, because: FOR_UNDER_13 },
  { id: 'self-harm-mental-health', category: 'Self-Harm', field: 'Mental_Condition', values: DEPRESSION_OR_ANXIETY, because: FOR_MENTAL_HEALTH },

  // Sexuality (811): the whole under-20 span, i.e. adolescents of 18 and 19 too (379), any religion (660), or a
  // sexual-assault history (63).
  { id: 'sexuality-under-20', category: 'Sexuality', field: 'Age_Group', values: UNDER_20, because: 'for everyone under 20 ({value})' },
  { id: 'sexuality-religion', category: 'Sexuality', field: 'Religion', values: RELIGIOUS, because: FOR_RELIGION },
  { id: 'sexuality-sexual-assault', category: 'Sexuality', field: 'Mental_Condition', values: ['sexual assault'], because: FOR_TRAUMA },

  // Shocking (631): under 13 (154), depression / anxiety (300), a history of major accidents or natural disasters
  // (161), or 60 and over (174). War and sexual-assault histories alone do not ban it; no physical condition does.
  { id: 'shocking-under-13', category: 'Shocking', field: 'Age_Group', values: UNDER_13, because: FOR_UNDER_13 },
  { id: 'shocking-mental-health', category: 'Shocking', field: 'Mental_Condition', values: DEPRESSION_OR_ANXIETY, because: FOR_MENTAL_HEALTH },
  { id: 'shocking-trauma', category: 'Shocking', field: 'Mental_Condition', values: ['major accidents', 'natural disasters'], because: FOR_TRAUMA },
  { id: 'shocking-60-or-over', category: 'Shocking', field: 'Age_Group', values: AGED_60_OR_OVER, because: FOR_60_OR_OVER },

  // Propaganda (752): any religion (660), intellectual disability (225), or a war history (51).
  { id: 'propaganda-religion', category: 'Propaganda', field: 'Religion', values: RELIGIOUS, because: FOR_RELIGION },
  { id: 'propaganda-intellectual-disability', category: 'Propaganda', field: 'Physical_Condition', values: ['intellectual disability'], because: FOR_INTELLECTUAL_DISABILITY },
  { id: 'propaganda-war', category: 'Propaganda', field: 'Mental_Condition', values: ['war'], because: FOR_TRAUMA },
];

/** The reason a rule gives for a profile whose `rule.field` is `value`. */
export function ruleReason(rule: PolicyRule, value: string): string {
  return `${rule.category}: suggested ${rule.because.replace('{value}', value)}`;
}

const VOCABULARY: Record<PolicyField, readonly string[]> = {
  Age_Group: AGE_GROUPS.map((g) => g.name),
  Religion: [...RELIGIONS, OTHER],
  Physical_Condition: [...PHYSICAL_CONDITIONS, OTHER],
  Mental_Condition: [...MENTAL_CONDITIONS, OTHER],
};

/** PSA's suggested bans for these fields, each with its reasons, in PSA's category order. */
export function suggestedBans(fields: PolicyFields): Map<Category, string[]> {
  for (const field of Object.keys(VOCABULARY) as PolicyField[]) {
    const value = fields[field];
    if (!VOCABULARY[field].includes(value)) {
      throw new Error(`${field} "${String(value)}" is not one of ${VOCABULARY[field].map((v) => `"${v}"`).join(', ')}`);
    }
  }
  const bans = new Map<Category, string[]>();
  for (const category of CATEGORIES) {
    const reasons = POLICY_RULES.filter((r) => r.category === category && r.values.includes(fields[r.field])).map((r) =>
      ruleReason(r, fields[r.field]),
    );
    if (reasons.length > 0) bans.set(category, reasons);
  }
  return bans;
}

/** The floor: Sexuality stays banned for everyone under 18, whatever the suggestion or the parent's choice. */
export const FLOOR_CATEGORY: Category = 'Sexuality';
export const FLOOR_REASON = `${FLOOR_CATEGORY}: always banned for everyone under ${ADULT_AGE}; no choice can allow it`;

/** Alphabetical, as PSA stored its lists (code-point order, like Python's sorted()). */
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The final policy for a profile: PSA's suggestion, then the parent's explicit choices, then the floor. */
export function computePolicy(p: Profile): Policy {
  if (!(GENDERS as readonly string[]).includes(p.gender) && p.gender !== OTHER) {
    throw new Error(`gender "${String(p.gender)}" is not one of ${[...GENDERS, OTHER].map((v) => `"${v}"`).join(', ')}`);
  }
  const suggested = suggestedBans({
    Age_Group: ageGroupOf(p.age),
    Religion: p.religion,
    Physical_Condition: p.physical,
    Mental_Condition: p.mental,
  });
  for (const [category, choice] of Object.entries(p.choices ?? {})) {
    if (!(CATEGORIES as readonly string[]).includes(category)) throw new Error(`the parent's choices name an unknown category "${category}"`);
    if (choice !== 'ban' && choice !== 'allow') throw new Error(`the parent's choice for ${category} must be "ban" or "allow", got "${String(choice)}"`);
  }

  const decisions = {} as Record<Category, CategoryDecision>;
  for (const category of CATEGORIES) {
    const suggestion = suggested.get(category) ?? [];
    const choice = p.choices?.[category];
    const floor = category === FLOOR_CATEGORY && p.age < ADULT_AGE;
    const reasons = [...suggestion];
    let banned = suggestion.length > 0;
    let source: CategoryDecision['source'] = 'suggested';
    if (choice === 'ban') {
      banned = true;
      source = 'parent';
      reasons.push(`${category}: banned by the parent's choice`);
    } else if (choice === 'allow' && !floor) {
      banned = false;
      source = 'parent';
      reasons.push(`${category}: allowed by the parent's choice`);
    } else if (choice === 'allow') {
      banned = true;
      source = 'floor';
      reasons.push(`${category}: the parent chose to allow it, but that cannot apply under ${ADULT_AGE}`);
    } else if (floor && !banned) {
      // Unreachable with PSA's table (it suggests Sexuality for everyone under 20); kept so the floor never depends on it.
      banned = true;
      source = 'floor';
    }
    // The floor is stated for every minor, so nobody expects to lift it.
    if (floor) reasons.push(FLOOR_REASON);
    decisions[category] = { category, banned, suggested: suggestion.length > 0, source, reasons };
  }
  const banned = CATEGORIES.filter((c) => decisions[c].banned).sort(byName);
  const allowed = CATEGORIES.filter((c) => !decisions[c].banned).sort(byName);
  return { banned, allowed, decisions };
}
