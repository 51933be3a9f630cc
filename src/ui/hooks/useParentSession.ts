// When the parent's session (lock-slice.ts: one PIN entry opens it) closes again from the screen's side: after
// PARENT_IDLE_MS with no key, pointer or touch input anywhere, and when the device goes back to Home from another
// screen (the parent hands it over). Going from setup straight to Home does not count: the parent who just chose the
// PIN may still add profiles. The slice's own window (UNLOCK_MS) still ends it however busy the parent is.
import { useEffect, useRef } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useApp } from '../../state/store';
import type { Screen } from '../lib/screens';

/** Minutes of no input after which an open parent session closes. */
export const PARENT_IDLE_MS = 5 * 60_000;

export function useParentSession(screen: Screen | 'setup'): void {
  const { open, lockNow } = useApp(useShallow((s) => ({ open: s.lock.exists && s.lock.unlockedUntil > 0, lockNow: s.lockNow })));
  const previous = useRef(screen);

  useEffect(() => {
    const from = previous.current;
    previous.current = screen;
    if (screen === 'home' && from !== 'home' && from !== 'setup' && useApp.getState().isUnlocked()) lockNow();
  }, [screen, lockNow]);

  useEffect(() => {
    if (!open) return;
    let timer: ReturnType<typeof setTimeout>;
    const restart = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        if (useApp.getState().isUnlocked()) lockNow();
      }, PARENT_IDLE_MS);
    };
    const events = ['pointerdown', 'keydown', 'wheel', 'touchstart'] as const;
    for (const e of events) window.addEventListener(e, restart, { passive: true });
    restart();
    return () => {
      clearTimeout(timer);
      for (const e of events) window.removeEventListener(e, restart);
    };
  }, [open, lockNow]);
}
