// The first-run question: shown while nobody has been chosen — a new device, or one whose stored data was cleared
// (site data removed, evicted, a private window). Until a person answers, Generate makes nothing: an emptied store
// must never quietly mean "no personal safety". "Just me" makes an adult profile with no lock; "My family" points to
// the parent PIN and a child's profile; "No profile" is the deliberate choice of no personal safety.
import { useShallow } from 'zustand/react/shallow';
import { useApp } from '../../state/store';

export function FirstRun() {
  const { show, saveProfile, selectProfile, draftFromPreset } = useApp(
    useShallow((s) => ({
      show: s.profilesLoaded && !s.activeProfileId && !s.noProfileChosen,
      saveProfile: s.saveProfile,
      selectProfile: s.selectProfile,
      draftFromPreset: s.draftFromPreset,
    })),
  );
  if (!show) return null;
  const justMe = async () => {
    const me = { ...draftFromPreset('adult', 'Me'), protected: false };
    if (await saveProfile(me)) await selectProfile(me.id);
  };
  const family = () => {
    const field = document.querySelector<HTMLInputElement>('[data-testid="lock.new"]');
    field?.scrollIntoView({ block: 'center' });
    field?.focus();
  };
  return (
    <section className="panel first-run" aria-labelledby="first-run-title" data-testid="setup">
      <h2 id="first-run-title">Who uses this device?</h2>
      <p>Pictures are made for a person's profile. Nothing is made until someone is chosen.</p>
      <div className="row">
        <button data-testid="setup.me" type="button" onClick={() => void justMe()}>
          Just me (an adult, no lock)
        </button>
        <button data-testid="setup.family" type="button" onClick={family}>
          My family (set a parent PIN, then add profiles)
        </button>
        <button data-testid="setup.none" type="button" onClick={() => void selectProfile(undefined)}>
          No profile (no personal safety)
        </button>
      </div>
    </section>
  );
}
