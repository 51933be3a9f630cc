// The form for one profile (new from a preset, or saved): every field with PSA's choices, the categories with
// their reasons, custom words, explanation style, protection, the avatar's colour and whether the parent log keeps
// its prompts. Saving goes through the slice, which applies
// the parent lock; nothing is stored until Save. A protected profile with no parent PIN yet asks for one right here
// (profile.pin): no dead end, and the form is kept whatever goes wrong.
import { useState, type FormEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { MAX_AGE, MIN_AGE, PROFILE_COLOURS, type Category, type CategoryChoice, type ExplanationStyle, type Profile } from '../../shared/profile';
import { useApp } from '../../state/store';
import { isShortPin, SHORT_PIN_HINT } from '../lib/messages';
import { Avatar, COLOUR_WORDS } from '../shell/Avatar';
import { CategoryControls } from './CategoryControls';
import { ageBand, FIELD_CHOICES, OTHER_LABEL } from '../lib/vocabulary';

interface Props {
  initial: Profile;
  isNew: boolean;
  onDone: (saved?: Profile) => void;
}

const wordsOf = (text: string) => [...new Set(text.split(/[\n,]/).map((w) => w.trim()).filter(Boolean))];

export function ProfileEditor({ initial, isNew, onDone }: Props) {
  const { policyOf, outOfVocabulary, problemsOf, saveProfile, deleteProfile, lockExists, setPin } = useApp(
    useShallow((s) => ({
      policyOf: s.policyOf,
      outOfVocabulary: s.outOfVocabulary,
      problemsOf: s.problemsOf,
      saveProfile: s.saveProfile,
      deleteProfile: s.deleteProfile,
      lockExists: s.lock.exists,
      setPin: s.setPin,
    })),
  );
  const [draft, setDraft] = useState<Profile>(initial);
  const [ageText, setAgeText] = useState(String(initial.age));
  const [wordsText, setWordsText] = useState(initial.customWords.join('\n'));
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [newPin, setNewPin] = useState('');

  const profile: Profile = { ...draft, customWords: wordsOf(wordsText) };
  const policy = policyOf(profile);
  const floorHolds = (c: Category) => policyOf({ ...profile, choices: { ...profile.choices, [c]: 'allow' } }).decisions[c].banned;
  const outside = outOfVocabulary(profile);
  const problems = problemsOf(profile);

  const update = (patch: Partial<Profile>) => setDraft((d) => ({ ...d, ...patch }));
  const setChoice = (c: Category, choice: CategoryChoice | 'follow') =>
    setDraft((d) => {
      const choices = { ...d.choices };
      if (choice === 'follow') delete choices[c];
      else choices[c] = choice;
      return { ...d, choices };
    });

  const save = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      // The PIN first (when this protected profile is the first thing behind the lock), then the profile.
      if (profile.protected && !lockExists && newPin && !(await setPin(newPin))) return;
      setNewPin('');
      if (await saveProfile(profile)) onDone(profile);
    } finally {
      setBusy(false);
    }
  };
  const remove = async () => {
    setConfirming(false);
    setBusy(true);
    try {
      if (await deleteProfile(initial.id)) onDone();
    } finally {
      setBusy(false);
    }
  };

  const band = ageBand(draft.age);
  return (
    <form className="editor" aria-label={isNew ? 'New profile' : `Edit ${initial.name}`} onSubmit={save} data-testid="profile.editor" data-profile-id={draft.id}>
      <h3>{isNew ? 'New profile' : `Edit “${initial.name}”`}</h3>
      <div className="grid">
        <label>
          Name (stays on this device)
          <input data-testid="profile.name" value={draft.name} onChange={(e) => update({ name: e.target.value })} required />
        </label>
        <label>
          Age
          <input
            data-testid="profile.age"
            type="number"
            inputMode="numeric"
            min={MIN_AGE}
            max={MAX_AGE}
            step={1}
            value={ageText}
            onChange={(e) => {
              setAgeText(e.target.value);
              if (e.target.value.trim() !== '') update({ age: Number(e.target.value) });
            }}
          />
          <span className="hint">{band ? `age group: ${band}` : `${MIN_AGE}–${MAX_AGE}`}</span>
        </label>
        {FIELD_CHOICES.map(({ field, label, options }) => (
          <label key={field}>
            {label}
            <select data-testid={`profile.${field}`} value={draft[field]} onChange={(e) => update({ [field]: e.target.value } as Partial<Profile>)}>
              {options.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </select>
          </label>
        ))}
      </div>
      <fieldset className="colours" data-testid="profile.colour" data-value={draft.colour ?? 'blue'}>
        <legend>Colour (shown on Home)</legend>
        {PROFILE_COLOURS.map((c) => (
          <button
            key={c}
            type="button"
            className="colour-choice"
            data-testid={`profile.colour.${c}`}
            aria-pressed={(draft.colour ?? 'blue') === c}
            onClick={() => update({ colour: c })}
          >
            <Avatar profile={{ name: draft.name || '?', colour: c }} size={28} />
            {COLOUR_WORDS[c]}
          </button>
        ))}
      </fieldset>
      {outside.length > 0 && (
        <p className="warn" data-testid="profile.outside">
          {outside.map((f) => FIELD_CHOICES.find((c) => c.field === f)?.label ?? f).join(', ')}: {OTHER_LABEL}. The model treats this as
          unknown; check the categories below yourself.
        </p>
      )}

      <CategoryControls profile={profile} policy={policy} floorHolds={floorHolds} onChange={setChoice} />

      <label>
        Blocked words or phrases (one per line)
        <textarea data-testid="profile.words" rows={3} value={wordsText} onChange={(e) => setWordsText(e.target.value)} />
      </label>
      <div className="row">
        <label>
          Explanations when something is blocked
          <select data-testid="profile.style" value={draft.explanationStyle} onChange={(e) => update({ explanationStyle: e.target.value as ExplanationStyle })}>
            <option value="child">for a child (simple words)</option>
            <option value="adult">for an adult</option>
          </select>
        </label>
        <label className="check">
          <input data-testid="profile.protected" type="checkbox" checked={draft.protected} onChange={(e) => update({ protected: e.target.checked })} />
          Protected: changing, deleting, switching away and exporting need the parent PIN
        </label>
      </div>
      <label className="check">
        <input data-testid="profile.logPrompts" type="checkbox" checked={!!draft.logPrompts} onChange={(e) => update({ logPrompts: e.target.checked || undefined })} />
        Keep the words of this profile's prompts in the parent log (otherwise the log keeps only what was decided)
      </label>
      {draft.explanationStyle === 'child' && (
        <label className="check">
          <input data-testid="profile.allowOptions" type="checkbox" checked={!!draft.allowOptions} onChange={(e) => update({ allowOptions: e.target.checked || undefined })} />
          Show “More options” (seed, steps, sampler, guidance, leave-out words) to this profile
        </label>
      )}
      {draft.protected && !lockExists && (
        <div className="row">
          <label>
            A protected profile needs a parent PIN: choose one (4+ digits) or a passphrase
            <input data-testid="profile.pin" type="password" autoComplete="new-password" value={newPin} onChange={(e) => setNewPin(e.target.value)} />
          </label>
          {isShortPin(newPin) && <p className="hint" data-testid="profile.pin.hint">{SHORT_PIN_HINT}</p>}
        </div>
      )}
      {draft.protected && (
        <label className="check">
          <input data-testid="profile.allowIncomplete" type="checkbox" checked={!!draft.allowIncompleteModel} onChange={(e) => update({ allowIncompleteModel: e.target.checked || undefined })} />
          Allow pictures on a model that lacks a safety part this profile needs (its picture check or its personal
          profile). Not recommended.
        </label>
      )}
      {problems.length > 0 && (
        <ul className="warn" data-testid="profile.problems">
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
      <div className="row">
        <button data-testid="profile.save" type="submit" disabled={busy || problems.length > 0}>
          {isNew ? 'Create profile' : 'Save changes'}
        </button>
        <button data-testid="profile.cancel" type="button" onClick={() => onDone()} disabled={busy}>
          {isNew ? 'Cancel' : 'Close'}
        </button>
        {!isNew && !confirming && (
          <button data-testid="profile.delete" type="button" className="danger" onClick={() => setConfirming(true)} disabled={busy}>
            Delete
          </button>
        )}
        {confirming && (
          <span role="group" aria-label="Confirm delete">
            Delete “{initial.name}” and the pictures kept for this profile, for good?{' '}
            <button data-testid="profile.delete.confirm" type="button" className="danger" onClick={remove}>
              Yes, delete
            </button>{' '}
            <button type="button" onClick={() => setConfirming(false)}>
              No
            </button>
          </span>
        )}
      </div>
    </form>
  );
}
