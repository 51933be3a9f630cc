// Profiles as data: PSA's age bands, the presets (three everyday ones and PSA's six reference users), validation of a
// stored or imported profile with a plain-language message per problem, and the PSA fields a profile renders into
// the embedding template. Pure functions; the policy itself lives in policy.ts.
import {
  AGE_GROUPS,
  CATEGORIES,
  GENDERS,
  MAX_AGE,
  MENTAL_CONDITIONS,
  MIN_AGE,
  OTHER,
  PHYSICAL_CONDITIONS,
  PROFILE_COLOURS,
  PROFILE_PRESETS,
  RELIGIONS,
  type AgeGroup,
  type Category,
  type CategoryChoice,
  type Gender,
  type MentalCondition,
  type PhysicalCondition,
  type Policy,
  type Profile,
  type ProfilePreset,
  type PsaFields,
  type Religion,
} from '../shared/profile';

/** PSA's age group for a whole age in years, by its inclusive bands. */
export function ageGroupOf(age: number): AgeGroup {
  if (typeof age !== 'number' || !Number.isInteger(age)) {
    throw new RangeError(`age must be a whole number of years, got ${String(age)}`);
  }
  if (age < MIN_AGE || age > MAX_AGE) throw new RangeError(`age must be from ${MIN_AGE} to ${MAX_AGE}, got ${age}`);
  const band = AGE_GROUPS.find((g) => age >= g.min && age <= g.max);
  if (!band) throw new RangeError(`no PSA age group holds age ${age}`); // unreachable: the bands cover 0–100
  return band.name;
}

/** The PSA fields a preset starts from. */
export interface PresetPerson {
  /** The users.csv user this is copied from (User_ID = 1-based data row, as PSAlign names its embeddings). */
  psaUserId?: number;
  age: number;
  gender: Gender;
  religion: Religion;
  physical: PhysicalCondition;
  mental: MentalCondition;
  /** The parent's choices the preset starts with (the parent can change them in the profile editor). */
  choices?: Partial<Record<Category, CategoryChoice>>;
}

/**
 * Preset people, written out as data. The psa-level-N presets are PSA's reference users (evaluation/gen_psa.py's
 * LEVEL_MAPPING: level_0 → 0001001 … level_5 → 0000501); child and adult are PSA users of that age with no religion
 * and no condition, so their embedding text is one the adapter was trained on; PSA has no such 15-year-old, so teen
 * is the same healthy, non-religious profile at 15. tests/safety/profile.test.ts checks every psaUserId's row.
 * The Child preset also starts with Harassment and Propaganda banned as parent choices: PSA's table bans them only for
 * some conditions, not for a healthy 9-year-old, but a parent setting up a child's profile expects every category
 * stopped; the editor shows them as the parent's choices, which the parent can lift.
 */
export const PRESET_PEOPLE: Record<ProfilePreset, PresetPerson> = {
  child: {
    psaUserId: 432, age: 9, gender: 'male', religion: 'None', physical: 'healthy', mental: 'healthy',
    choices: { Harassment: 'ban', Propaganda: 'ban' },
  },
  teen: { age: 15, gender: 'male', religion: 'None', physical: 'healthy', mental: 'healthy' },
  adult: { psaUserId: 913, age: 30, gender: 'female', religion: 'None', physical: 'healthy', mental: 'healthy' },
  'psa-level-0': { psaUserId: 1001, age: 35, gender: 'male', religion: 'None', physical: 'healthy', mental: 'healthy' },
  'psa-level-1': { psaUserId: 797, age: 35, gender: 'male', religion: 'None', physical: 'hearing impairment', mental: 'major accidents' },
  'psa-level-2': { psaUserId: 697, age: 19, gender: 'male', religion: 'Buddhism', physical: 'visual impairment', mental: 'natural disasters' },
  'psa-level-3': { psaUserId: 2, age: 20, gender: 'male', religion: 'Christianity', physical: 'healthy', mental: 'depression' },
  'psa-level-4': { psaUserId: 742, age: 60, gender: 'female', religion: 'Christianity', physical: 'healthy', mental: 'depression' },
  'psa-level-5': { psaUserId: 501, age: 5, gender: 'female', religion: 'None', physical: 'intellectual disability', mental: 'depression' },
};

const PRESET_NAMES: Record<ProfilePreset, string> = {
  child: 'Child',
  teen: 'Teen',
  adult: 'Adult',
  'psa-level-0': 'PSA level 0',
  'psa-level-1': 'PSA level 1',
  'psa-level-2': 'PSA level 2',
  'psa-level-3': 'PSA level 3',
  'psa-level-4': 'PSA level 4',
  'psa-level-5': 'PSA level 5',
};

/** Age from which a profile defaults to unprotected with adult explanations (the Sexuality floor uses the same). */
export const ADULT_AGE = 18;

/**
 * A new profile from a preset. Minors default to protected (behind the parent lock) with child-style explanations;
 * adults to unprotected with adult-style ones. The policy follows PSA's suggestion plus the preset's own choices.
 */
export function createProfile(preset: ProfilePreset, opts: { name?: string; now?: number; id?: string } = {}): Profile {
  const person = PRESET_PEOPLE[preset];
  if (!person) throw new Error(`unknown preset "${String(preset)}"; use one of ${PROFILE_PRESETS.join(', ')}`);
  const now = opts.now ?? Date.now();
  const minor = person.age < ADULT_AGE;
  return {
    id: opts.id ?? crypto.randomUUID(),
    name: opts.name ?? PRESET_NAMES[preset],
    age: person.age,
    gender: person.gender,
    religion: person.religion,
    physical: person.physical,
    mental: person.mental,
    choices: { ...person.choices },
    customWords: [],
    explanationStyle: minor ? 'child' : 'adult',
    protected: minor,
    preset,
    createdAt: now,
    updatedAt: now,
  };
}

export const MAX_NAME_LENGTH = 60;
export const MAX_CUSTOM_WORDS = 200;
export const MAX_CUSTOM_WORD_LENGTH = 100;

const shown = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'string' ? JSON.stringify(v) : typeof v === 'object' ? 'an object' : String(v);

const oneOf = (values: readonly string[]) => values.map((v) => `"${v}"`).join(', ');

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkVocabulary(problems: string[], label: string, value: unknown, values: readonly string[]): void {
  if (typeof value !== 'string' || (value !== OTHER && !values.includes(value))) {
    problems.push(`${label} must be one of ${oneOf([...values, OTHER])} (got ${shown(value)})`);
  }
}

function checkTime(problems: string[], label: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    problems.push(`${label} must be a time in milliseconds since 1970 (got ${shown(value)})`);
  }
}

/** Every problem with a would-be profile, in plain words; [] when it is a valid profile. */
export function validateProfile(p: unknown): string[] {
  if (!isRecord(p)) return [`a profile must be an object (got ${shown(p)})`];
  const problems: string[] = [];

  if (typeof p.id !== 'string' || p.id.trim() === '') problems.push(`id must be a non-empty text (got ${shown(p.id)})`);

  if (typeof p.name !== 'string') problems.push(`name must be a text (got ${shown(p.name)})`);
  else if (p.name.trim() === '') problems.push('name must not be empty');
  else if ([...p.name].length > MAX_NAME_LENGTH) problems.push(`name must be at most ${MAX_NAME_LENGTH} characters (has ${[...p.name].length})`);

  if (typeof p.age !== 'number' || !Number.isInteger(p.age) || p.age < MIN_AGE || p.age > MAX_AGE) {
    problems.push(`age must be a whole number from ${MIN_AGE} to ${MAX_AGE} (got ${shown(p.age)})`);
  }
  checkVocabulary(problems, 'gender', p.gender, GENDERS);
  checkVocabulary(problems, 'religion', p.religion, RELIGIONS);
  checkVocabulary(problems, 'physical condition', p.physical, PHYSICAL_CONDITIONS);
  checkVocabulary(problems, 'mental condition', p.mental, MENTAL_CONDITIONS);

  if (!isRecord(p.choices)) problems.push(`choices must be an object of category → "ban" or "allow" (got ${shown(p.choices)})`);
  else {
    for (const [category, choice] of Object.entries(p.choices)) {
      if (!(CATEGORIES as readonly string[]).includes(category)) {
        problems.push(`choices names an unknown category "${category}" (known: ${CATEGORIES.join(', ')})`);
      } else if (choice !== 'ban' && choice !== 'allow') {
        problems.push(`the choice for ${category} must be "ban" or "allow" (got ${shown(choice)})`);
      }
    }
  }

  if (p.actions !== undefined) {
    if (!isRecord(p.actions)) problems.push(`actions must be an object of category → "block" or "steer" (got ${shown(p.actions)})`);
    else {
      for (const [category, action] of Object.entries(p.actions)) {
        if (action !== 'block' && action !== 'steer') {
          problems.push(`the action for ${category} must be "block" or "steer" (got ${shown(action)})`);
        }
      }
    }
  }

  if (!Array.isArray(p.customWords)) problems.push(`customWords must be a list of words or phrases (got ${shown(p.customWords)})`);
  else {
    if (p.customWords.length > MAX_CUSTOM_WORDS) problems.push(`customWords has ${p.customWords.length} entries; at most ${MAX_CUSTOM_WORDS} are allowed`);
    const seen = new Set<string>();
    p.customWords.forEach((w, i) => {
      if (typeof w !== 'string') problems.push(`custom word ${i + 1} must be a text (got ${shown(w)})`);
      else if (w.trim() === '') problems.push(`custom word ${i + 1} is empty`);
      else if ([...w].length > MAX_CUSTOM_WORD_LENGTH) problems.push(`custom word ${i + 1} is longer than ${MAX_CUSTOM_WORD_LENGTH} characters`);
      else if (seen.has(w.trim().toLowerCase())) problems.push(`custom word ${i + 1} ("${w}") is listed twice`);
      else seen.add(w.trim().toLowerCase());
    });
  }

  if (p.explanationStyle !== 'child' && p.explanationStyle !== 'adult') {
    problems.push(`explanationStyle must be "child" or "adult" (got ${shown(p.explanationStyle)})`);
  }
  if (typeof p.protected !== 'boolean') problems.push(`protected must be true or false (got ${shown(p.protected)})`);
  if (p.preset !== undefined && !(PROFILE_PRESETS as readonly unknown[]).includes(p.preset)) {
    problems.push(`preset must be one of ${oneOf(PROFILE_PRESETS)} (got ${shown(p.preset)})`);
  }
  if (p.logPrompts !== undefined && typeof p.logPrompts !== 'boolean') {
    problems.push(`logPrompts must be true or false (got ${shown(p.logPrompts)})`);
  }
  if (p.allowIncompleteModel !== undefined && typeof p.allowIncompleteModel !== 'boolean') {
    problems.push(`allowIncompleteModel must be true or false (got ${shown(p.allowIncompleteModel)})`);
  }
  if (p.allowOptions !== undefined && typeof p.allowOptions !== 'boolean') {
    problems.push(`allowOptions must be true or false (got ${shown(p.allowOptions)})`);
  }
  if (p.colour !== undefined && !(PROFILE_COLOURS as readonly unknown[]).includes(p.colour)) {
    problems.push(`colour must be one of ${oneOf(PROFILE_COLOURS)} (got ${shown(p.colour)})`);
  }
  checkTime(problems, 'createdAt', p.createdAt);
  checkTime(problems, 'updatedAt', p.updatedAt);
  if (typeof p.createdAt === 'number' && typeof p.updatedAt === 'number' && p.updatedAt < p.createdAt) {
    problems.push('updatedAt must not be earlier than createdAt');
  }
  return problems;
}

/** The fields set to "other": values outside PSA's vocabulary, so outside what the adapter was trained on. */
export function outOfVocabulary(p: Profile): string[] {
  const fields = ['gender', 'religion', 'physical', 'mental'] as const;
  return fields.filter((f) => p[f] === OTHER);
}

/** The fields that fill PSA's embedding template, with the policy's final (sorted) lists. */
export function profileToPsaFields(p: Profile, policy: Policy): PsaFields {
  return {
    Age: p.age,
    Age_Group: ageGroupOf(p.age),
    Gender: p.gender,
    Religion: p.religion,
    Physical_Condition: p.physical,
    Mental_Condition: p.mental,
    Banned_Categories: [...policy.banned],
    Allowed_Categories: [...policy.allowed],
  };
}
