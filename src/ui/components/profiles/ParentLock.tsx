// The parent lock: its indicator (profile.lock), one PIN field (profile.pin) used to set, unlock, change or remove
// it, and the wait after wrong tries (read from storage, so it survives a reload and holds in every tab).
import { useState, type FormEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useApp } from '../../../state/store';
import { formatWait } from '../../messages';
import { useNow } from './useNow';

export function ParentLock() {
  const { lock, unlock, lockNow, setPin, removePin } = useApp(
    useShallow((s) => ({ lock: s.lock, unlock: s.unlock, lockNow: s.lockNow, setPin: s.setPin, removePin: s.removePin })),
  );
  const [pin, setPinText] = useState('');
  const [newPin, setNewPin] = useState('');
  const [busy, setBusy] = useState(false);
  // Tick only while a wait or an open session is running out (each shown as a countdown).
  const now = useNow(lock.retryAt > Date.now() || lock.unlockedUntil > Date.now());
  const waiting = lock.retryAt > now;
  const open = lock.exists && lock.unlockedUntil > now;
  const state = !lock.exists ? 'none' : open ? 'unlocked' : 'locked';

  // Each action clears the typed secrets afterwards: they live only in this form, never in the store.
  const run = (fn: () => Promise<unknown>) => async (e?: FormEvent) => {
    e?.preventDefault();
    setBusy(true);
    try {
      await fn();
    } finally {
      setBusy(false);
      setPinText('');
      setNewPin('');
    }
  };

  return (
    <form className="lock" aria-label="Parent lock" onSubmit={run(() => (state === 'none' ? setPin(pin) : unlock(pin)))}>
      <h3>
        Parent lock{' '}
        <span data-testid="profile.lock" data-state={state} data-failures={lock.failures} className={`lock-badge lock-${state}`} role="status">
          {state === 'none' ? 'no PIN set' : state === 'unlocked' ? `open (${formatWait(lock.unlockedUntil - now)} left)` : 'locked'}
        </span>
      </h3>
      {waiting && (
        <p data-testid="profile.lock.wait" className="warn" role="alert">
          Too many wrong tries: wait {formatWait(lock.retryAt - now)} before the next one.
        </p>
      )}
      <div className="row">
        <label>
          {state === 'none' ? 'New parent PIN (4+ digits) or passphrase' : state === 'unlocked' ? 'Current PIN (to change or remove it)' : 'Parent PIN'}
          <input
            data-testid="profile.pin"
            type="password"
            autoComplete={state === 'none' ? 'new-password' : 'current-password'}
            value={pin}
            onChange={(e) => setPinText(e.target.value)}
          />
        </label>
        {state === 'none' && (
          <button data-testid="profile.pin.set" type="submit" disabled={busy || !pin}>
            Set PIN
          </button>
        )}
        {state === 'locked' && (
          <button data-testid="profile.unlock" type="submit" disabled={busy || !pin}>
            Unlock
          </button>
        )}
        {state === 'unlocked' && (
          <button data-testid="profile.lock.now" type="button" onClick={lockNow}>
            Lock now
          </button>
        )}
      </div>
      {state === 'unlocked' && (
        <div className="row">
          <label>
            New PIN or passphrase
            <input data-testid="profile.pin.new" type="password" autoComplete="new-password" value={newPin} onChange={(e) => setNewPin(e.target.value)} />
          </label>
          <button data-testid="profile.pin.change" type="button" disabled={busy || !pin || !newPin} onClick={run(() => setPin(newPin, pin))}>
            Change PIN
          </button>
          <button data-testid="profile.pin.remove" type="button" disabled={busy || !pin} onClick={run(() => removePin(pin))}>
            Remove lock
          </button>
        </div>
      )}
    </form>
  );
}
