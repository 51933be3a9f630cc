// The parent area's door: with a lock set and the parent's session closed, the parent and settings screens show only
// "Unlock…" (the one PIN dialog, purpose 'unlock'); with the session open, or with no lock at all, they are shown.
// The screens' code is loaded only once the door is open (they are lazy). When the session ends (Lock now, idle, its
// window, another tab) the door closes again by itself.
import { useEffect, useState, type ReactNode } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useApp } from '../../state/store';
import { LockIcon } from './LockIcon';

export function ParentGate({ children }: { children: ReactNode }) {
  const { exists, until, unlock } = useApp(useShallow((s) => ({ exists: s.lock.exists, until: s.lock.unlockedUntil, unlock: s.unlock })));
  const [, rerender] = useState(0);
  const open = !exists || until > Date.now();
  useEffect(() => {
    // The session runs out by time alone: look again the moment it does.
    const left = until - Date.now();
    if (!exists || left <= 0) return;
    const t = setTimeout(() => rerender((n) => n + 1), left + 50);
    return () => clearTimeout(t);
  }, [exists, until]);
  if (open) return <div data-testid="parent.area" data-locked="no">{children}</div>;
  return (
    <section className="panel parent-locked" data-testid="parent.area" data-locked="yes" aria-labelledby="screen-title">
      <h2 className="screen-title" id="screen-title" tabIndex={-1}>
        <LockIcon /> For parents
      </h2>
      <p>Profiles, the parent lock and log, models and storage, and erasing this device are behind the parent PIN.</p>
      <button type="button" className="primary" data-testid="parent.unlock" onClick={() => void unlock()}>
        Unlock…
      </button>
    </section>
  );
}
