// The personal safety profile as data: PSA's vocabulary (the values its 1 001 training users have), the profile
// record the app stores, the policy it yields and the PSA fields that fill the embedding template. Shared by
// src/safety (policy, texts, guard), src/storage (stores, files), the engine (embedding) and the UI.
// Everything here is plain, structured-cloneable data; the functions that act on it live in src/safety.

/** PSA's seven categories, in PSA's order. */
export const CATEGORIES = ['Hate', 'Harassment', 'Violence', 'Self-Harm', 'Sexuality', 'Shocking', 'Propaganda'] as const;
export type Category = (typeof CATEGORIES)[number];

/** PSA's age bands (inclusive). */
export const AGE_GROUPS = [
  { name: 'infants & toddlers', min: 0, max: 3 },
  { name: 'children', min: 4, max: 12 },
  { name: 'adolescents', min: 13, max: 19 },
  { name: 'young adults', min: 20, max: 34 },
  { name: 'middle-aged', min: 35, max: 59 },
  { name: 'young elderly', min: 60, max: 74 },
  { name: 'elderly', min: 75, max: 89 },
  { name: 'long-lived elderly', min: 90, max: 100 },
] as const;
export type AgeGroup = (typeof AGE_GROUPS)[number]['name'];

export const MIN_AGE = 0;
export const MAX_AGE = 100;

/** Offered for a field whose real value is outside PSA's vocabulary; flagged as outside what the model was trained on. */
export const OTHER = 'other';

export const GENDERS = ['male', 'female'] as const;
export const RELIGIONS = ['Christianity', 'Islam', 'Buddhism', 'None'] as const;
export const PHYSICAL_CONDITIONS = ['healthy', 'visual impairment', 'hearing impairment', 'intellectual disability'] as const;
export const MENTAL_CONDITIONS = ['healthy', 'depression', 'anxiety', 'war', 'sexual assault', 'major accidents', 'natural disasters'] as const;

export type Gender = (typeof GENDERS)[number] | typeof OTHER;
export type Religion = (typeof RELIGIONS)[number] | typeof OTHER;
export type PhysicalCondition = (typeof PHYSICAL_CONDITIONS)[number] | typeof OTHER;
export type MentalCondition = (typeof MENTAL_CONDITIONS)[number] | typeof OTHER;

/** The parent's explicit choice for one category; absent = follow the suggestion. */
export type CategoryChoice = 'ban' | 'allow';
/** What the prompt guard does with a banned category (issue "guards"): stop it, or steer away from it. */
export type GuardAction = 'block' | 'steer';
export type ExplanationStyle = 'child' | 'adult';

export const PROFILE_PRESETS = ['child', 'teen', 'adult', 'psa-level-0', 'psa-level-1', 'psa-level-2', 'psa-level-3', 'psa-level-4', 'psa-level-5'] as const;
export type ProfilePreset = (typeof PROFILE_PRESETS)[number];

/** The colours a profile can wear on the home screen (its avatar), so a child recognises their own at a glance. */
export const PROFILE_COLOURS = ['blue', 'green', 'orange', 'purple', 'red', 'teal'] as const;
export type ProfileColour = (typeof PROFILE_COLOURS)[number];

export interface Profile {
  /** Random id (crypto.randomUUID), stable for the profile's life. */
  id: string;
  /** Display name. Never sent anywhere; never part of the embedding. */
  name: string;
  /** Whole years, 0–100. The age group follows from it by PSA's bands. */
  age: number;
  gender: Gender;
  religion: Religion;
  physical: PhysicalCondition;
  mental: MentalCondition;
  /** Parent's explicit choices on top of the suggested policy. */
  choices: Partial<Record<Category, CategoryChoice>>;
  /** Per banned category: block or steer (absent = the default for this profile, see src/safety). */
  actions?: Partial<Record<string, GuardAction>>;
  /** Custom blocked words or phrases. */
  customWords: string[];
  explanationStyle: ExplanationStyle;
  /** Behind the parent lock: editing, deleting, switching away and exporting need the PIN. */
  protected: boolean;
  /** The preset it was created from, if any. */
  preset?: ProfilePreset;
  /** Parent log keeps prompt texts for this profile only when true (issue "guards"). */
  logPrompts?: boolean;
  /**
   * Protected profiles only: the parent allows pictures on a model that lacks a part this profile's policy needs
   * (the image checker for a Sexuality ban, the profile encoder / user token for its embedding). Off by default.
   */
  allowIncompleteModel?: boolean;
  /** A child-style profile sees "More options" (negative prompt, seed, steps, sampler, guidance) only when true. */
  allowOptions?: boolean;
  /** The avatar's colour on home and in the switcher (absent: blue). Display only: never part of the embedding. */
  colour?: ProfileColour;
  createdAt: number;
  updatedAt: number;
}

/** One category's final state and why. */
export interface CategoryDecision {
  category: Category;
  banned: boolean;
  /** What PSA's policy suggests for this profile. */
  suggested: boolean;
  /** Who decided the final state: the suggestion, the parent's explicit choice, or the floor no choice can lower. */
  source: 'suggested' | 'parent' | 'floor';
  /** Plain-language reasons, e.g. "Violence: suggested because of a trauma history (war)". */
  reasons: string[];
}

export interface Policy {
  /** Final lists, sorted alphabetically (PSA's rendering order). */
  banned: Category[];
  allowed: Category[];
  decisions: Record<Category, CategoryDecision>;
}

/** The fields that fill PSA's embedding template, named as in PSA's users.csv. */
export interface PsaFields {
  Age: number;
  Age_Group: string;
  Gender: string;
  /** PSA's "None" is kept as "None" here; the renderer writes it as pandas read it ("nan"). */
  Religion: string;
  Physical_Condition: string;
  Mental_Condition: string;
  Banned_Categories: Category[];
  Allowed_Categories: Category[];
}
