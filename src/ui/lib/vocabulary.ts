// PSA's vocabulary in plain words for the profile form. The stored values stay PSA's own (they fill the embedding
// template); only the labels here are for people. "other" is offered everywhere and flagged, because the model
// was trained only on PSA's values.
import {
  AGE_GROUPS,
  GENDERS,
  MENTAL_CONDITIONS,
  OTHER,
  PHYSICAL_CONDITIONS,
  RELIGIONS,
  type Profile,
  type ProfilePreset,
} from '../../shared/profile';

export const OTHER_LABEL = 'other (outside what the model was trained on)';

export interface FieldChoices {
  field: 'gender' | 'religion' | 'physical' | 'mental';
  label: string;
  options: { value: string; label: string }[];
}

const withOther = (options: { value: string; label: string }[]) => [...options, { value: OTHER, label: OTHER_LABEL }];

const PHYSICAL_WORDS: Record<(typeof PHYSICAL_CONDITIONS)[number], string> = {
  healthy: 'none (healthy)',
  'visual impairment': 'visual impairment',
  'hearing impairment': 'hearing impairment',
  'intellectual disability': 'intellectual disability',
};

const MENTAL_WORDS: Record<(typeof MENTAL_CONDITIONS)[number], string> = {
  healthy: 'none (healthy)',
  depression: 'depression',
  anxiety: 'anxiety',
  war: 'trauma: war',
  'sexual assault': 'trauma: sexual assault',
  'major accidents': 'trauma: a major accident',
  'natural disasters': 'trauma: a natural disaster',
};

export const FIELD_CHOICES: FieldChoices[] = [
  { field: 'gender', label: 'Gender', options: withOther(GENDERS.map((g) => ({ value: g, label: g }))) },
  {
    field: 'religion',
    label: 'Religion',
    options: withOther(RELIGIONS.map((r) => ({ value: r, label: r === 'None' ? 'none' : r }))),
  },
  {
    field: 'physical',
    label: 'Physical condition',
    options: withOther(PHYSICAL_CONDITIONS.map((c) => ({ value: c, label: PHYSICAL_WORDS[c] }))),
  },
  {
    field: 'mental',
    label: 'Mental health',
    options: withOther(MENTAL_CONDITIONS.map((c) => ({ value: c, label: MENTAL_WORDS[c] }))),
  },
];

export const PRESET_LABELS: Record<ProfilePreset, string> = {
  child: 'Child (9)',
  teen: 'Teen (15)',
  adult: 'Adult (30)',
  'psa-level-0': "PSA's reference user, level 0",
  'psa-level-1': "PSA's reference user, level 1",
  'psa-level-2': "PSA's reference user, level 2",
  'psa-level-3': "PSA's reference user, level 3",
  'psa-level-4': "PSA's reference user, level 4",
  'psa-level-5': "PSA's reference user, level 5",
};

/** PSA's age band for an age, for display ("children"); undefined when out of range. */
export function ageBand(age: number): string | undefined {
  return AGE_GROUPS.find((g) => age >= g.min && age <= g.max)?.name;
}

/** One line about a profile for lists and the generate form: "9 · children · protected". */
export function profileSummary(p: Profile): string {
  return [`${p.age}`, ageBand(p.age), p.protected ? 'protected' : undefined].filter(Boolean).join(' · ');
}
