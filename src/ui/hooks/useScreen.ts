// The screen shown now, read from the location hash (lib/screens.ts) and followed on every change (a nav link, the
// back button, `goTo`). The hash is the only place it lives, so a reload opens the same screen.
import { useSyncExternalStore } from 'react';
import { hashOf, screenOf, type Screen } from '../lib/screens';

const subscribe = (onChange: () => void) => {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
};

export function useScreen(): Screen {
  return useSyncExternalStore(subscribe, () => screenOf(location.hash));
}

/** Shows `screen` (as a new history entry, so Back returns). */
export function goTo(screen: Screen): void {
  if (screenOf(location.hash) !== screen || location.hash !== hashOf(screen)) location.hash = hashOf(screen);
}
