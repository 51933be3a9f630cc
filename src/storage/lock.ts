// The parent lock: a PIN (≥ 4 digits) or passphrase (≥ 8 characters), kept only as PBKDF2-SHA256(secret, 16-byte
// random salt, ≥ 600 000 iterations), and the throttle on wrong tries, persisted in IndexedDB so a reload or a new
// tab keeps it; its waits run down on this tab's monotonic clock, not the system clock (throttle.ts). Which actions
// need the lock is the state layer's rule; it calls verifyLock / requireUnlocked.
// The secret itself is never stored, returned or logged.

import { del, get, update } from 'idb-keyval';
import { AppError } from '../shared/errors';
import { guarded, keyvalStore, transact } from './db';
import { KDF_ITERATIONS, SALT_BYTES, constantTimeEqual, pbkdf2, randomBytes } from './kdf';
import { afterFailure, nextDeadline, readThrottle, remainingMs, throttleDelayMs, type Clocks, type TabDeadline, type ThrottleState } from './throttle';
import { LOCK_KEYS, STORES } from './stores';

export const MIN_PIN_DIGITS = 4;
export const MIN_PASSPHRASE_CHARS = 8;
export const MAX_SECRET_CHARS = 256;
const HASH_BITS = 256;

/** What is stored for the lock: never the secret. `iterations` is kept so a later version can raise it. */
export interface LockRecord {
  kdf: 'PBKDF2-SHA256';
  iterations: number;
  salt: Uint8Array<ArrayBuffer>;
  hash: Uint8Array<ArrayBuffer>;
  createdAt: number;
}

export type VerifyResult = { ok: true } | { ok: false; retryAfterMs: number; reason: 'wrong' | 'throttled' };

/** A refused unlock (LOCK_WRONG / LOCK_THROTTLED), with the wait before the next try is accepted. */
export class LockError extends AppError {
  readonly retryAfterMs: number;
  constructor(code: 'LOCK_WRONG' | 'LOCK_THROTTLED', message: string, retryAfterMs: number) {
    super(code, message);
    this.name = 'LockError';
    this.retryAfterMs = retryAfterMs;
  }
}

const lockStore = keyvalStore(STORES.lock);

const isLockRecord = (v: unknown): v is LockRecord => {
  const r = v as Partial<LockRecord> | undefined;
  return (
    !!r &&
    r.kdf === 'PBKDF2-SHA256' &&
    Number.isSafeInteger(r.iterations) &&
    (r.iterations as number) >= 1 &&
    r.salt instanceof Uint8Array &&
    r.hash instanceof Uint8Array &&
    r.hash.length === HASH_BITS / 8
  );
};

/** Both clocks now: waits run down on performance.now(); Date.now() is only written into the record. */
const clocks = (): Clocks => ({ wall: Date.now(), mono: performance.now() });

// This tab's count of the current wait (throttle.ts): the wrong try it belongs to and its monotonic deadline.
let deadline: TabDeadline | undefined;
/** The wait left on a stored record, as this tab counts it. */
function waitLeft(raw: unknown, now: Clocks): { state?: ThrottleState; wait: number } {
  const state = readThrottle(raw);
  deadline = state ? nextDeadline(deadline, state, now.mono) : undefined;
  return { state, wait: remainingMs(deadline, now.mono) };
}
const sameRecord = (a: ThrottleState | undefined, b: ThrottleState) => !!a && a.failures === b.failures && a.waitMs === b.waitMs && a.writtenAt === b.writtenAt;

/** A record this tab just wrote: a new wrong try's wait starts now; a written-back one changes nothing here. */
function wrote(t: ThrottleState, mono: number): ThrottleState {
  deadline = nextDeadline(deadline, t, mono);
  return t;
}

const seconds = (ms: number) => `${Math.ceil(ms / 1000)} s`;

/**
 * Why `secret` cannot be a new PIN or passphrase (plain words), or undefined when it can. Only ASCII digits make a
 * PIN; anything else is a passphrase.
 */
export function validateSecret(secret: string): string | undefined {
  if (typeof secret !== 'string' || secret.length === 0) return 'Enter a PIN (at least 4 digits) or a passphrase (at least 8 characters).';
  const n = [...secret.normalize('NFC')].length;
  if (n > MAX_SECRET_CHARS) return `That is too long: at most ${MAX_SECRET_CHARS} characters.`;
  if (/^[0-9]+$/.test(secret)) return n >= MIN_PIN_DIGITS ? undefined : `A PIN needs at least ${MIN_PIN_DIGITS} digits.`;
  if (secret.trim() === '') return 'A passphrase cannot be only spaces.';
  return n >= MIN_PASSPHRASE_CHARS ? undefined : `A passphrase needs at least ${MIN_PASSPHRASE_CHARS} characters (or use a PIN of digits only).`;
}

async function readLock(): Promise<LockRecord | undefined> {
  const r = await guarded('reading the parent lock', () => get<unknown>(LOCK_KEYS.secret, lockStore));
  if (r === undefined) return undefined;
  // A damaged record must not open the lock: refuse everything until it is repaired (remove site data).
  if (!isLockRecord(r)) throw new AppError('STORAGE_FAILED', 'the saved parent lock is damaged; it cannot be checked');
  return r;
}

/** Whether a parent lock is set. */
export async function hasLock(): Promise<boolean> {
  return (await readLock()) !== undefined;
}

async function makeRecord(secret: string): Promise<LockRecord> {
  const salt = randomBytes(SALT_BYTES);
  const hash = await pbkdf2(secret, salt, KDF_ITERATIONS, HASH_BITS);
  return { kdf: 'PBKDF2-SHA256', iterations: KDF_ITERATIONS, salt, hash, createdAt: Date.now() };
}

/**
 * Checks a PIN / passphrase against the lock. While throttled it refuses at once, without hashing. Otherwise the try
 * is counted as a failure *before* hashing (in one transaction with the throttle check), so tries made in parallel
 * from several tabs, or a tab closed mid-check, cannot escape the count; a right answer then resets it.
 * With no lock set, anything is accepted (there is nothing to unlock).
 */
export async function verifyLock(secret: string): Promise<VerifyResult> {
  const now = clocks();
  type Reservation = { kind: 'none' } | { kind: 'throttled'; wait: number } | { kind: 'check'; lock: unknown; failures: number };
  const r = await guarded('checking the parent lock', () =>
    transact<Reservation>([STORES.lock], 'readwrite', (tx) => {
      const store = tx.objectStore(STORES.lock);
      let out: Reservation = { kind: 'none' };
      const lockReq = store.get(LOCK_KEYS.secret);
      const throttleReq = store.get(LOCK_KEYS.throttle);
      throttleReq.onsuccess = () => {
        if (lockReq.result === undefined) return;
        const { state, wait } = waitLeft(throttleReq.result, now);
        if (wait > 0) {
          // Keep what has run down, so a reload does not start this wait again from the top.
          if (state && wait < state.waitMs) store.put(wrote({ ...state, waitMs: wait, writtenAt: now.wall }, now.mono), LOCK_KEYS.throttle);
          out = { kind: 'throttled', wait };
          return;
        }
        const failures = (state?.failures ?? 0) + 1;
        store.put(wrote(afterFailure(failures, now.wall), now.mono), LOCK_KEYS.throttle);
        out = { kind: 'check', lock: lockReq.result, failures };
      };
      return () => out;
    }),
  );
  if (r.kind === 'none') return { ok: true };
  if (r.kind === 'throttled') return { ok: false, reason: 'throttled', retryAfterMs: r.wait };
  if (!isLockRecord(r.lock)) throw new AppError('STORAGE_FAILED', 'the saved parent lock is damaged; it cannot be checked');
  const lock = r.lock;
  const hash = await pbkdf2(typeof secret === 'string' ? secret : '', lock.salt, lock.iterations, HASH_BITS);
  if (!constantTimeEqual(hash, lock.hash)) {
    // Written again after the check (the count may have grown meanwhile in another tab); the wait itself runs from
    // when the try was counted.
    const failedAt = clocks();
    await guarded('recording a wrong try', () =>
      update<unknown>(LOCK_KEYS.throttle, (t) => wrote(afterFailure(Math.max(readThrottle(t)?.failures ?? 0, r.failures), failedAt.wall), failedAt.mono), lockStore),
    );
    return { ok: false, reason: 'wrong', retryAfterMs: throttleDelayMs(r.failures) };
  }
  await guarded('resetting the wrong-try count', () => del(LOCK_KEYS.throttle, lockStore));
  if (lock.iterations < KDF_ITERATIONS) await upgradeRecord(secret, lock);
  return { ok: true };
}

/** Re-hashes an old lock with today's iteration count (only if no other tab replaced it meanwhile). */
async function upgradeRecord(secret: string, old: LockRecord): Promise<void> {
  const next = await makeRecord(secret);
  await guarded('upgrading the parent lock', () =>
    update<unknown>(LOCK_KEYS.secret, (cur) => (isLockRecord(cur) && constantTimeEqual(cur.salt, old.salt) ? next : cur), lockStore),
  );
}

/**
 * Throws LockError LOCK_WRONG / LOCK_THROTTLED (with retryAfterMs) unless `secret` opens the lock; returns quietly
 * when it does or when no lock is set. For the state layer's guarded actions.
 */
export async function requireUnlocked(secret: string): Promise<void> {
  const r = await verifyLock(secret);
  if (r.ok) return;
  if (r.reason === 'throttled') throw new LockError('LOCK_THROTTLED', `too many wrong tries: the next one is accepted in ${seconds(r.retryAfterMs)}`, r.retryAfterMs);
  throw new LockError('LOCK_WRONG', r.retryAfterMs > 0 ? `wrong PIN or passphrase; the next try is accepted in ${seconds(r.retryAfterMs)}` : 'wrong PIN or passphrase', r.retryAfterMs);
}

/**
 * Sets the lock, or changes it (then `current` must open the existing lock, with the throttle applying). Throws
 * LOCK_SECRET_INVALID for a too-weak secret. The wrong-try count starts again from zero.
 */
export async function setLock(secret: string, current?: string): Promise<void> {
  const problem = validateSecret(secret);
  if (problem) throw new AppError('LOCK_SECRET_INVALID', problem);
  if (await hasLock()) await requireUnlocked(current ?? '');
  const record = await makeRecord(secret);
  await guarded('saving the parent lock', () =>
    transact([STORES.lock], 'readwrite', (tx) => {
      const store = tx.objectStore(STORES.lock);
      store.put(record, LOCK_KEYS.secret);
      store.delete(LOCK_KEYS.throttle);
      return () => undefined;
    }),
  );
}

/** Removes the lock (and its wrong-try count) once `secret` opens it. */
export async function removeLock(secret: string): Promise<void> {
  if (!(await hasLock())) return;
  await requireUnlocked(secret);
  await guarded('removing the parent lock', () =>
    transact([STORES.lock], 'readwrite', (tx) => {
      const store = tx.objectStore(STORES.lock);
      store.delete(LOCK_KEYS.secret);
      store.delete(LOCK_KEYS.throttle);
      return () => undefined;
    }),
  );
}

/** Whether a lock is set, how long until the next try is accepted, and the wrong tries in a row. */
export async function lockStatus(): Promise<{ locked: boolean; retryAfterMs: number; failures: number }> {
  const [locked, t] = await Promise.all([hasLock(), guarded('reading the parent lock', () => get<unknown>(LOCK_KEYS.throttle, lockStore))]);
  const now = clocks();
  const { state, wait } = waitLeft(t, now);
  if (locked && state && wait > 0 && wait < state.waitMs) {
    // Keep what has run down (another tab may have written meanwhile: only the same version is replaced).
    const next = { ...state, waitMs: wait, writtenAt: now.wall };
    await guarded('saving the wrong-try wait', () =>
      update<unknown>(LOCK_KEYS.throttle, (cur) => (sameRecord(readThrottle(cur), state) ? wrote(next, now.mono) : cur), lockStore),
    );
  }
  return { locked, retryAfterMs: locked ? wait : 0, failures: locked ? (state?.failures ?? 0) : 0 };
}
