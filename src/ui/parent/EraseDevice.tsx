// "Erase everything on this device", in the parent area: two steps (the button, then a confirmation that says
// what goes), then the PIN again (the one dialog), then a fresh load (at the app's start) into a first visit.
import { useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useApp } from '../../state/store';
import { describeError } from '../lib/messages';

export function EraseDevice() {
  const { eraseEverything, error } = useApp(useShallow((s) => ({ eraseEverything: s.eraseEverything, error: s.eraseError })));
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const erase = async () => {
    setBusy(true);
    try {
      // A fresh load without the screen's address: the device starts as a first visit, on the first-run screen.
      if (await eraseEverything()) location.replace(location.pathname + location.search);
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };
  return (
    <section className="panel" aria-labelledby="erase-title">
      <h2 id="erase-title">This device</h2>
      {!confirming ? (
        <button data-testid="parent.erase" type="button" className="danger" onClick={() => setConfirming(true)}>
          Erase everything on this device…
        </button>
      ) : (
        <div role="group" aria-label="Confirm erase">
          <p>
            This deletes every profile, the parent PIN, the parent log, every kept picture and every downloaded model
            on this device. It cannot be undone.
          </p>
          <button data-testid="parent.erase.confirm" type="button" className="danger" disabled={busy} onClick={() => void erase()}>
            Yes, erase everything
          </button>{' '}
          <button type="button" onClick={() => setConfirming(false)} disabled={busy}>
            Keep everything
          </button>
        </div>
      )}
      {error && (
        <p role="alert" className="message error" data-testid="parent.erase.error">
          {describeError(error).title} {error.message}
        </p>
      )}
    </section>
  );
}
