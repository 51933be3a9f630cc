// The structural check of a Profile record against the contract in src/shared/profile.ts, used before every save
// and on every imported file. Storage may not import src/safety (siblings), so this is its own check of types,
// ranges and vocabularies; the plain-language rules of what a parent may choose stay in src/safety.
// It also builds a clean copy holding only the contract's fields, so nothing foreign (extra keys, "__proto__",
// objects with odd prototypes) reaches IndexedDB or the app.

import {
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
  type Profile,
} from '../shared/profile';

export const LIMITS = {
  idChars: 200,
  nameChars: 200,
  customWords: 500,
  customWordChars: 200,
  actions: 100,
  actionKeyChars: 100,
} as const;

/** Keys never copied from outside data: they would reach Object.prototype through a careless copy. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

type Check = (value: unknown, at: string, problems: string[]) => unknown;

const isPlainObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};

const list = (xs: readonly string[]) => xs.join(', ');
const chars = (s: string) => [...s].length;

const text = (max: number): Check => (v, at, problems) => {
  if (typeof v !== 'string' || v.trim() === '' || chars(v) > max) {
    problems.push(`${at} must be a non-empty text of at most ${max} characters`);
    return undefined;
  }
  return v;
};

const oneOf = (values: readonly string[]): Check => (v, at, problems) => {
  if (typeof v !== 'string' || !values.includes(v)) {
    problems.push(`${at} must be one of: ${list(values)}`);
    return undefined;
  }
  return v;
};

const bool: Check = (v, at, problems) => {
  if (typeof v !== 'boolean') problems.push(`${at} must be true or false`);
  return v;
};

const timestamp: Check = (v, at, problems) => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) problems.push(`${at} must be a time in milliseconds (a whole number ≥ 0)`);
  return v;
};

const optional = (check: Check): Check => (v, at, problems) => (v === undefined ? undefined : check(v, at, problems));

/** A plain object whose keys pass `keyOk` and whose values pass `valueCheck`; copied key by key into a fresh object. */
const record = (keyProblem: (k: string) => string | undefined, valueCheck: Check, maxKeys: number): Check => (v, at, problems) => {
  if (!isPlainObject(v)) {
    problems.push(`${at} must be an object`);
    return undefined;
  }
  const keys = Object.keys(v);
  if (keys.length > maxKeys) {
    problems.push(`${at} has ${keys.length} entries (at most ${maxKeys})`);
    return undefined;
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const bad = FORBIDDEN_KEYS.has(k) ? `is not allowed as a key` : keyProblem(k);
    if (bad) {
      problems.push(`${at}.${k} ${bad}`);
      continue;
    }
    out[k] = valueCheck(v[k], `${at}.${k}`, problems);
  }
  return out;
};

const customWords: Check = (v, at, problems) => {
  if (!Array.isArray(v)) {
    problems.push(`${at} must be a list of words or phrases`);
    return undefined;
  }
  if (v.length > LIMITS.customWords) {
    problems.push(`${at} has ${v.length} entries (at most ${LIMITS.customWords})`);
    return undefined;
  }
  const word = text(LIMITS.customWordChars);
  return v.map((w, i) => word(w, `${at}[${i}]`, problems));
};

const age: Check = (v, at, problems) => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < MIN_AGE || v > MAX_AGE) problems.push(`${at} must be a whole number from ${MIN_AGE} to ${MAX_AGE}`);
  return v;
};

/**
 * One check per field of Profile. `satisfies` makes this table complete: a field added to the contract fails the
 * typecheck here until it gets a check (so a save can never silently drop it).
 */
const FIELD_CHECKS = {
  id: text(LIMITS.idChars),
  name: text(LIMITS.nameChars),
  age,
  gender: oneOf([...GENDERS, OTHER]),
  religion: oneOf([...RELIGIONS, OTHER]),
  physical: oneOf([...PHYSICAL_CONDITIONS, OTHER]),
  mental: oneOf([...MENTAL_CONDITIONS, OTHER]),
  choices: record((k) => ((CATEGORIES as readonly string[]).includes(k) ? undefined : `is not one of PSA's categories (${list(CATEGORIES)})`), oneOf(['ban', 'allow']), CATEGORIES.length),
  actions: optional(record((k) => (chars(k) > LIMITS.actionKeyChars ? `is a category name over ${LIMITS.actionKeyChars} characters` : undefined), oneOf(['block', 'steer']), LIMITS.actions)),
  customWords,
  explanationStyle: oneOf(['child', 'adult']),
  protected: bool,
  preset: optional(oneOf(PROFILE_PRESETS)),
  logPrompts: optional(bool),
  allowIncompleteModel: optional(bool),
  allowOptions: optional(bool),
  colour: optional(oneOf(PROFILE_COLOURS)),
  createdAt: timestamp,
  updatedAt: timestamp,
} satisfies { [K in keyof Required<Profile>]: Check };

const REQUIRED = new Set<string>(['id', 'name', 'age', 'gender', 'religion', 'physical', 'mental', 'choices', 'customWords', 'explanationStyle', 'protected', 'createdAt', 'updatedAt'] satisfies (keyof Profile)[]);

export interface ProfileCheck {
  /** A fresh copy with only the contract's fields (present only when there are no problems). */
  profile?: Profile;
  /** Each problem in words, naming the field by its path, e.g. "profiles[2].age must be a whole number from 0 to 100". */
  problems: string[];
}

/**
 * Checks `value` as a Profile. `at` prefixes the field paths in the messages ("profile", "profiles[2]").
 * `unknownFields`: 'reject' (a save: only a bad cast can bring one) or 'drop' (an import: a file from a newer app
 * version may carry optional fields this one does not know; they are left out, never copied).
 */
export function checkProfile(value: unknown, at = 'profile', unknownFields: 'reject' | 'drop' = 'reject'): ProfileCheck {
  const problems: string[] = [];
  if (!isPlainObject(value)) return { problems: [`${at} must be an object`] };
  const out: Record<string, unknown> = {};
  for (const [field, check] of Object.entries(FIELD_CHECKS) as [string, Check][]) {
    const present = Object.hasOwn(value, field) && value[field] !== undefined;
    if (!present) {
      if (REQUIRED.has(field)) problems.push(`${at}.${field} is missing`);
      continue;
    }
    const copy = check(value[field], `${at}.${field}`, problems);
    if (copy !== undefined) out[field] = copy;
  }
  if (unknownFields === 'reject') {
    for (const k of Object.keys(value)) if (!Object.hasOwn(FIELD_CHECKS, k)) problems.push(`${at}.${k} is not a profile field`);
  }
  return problems.length ? { problems } : { profile: out as unknown as Profile, problems };
}
