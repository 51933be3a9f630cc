// The parent lock's schedule of waits after wrong tries, and how a wait runs down (pure: the state lives in
// IndexedDB, see lock.ts). 3 free tries, then 1 s, 2 s, 4 s … doubling, past 5 minutes too, up to a day: a few typos
// cost nothing, while guessing even a 4-digit PIN takes years.
//
// A wait is not "until a wall-clock time": a child can move the system clock. It is an amount of time still to run,
// and each tab runs it down on its own monotonic clock (performance.now(), which the system clock does not move):
// a tab's deadline is when it first saw the wait plus the wait. Tabs write back what has run down (so a reload does
// not start from the top); a tab that reads a written-back wait for the same wrong try keeps the earlier of its own
// deadline and the new one, so neither a reload nor a second tab can make a wait longer or shorter than the time
// that really passed while a tab was open. While no tab is open the wait does not run down.

/** Wrong tries allowed with no wait. */
export const FREE_FAILURES = 3;
export const FIRST_DELAY_MS = 1_000;
/** The longest single wait: one day (about one guess a day once reached). */
export const MAX_DELAY_MS = 24 * 60 * 60_000;

/** Persisted after each wrong try (and when a wait has partly run down); removed by a right one. */
export interface ThrottleState {
  /** Wrong tries in a row. */
  failures: number;
  /** The wait still to run when the record was written (ms). */
  waitMs: number;
  /** Date.now() when it was written (for the record only: no wait is ever measured on the wall clock). */
  writtenAt: number;
}

/** Now, on both clocks: `wall` = Date.now() (only written down), `mono` = performance.now() of this tab. */
export interface Clocks {
  wall: number;
  mono: number;
}

/** The wait that follows the `failures`-th wrong try in a row: 0 for the first 3, then 1 s, 2 s, 4 s, … up to a day. */
export function throttleDelayMs(failures: number): number {
  if (!(failures > FREE_FAILURES)) return 0;
  return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.min(failures - FREE_FAILURES - 1, 40));
}

/** A stored throttle record of any version (older ones kept `lastFailureAt`), or undefined when it is not one. */
export function readThrottle(v: unknown): ThrottleState | undefined {
  const r = v as Partial<ThrottleState & { lastFailureAt: number }> | undefined;
  if (!r || typeof r.failures !== 'number' || !(r.failures >= 0)) return undefined;
  if (typeof r.waitMs === 'number' && typeof r.writtenAt === 'number') return { failures: r.failures, waitMs: Math.max(0, r.waitMs), writtenAt: r.writtenAt };
  // Version 1 stored when the last wrong try happened: the whole wait applies again from now.
  if (typeof r.lastFailureAt === 'number') return { failures: r.failures, waitMs: throttleDelayMs(r.failures), writtenAt: r.lastFailureAt };
  return undefined;
}

/** A tab's own count of the current wait: the wrong try it belongs to and when it ends on this tab's monotonic clock. */
export interface TabDeadline {
  failures: number;
  /** performance.now() at which the wait ends. */
  at: number;
}

/**
 * This tab's deadline after reading `state` at monotonic time `mono`: a new wrong try (or the first look) starts
 * from now; a written-back wait for the same wrong try can only bring the deadline nearer, never push it back.
 */
export function nextDeadline(prev: TabDeadline | undefined, state: ThrottleState, mono: number): TabDeadline {
  const fresh = { failures: state.failures, at: mono + state.waitMs };
  if (!prev || prev.failures !== state.failures) return fresh;
  return { failures: state.failures, at: Math.min(prev.at, fresh.at) };
}

/** How long until the next try is accepted, by this tab's deadline. */
export function remainingMs(deadline: TabDeadline | undefined, mono: number): number {
  return deadline ? Math.max(0, deadline.at - mono) : 0;
}

/** The record after a wrong try (the `failures`-th in a row), written at `wall`. */
export function afterFailure(failures: number, wall: number): ThrottleState {
  return { failures, waitMs: throttleDelayMs(failures), writtenAt: wall };
}
