// Home's "who is this for": the active profile's avatar and name, the switcher (profile.select; switching away from
// a protected profile asks for the parent PIN — the slice's rule, through the one PIN dialog), and its user
// embedding's state (from the cache, being computed with its phase and progress, ready, or failed).
import { useShallow } from 'zustand/react/shallow';
import { useApp } from '../../state/store';
import { profileSummary } from '../lib/vocabulary';
import { describeError, ENCODER_REMOVED_TEXT } from '../lib/messages';
import { Avatar } from '../shell/Avatar';
import { LockIcon } from '../shell/LockIcon';

const PHASE_WORDS = { load: 'loading the profile encoder', tokenize: 'reading the profile', run: 'computing', release: 'freeing memory' } as const;

export function ActiveProfile() {
  const { profile, profiles, activeProfileId, embedding, noneChosen, selectProfile, loaded } = useApp(
    useShallow((s) => ({
      profile: s.profiles.find((p) => p.id === s.activeProfileId),
      profiles: s.profiles,
      activeProfileId: s.activeProfileId,
      embedding: s.embedding,
      noneChosen: s.noProfileChosen,
      selectProfile: s.selectProfile,
      loaded: s.profilesLoaded,
    })),
  );
  const p = embedding.progress;
  return (
    <div className="active-profile">
      <div className="who">
        <div className="who-card" data-testid="generate.profile" data-profile-id={profile?.id ?? ''} data-colour={profile ? (profile.colour ?? 'blue') : ''}>
          <Avatar profile={profile} />
          <div>
            <strong className="who-name">
              {profile ? (
                <>
                  {profile.protected && <LockIcon />}
                  {profile.name}
                </>
              ) : noneChosen ? (
                'No profile — no personal safety applies'
              ) : (
                'Nobody chosen yet'
              )}
            </strong>
            {profile && <div className="hint">{profileSummary(profile)}</div>}
          </div>
        </div>
        <label className="switcher">
          Switch to
          <select data-testid="profile.select" value={activeProfileId ?? ''} disabled={!loaded} onChange={(e) => void selectProfile(e.target.value || undefined)}>
            <option value="">no profile (no personal safety)</option>
            {profiles.map((x) => (
              <option key={x.id} value={x.id}>
                {x.name}
                {x.protected ? ' (protected)' : ''}
              </option>
            ))}
          </select>
        </label>
      </div>
      <span data-testid="generate.embedding" data-status={embedding.status} data-from-cache={embedding.fromCache ? 'yes' : 'no'} className="hint">
        {embedding.status === 'computing' && (
          <>
            Preparing the profile: {p ? PHASE_WORDS[p.phase] : 'starting'}
            {p?.total ? (
              <progress max={p.total} value={p.loaded ?? 0}>
                {Math.round((100 * (p.loaded ?? 0)) / p.total)}%
              </progress>
            ) : null}
          </>
        )}
        {embedding.status === 'ready' && `Profile ready${embedding.fromCache ? ' (saved on this device)' : embedding.ms ? ` (${Math.round(embedding.ms)} ms)` : ''}`}
        {embedding.status === 'unsupported' && 'This model has no profile encoder: no personalization'}
        {embedding.status === 'encoder-removed' && <span role="alert">{ENCODER_REMOVED_TEXT}</span>}
        {embedding.status === 'error' && embedding.error && <span role="alert">The profile could not be prepared: {describeError(embedding.error).title}</span>}
      </span>
    </div>
  );
}
