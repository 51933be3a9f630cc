// Each of PSA's categories for the profile being edited: banned or allowed, why (the policy's reasons), who
// decided (suggestion, parent, or the floor), and the parent's control: follow the suggestion, ban, or allow.
// "Allow" is disabled where the floor keeps the category banned whatever the parent chooses.
import { CATEGORIES, type Category, type CategoryChoice, type Policy, type Profile } from '../../shared/profile';
import { choiceOf } from '../../state/profiles-slice';

const SOURCE_WORDS = { suggested: 'suggested', parent: 'your choice', floor: 'always, under 18 (cannot be lowered)' } as const;

interface Props {
  profile: Profile;
  policy: Policy;
  /** Policy of the profile with `c` set to allow: tells whether the floor would keep it banned anyway. */
  floorHolds: (c: Category) => boolean;
  onChange: (c: Category, choice: CategoryChoice | 'follow') => void;
}

export function CategoryControls({ profile, policy, floorHolds, onChange }: Props) {
  return (
    <fieldset className="categories">
      <legend>What pictures may show</legend>
      <ul>
        {CATEGORIES.map((c) => {
          const d = policy.decisions[c];
          const floor = floorHolds(c);
          const id = `cat-${c}`;
          return (
            <li key={c} data-testid={`profile.category.${c}`} data-state={d.banned ? 'banned' : 'allowed'} data-source={d.source} className={d.banned ? 'banned' : 'allowed'}>
              <div className="cat-head">
                <label htmlFor={id}>
                  <strong>{c}</strong>: {d.banned ? 'banned' : 'allowed'} <span className="source">({SOURCE_WORDS[d.source]})</span>
                </label>
                <select
                  id={id}
                  data-testid={`profile.category.${c}.choice`}
                  value={choiceOf(profile, c)}
                  onChange={(e) => onChange(c, e.target.value as CategoryChoice | 'follow')}
                >
                  <option value="follow">follow the suggestion ({d.suggested ? 'ban' : 'allow'})</option>
                  <option value="ban">ban</option>
                  <option value="allow" disabled={floor}>
                    allow{floor ? ' (not possible under 18)' : ''}
                  </option>
                </select>
              </div>
              {d.reasons.length > 0 && (
                <ul className="reasons">
                  {d.reasons.map((r) => (
                    <li key={r}>{r}</li>
                  ))}
                </ul>
              )}
            </li>
          );
        })}
      </ul>
    </fieldset>
  );
}
