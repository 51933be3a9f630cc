// The Profiles panel: which profile is active, the family's profiles, a new one from a preset, the editor and the
// parent lock. Every change goes through the profiles slice, which enforces the lock. In first-run `setup` it shows
// only what a new family needs (the lock, a new profile); the parent screen adds the log, files and erase beside it.
import { useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { PROFILE_PRESETS, type Profile, type ProfilePreset } from '../../shared/profile';
import { useApp } from '../../state/store';
import { Avatar } from '../shell/Avatar';
import { LockIcon } from '../shell/LockIcon';
import { ParentLock } from './ParentLock';
import { ProfileEditor } from './ProfileEditor';
import { ProfileMessages } from '../shell/ProfileMessages';
import { PRESET_LABELS, profileSummary } from '../lib/vocabulary';

export function ProfilesPanel({ setup = false }: { setup?: boolean }) {
  const { profiles, activeProfileId, loaded, selectProfile, draftFromPreset, clear } = useApp(
    useShallow((s) => ({
      profiles: s.profiles,
      activeProfileId: s.activeProfileId,
      loaded: s.profilesLoaded,
      selectProfile: s.selectProfile,
      draftFromPreset: s.draftFromPreset,
      clear: s.clearProfileMessages,
    })),
  );
  const [preset, setPreset] = useState<ProfilePreset>('child');
  const [editing, setEditing] = useState<{ profile: Profile; isNew: boolean; n: number }>();
  const open = (profile: Profile, isNew: boolean) => {
    clear();
    // `n` remounts the editor so its fields start from this profile.
    setEditing((e) => ({ profile, isNew, n: (e?.n ?? 0) + 1 }));
  };

  return (
    <section className="panel profiles" aria-labelledby="profiles-title">
      <h2 id="profiles-title">{setup ? 'Add a profile' : 'Profiles'}</h2>
      {setup && <p className="hint">Start from a preset (a child's profile is protected by the parent PIN), then adjust it.</p>}
      {!setup && (
        <label>
          Active profile (every picture is made for it)
          <select
            data-testid="profile.select"
            value={activeProfileId ?? ''}
            disabled={!loaded}
            onChange={(e) => void selectProfile(e.target.value || undefined)}
          >
            <option value="">no profile (no personal safety)</option>
            {profiles.map((p) => (
              <option key={p.id} value={p.id}>
                {p.name} ({profileSummary(p)})
              </option>
            ))}
          </select>
        </label>
      )}

      {!setup && profiles.length > 0 && (
        <ul className="profile-list" aria-label="Saved profiles" data-testid="profile.list">
          {profiles.map((p) => (
            <li key={p.id} data-testid="profile.item" data-profile-id={p.id} data-active={p.id === activeProfileId ? 'yes' : 'no'}>
              <Avatar profile={p} size={28} />
              <span className="name">
                {p.protected && <LockIcon />}
                {p.name}
              </span>{' '}
              <span className="hint">{profileSummary(p)}</span>
              {p.id === activeProfileId && <span className="tag">active</span>}
              <button type="button" data-testid="profile.edit" onClick={() => open(p, false)}>
                Edit
              </button>
            </li>
          ))}
        </ul>
      )}

      <div className="row">
        <label>
          New profile from
          <select data-testid="profile.preset" value={preset} onChange={(e) => setPreset(e.target.value as ProfilePreset)}>
            {PROFILE_PRESETS.map((p) => (
              <option key={p} value={p}>
                {PRESET_LABELS[p]}
              </option>
            ))}
          </select>
        </label>
        <button data-testid="profile.new" type="button" onClick={() => open(draftFromPreset(preset), true)}>
          New profile
        </button>
      </div>

      <ProfileMessages />

      {editing && (
        <ProfileEditor
          key={editing.n}
          initial={editing.profile}
          isNew={editing.isNew}
          onDone={(saved) => (saved ? setEditing((e) => ({ profile: saved, isNew: false, n: (e?.n ?? 0) + 1 })) : setEditing(undefined))}
        />
      )}

      <ParentLock />
    </section>
  );
}
