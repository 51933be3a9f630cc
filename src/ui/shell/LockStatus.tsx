// The parent lock's state in the header, on every screen (profile.lock: none / locked / unlocked, with the failures
// count): "Unlock…" while locked (the one PIN dialog), and while the parent's session is open its time left and
// "Lock now". The wait after wrong tries is read from storage, so it survives a reload and holds in every tab.
// Setting, changing and removing the PIN are in the parent area (parent/ParentLock.tsx).
import { useShallow } from 'zustand/react/shallow';
import { useApp } from '../../state/store';
import { useNow } from '../hooks/useNow';
import { formatWait } from '../lib/messages';
import { LockIcon } from './LockIcon';

export function LockStatus() {
  const { lock, unlock, lockNow, busy } = useApp(useShallow((s) => ({ lock: s.lock, unlock: s.unlock, lockNow: s.lockNow, busy: !!s.pinPrompt })));
  // Tick only while a wait or an open session is running out (each shown as a countdown).
  const now = useNow(lock.retryAt > Date.now() || lock.unlockedUntil > Date.now());
  const waiting = lock.retryAt > now;
  const open = lock.exists && lock.unlockedUntil > now;
  const state = !lock.exists ? 'none' : open ? 'unlocked' : 'locked';
  return (
    <div className="lock-status">
      <span data-testid="profile.lock" data-state={state} data-failures={lock.failures} className={`lock-badge lock-${state}`} role="status">
        {state !== 'none' && <LockIcon />}
        {state === 'none' ? 'No parent PIN' : state === 'unlocked' ? `Parent area open (${formatWait(lock.unlockedUntil - now)} left)` : 'Parent area locked'}
      </span>
      {state === 'locked' && (
        <button data-testid="profile.unlock" type="button" disabled={busy} onClick={() => void unlock()}>
          Unlock…
        </button>
      )}
      {state === 'unlocked' && (
        <button data-testid="profile.lock.now" type="button" onClick={lockNow}>
          Lock now
        </button>
      )}
      {waiting && (
        <p data-testid="profile.lock.wait" className="warn" role="alert">
          Too many wrong tries: wait {formatWait(lock.retryAt - now)} before the next one.
        </p>
      )}
    </div>
  );
}
