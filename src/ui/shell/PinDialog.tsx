// The one PIN dialog (lock.dialog): every action that needs the parent PIN for an existing lock asks here — unlock,
// a protected profile, switching away from it, models, the parent log, clearing it, changing or removing the PIN.
// A native modal <dialog>: focus moves into it, Escape cancels, and the page behind it cannot be clicked. A wrong
// PIN keeps it open and says how long to wait; the PIN lives in this field only until it is sent.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useApp } from '../../state/store';
import { describeProfileError, PIN_PURPOSE_TEXT } from '../lib/messages';
import { useNow } from '../hooks/useNow';

export function PinDialog() {
  const { prompt, attach, answerPin, cancelPin } = useApp(
    useShallow((s) => ({ prompt: s.pinPrompt, attach: s.attachPinDialog, answerPin: s.answerPin, cancelPin: s.cancelPin })),
  );
  const ref = useRef<HTMLDialogElement>(null);
  const [pin, setPin] = useState('');
  const now = useNow(!!prompt?.error?.retryAt);
  useEffect(() => attach(), [attach]);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (prompt && !d.open) d.showModal();
    if (!prompt && d.open) d.close();
  }, [prompt]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const typed = pin;
    setPin('');
    void answerPin(typed);
  };
  const waiting = !!prompt?.error?.retryAt && prompt.error.retryAt > now;
  return (
    <dialog
      ref={ref}
      className="pin-dialog"
      data-testid="lock.dialog"
      aria-labelledby="pin-dialog-title"
      onCancel={(e) => {
        e.preventDefault();
        setPin('');
        cancelPin();
      }}
    >
      {prompt && (
        <form onSubmit={submit}>
          <h2 id="pin-dialog-title">{PIN_PURPOSE_TEXT[prompt.purpose]}</h2>
          <label>
            Parent PIN or passphrase
            <input data-testid="lock.pin" type="password" autoComplete="current-password" autoFocus value={pin} onChange={(e) => setPin(e.target.value)} />
          </label>
          {prompt.error && (
            <p role="alert" className="message error" data-testid="lock.error" data-code={prompt.error.code}>
              {describeProfileError(prompt.error, now)}
            </p>
          )}
          <div className="row">
            <button data-testid="lock.submit" type="submit" disabled={!pin || prompt.busy || waiting}>
              {prompt.busy ? 'Checking…' : 'OK'}
            </button>
            <button
              data-testid="lock.cancel"
              type="button"
              onClick={() => {
                setPin('');
                cancelPin();
              }}
            >
              Cancel
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}
