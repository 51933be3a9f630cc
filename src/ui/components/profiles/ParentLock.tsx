// The parent lock: its indicator (profile.lock), a field (lock.new) to set the first PIN, Unlock (which opens the
// one PIN dialog, lock.dialog), and while open: Lock now, a new PIN to change it, Remove lock (the dialog asks for
// the current PIN). The wait after wrong tries is read from storage, so it survives a reload and holds in every tab.
import { useState, type FormEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useApp } from '../../../state/store';
import { formatWait, isShortPin, SHORT_PIN_HINT } from '../../messages';
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
    <form className="lock" aria-label="Parent lock" onSubmit={run(() => (state === 'none' ? setPin(pin) : unlock()))}>
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
      {state === 'none' && (
        <div className="row">
          <label>
            New parent PIN (4+ digits) or passphrase
            <input data-testid="lock.new" type="password" autoComplete="new-password" value={pin} onChange={(e) => setPinText(e.target.value)} />
          </label>
          <button data-testid="lock.new.set" type="submit" disabled={busy || !pin}>
            Set PIN
          </button>
          {isShortPin(pin) && <p className="hint" data-testid="lock.pin.hint">{SHORT_PIN_HINT}</p>}
        </div>
      )}
      {state === 'locked' && (
        <div className="row">
          <button data-testid="profile.unlock" type="submit" disabled={busy}>
            Unlock…
          </button>
        </div>
      )}
      {state === 'unlocked' && (
        <div className="row">
          <button data-testid="profile.lock.now" type="button" onClick={lockNow}>
            Lock now
          </button>
          <label>
            New PIN or passphrase
            <input data-testid="profile.pin.new" type="password" autoComplete="new-password" value={newPin} onChange={(e) => setNewPin(e.target.value)} />
          </label>
          <button data-testid="profile.pin.change" type="button" disabled={busy || !newPin} onClick={run(() => setPin(newPin))}>
            Change PIN…
          </button>
          <button data-testid="profile.pin.remove" type="button" disabled={busy} onClick={run(() => removePin())}>
            Remove lock…
          </button>
          {isShortPin(newPin) && <p className="hint" data-testid="lock.pin.hint">{SHORT_PIN_HINT}</p>}
        </div>
      )}
    </form>
  );
}
