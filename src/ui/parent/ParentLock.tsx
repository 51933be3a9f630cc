// The parent lock's settings: a field (lock.new) to set the first PIN, and while the parent's session is open a new
// PIN to change it and Remove lock (the one PIN dialog asks for the current PIN). Its state, Unlock and Lock now are
// in the header on every screen (shell/LockStatus.tsx).
import { useState, type FormEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useApp } from '../../state/store';
import { useNow } from '../hooks/useNow';
import { isShortPin, SHORT_PIN_HINT } from '../lib/messages';

export function ParentLock() {
  const { lock, setPin, removePin } = useApp(useShallow((s) => ({ lock: s.lock, setPin: s.setPin, removePin: s.removePin })));
  const [pin, setPinText] = useState('');
  const [newPin, setNewPin] = useState('');
  const [busy, setBusy] = useState(false);
  const now = useNow(lock.unlockedUntil > Date.now());
  const state = !lock.exists ? 'none' : lock.unlockedUntil > now ? 'unlocked' : 'locked';

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
    <form className="lock" aria-labelledby="lock-title" data-testid="lock.settings" data-state={state} onSubmit={run(() => setPin(pin))}>
      <h3 id="lock-title">Parent lock</h3>
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
      {state === 'locked' && <p className="hint">A parent PIN is set. Unlock (at the top) to change or remove it.</p>}
      {state === 'unlocked' && (
        <div className="row">
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
