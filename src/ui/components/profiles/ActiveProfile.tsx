// In the generate form: which profile the next picture is for, and its user embedding's state (from the cache,
// being computed with its phase and progress, ready, or failed).
import { useShallow } from 'zustand/react/shallow';
import { useApp } from '../../../state/store';
import { describeError, ENCODER_REMOVED_TEXT } from '../../messages';
import { LockIcon } from './LockIcon';
import { profileSummary } from './vocabulary';

const PHASE_WORDS = { load: 'loading the profile encoder', tokenize: 'reading the profile', run: 'computing', release: 'freeing memory' } as const;

export function ActiveProfile() {
  const { profile, embedding, noneChosen } = useApp(
    useShallow((s) => ({ profile: s.profiles.find((p) => p.id === s.activeProfileId), embedding: s.embedding, noneChosen: s.noProfileChosen })),
  );
  const p = embedding.progress;
  return (
    <div className="active-profile" data-testid="generate.profile" data-profile-id={profile?.id ?? ''}>
      <strong>For:</strong>{' '}
      {profile ? (
        <>
          {profile.protected && <LockIcon />}
          {profile.name} <span className="hint">({profileSummary(profile)})</span>
        </>
      ) : noneChosen ? (
        'no profile — no personal safety applies'
      ) : (
        'nobody chosen yet — choose who uses the app first'
      )}{' '}
      <span data-testid="generate.embedding" data-status={embedding.status} data-from-cache={embedding.fromCache ? 'yes' : 'no'} className="hint">
        {embedding.status === 'computing' && (
          <>
            · preparing the profile: {p ? PHASE_WORDS[p.phase] : 'starting'}
            {p?.total ? (
              <progress max={p.total} value={p.loaded ?? 0}>
                {Math.round((100 * (p.loaded ?? 0)) / p.total)}%
              </progress>
            ) : null}
          </>
        )}
        {embedding.status === 'ready' && `· profile ready${embedding.fromCache ? ' (saved on this device)' : embedding.ms ? ` (${Math.round(embedding.ms)} ms)` : ''}`}
        {embedding.status === 'unsupported' && '· this model has no profile encoder: no personalization'}
        {embedding.status === 'encoder-removed' && <span role="alert"> · {ENCODER_REMOVED_TEXT}</span>}
        {embedding.status === 'error' && embedding.error && (
          <span role="alert"> · the profile could not be prepared: {describeError(embedding.error).title}</span>
        )}
      </span>
    </div>
  );
}
