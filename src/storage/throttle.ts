// The parent lock's schedule of waits after wrong tries (pure: the state lives in IndexedDB, see lock.ts).
// 3 free tries, then 1 s, 2 s, 4 s … doubling, capped at 5 minutes: a few typos cost nothing, while guessing a
// 4-digit PIN takes weeks (~290 tries a day at the cap).

/** Wrong tries allowed with no wait. */
export const FREE_FAILURES = 3;
export const FIRST_DELAY_MS = 1_000;
export const MAX_DELAY_MS = 5 * 60_000;

/** Persisted after each wrong try; reset by a right one. */
export interface ThrottleState {
  /** Wrong tries in a row. */
  failures: number;
  /** When the last wrong try happened (epoch ms). */
  lastFailureAt: number;
}

/** The wait that follows the `failures`-th wrong try in a row: 0 for the first 3, then 1 s, 2 s, 4 s, …, at most 5 min. */
export function throttleDelayMs(failures: number): number {
  if (!(failures > FREE_FAILURES)) return 0;
  return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(failures - FREE_FAILURES - 1, 30));
}

/**
 * How long until the next try is accepted. A clock that moved backwards (now before the last failure) does not
 * shorten the wait: the full delay applies.
 */
export function remainingMs(state: ThrottleState | undefined, now: number): number {
  if (!state) return 0;
  const delay = throttleDelayMs(state.failures);
  if (delay === 0) return 0;
  const elapsed = now - state.lastFailureAt;
  if (!(elapsed >= 0)) return delay;
  return Math.max(0, delay - elapsed);
}
