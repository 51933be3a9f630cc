// The parent lock's schedule of waits after wrong tries, and how a wait runs down (pure: the state lives in
// IndexedDB, see lock.ts). 3 free tries, then 1 s, 2 s, 4 s … doubling, past 5 minutes too, up to a day: a few typos
// cost nothing, while guessing even a 4-digit PIN takes years.
//
// A wait is not "until a wall-clock time": a child can move the system clock. It is an amount of time still to run,
// stored with the wall-clock moment it was written, and it runs down only by time this tab saw pass on its monotonic
// clock (performance.now(), which the system clock does not move). The wall-clock gap since the write is used only
// as an upper bound, so that several tabs counting down the same record (each from when it first saw it) cannot
// drain it faster than real time while the clock is honest. While no tab is open the wait does not run down.

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
  /** Date.now() when it was written: an upper bound on the time that passed since, never the clock of the wait. */
  writtenAt: number;
}

/** Now, on both clocks: `wall` = Date.now(), `mono` = performance.now() of this tab. */
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

/** What identifies one written version of the record (a tab counts each version from when it first saw it). */
export const versionOf = (s: ThrottleState): string => `${s.failures}:${s.waitMs}:${s.writtenAt}`;

/**
 * How long until the next try is accepted, for a record this tab first saw at monotonic time `seenAt`: the stored
 * wait less the time that passed, where "passed" is what the monotonic clock saw, at most the wall-clock gap since
 * the write (a clock set back gives a gap of 0: the wait does not run down until the clock catches up).
 */
export function remainingMs(state: ThrottleState | undefined, now: Clocks, seenAt: number): number {
  if (!state || !(state.waitMs > 0)) return 0;
  const seen = Math.max(0, now.mono - seenAt);
  const gap = Math.max(0, now.wall - state.writtenAt);
  return Math.max(0, state.waitMs - Math.min(seen, gap));
}

/** The record after a wrong try (the `failures`-th in a row), written at `wall`. */
export function afterFailure(failures: number, wall: number): ThrottleState {
  return { failures, waitMs: throttleDelayMs(failures), writtenAt: wall };
}
