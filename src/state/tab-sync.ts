// One truth across tabs: a tab that changes the profiles, the active profile, the lock or the gallery says so on a
// BroadcastChannel, and every other tab of this site re-reads them from IndexedDB at once. The message carries only
// what kind of thing changed, never a value (the stored data is the truth; a message is only a nudge to re-read).
// Guarded actions and generation re-read storage themselves too, so a tab that missed a message is still right.

/**
 * What changed: `profiles` (a profile or the active choice), `lock` (set, changed, removed), `locked` (closed now),
 * `gallery` (a picture kept or deleted).
 */
export type TabChange = 'profiles' | 'lock' | 'locked' | 'gallery';

const CHANNEL = 'psa-web.tabs';
let channel: BroadcastChannel | undefined;
const listeners = new Set<(c: TabChange) => void>();

function open(): BroadcastChannel | undefined {
  if (channel || typeof BroadcastChannel === 'undefined') return channel;
  channel = new BroadcastChannel(CHANNEL);
  channel.onmessage = (e: MessageEvent) => {
    const c = (e.data as { change?: unknown } | null)?.change;
    if (c === 'profiles' || c === 'lock' || c === 'locked' || c === 'gallery') for (const l of listeners) l(c);
  };
  return channel;
}

/** Tells the other tabs (never this one) that something changed. */
export function announce(change: TabChange): void {
  try {
    open()?.postMessage({ change });
  } catch {
    // A closed channel (the page is going away): the other tabs re-read storage in their next guarded action anyway.
  }
}

/** Calls `fn` for each change another tab announces; returns the unsubscribe. */
export function onOtherTab(fn: (c: TabChange) => void): () => void {
  open();
  listeners.add(fn);
  return () => listeners.delete(fn);
}
