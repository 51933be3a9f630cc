// Lock slice: the parent lock's state and rules, and the one PIN dialog. The rules are enforced here, not only in
// the UI: `authorize` reads the stored lock fresh (a stale screen or a second tab cannot skip it) and, with the lock
// set and the parent's session closed, asks through the dialog (askPin / answerPin: the UI shows it as lock.dialog).
// The session is memory only (a reload locks again); it ends on Lock now, a handover, the lock removed, or its
// window running out, and an open parent log ends with it. Storage has its own record of it (parent-session.ts): the
// PIN that opens the session also opens storage's, whose token (`sessionProof`) lets the parent log's storage calls
// through while the session is open — the PIN is not kept — and is revoked when it ends. Changes are announced to
// other tabs (tab-sync.ts).
import type { StateCreator } from 'zustand';
import type { LogSlice } from './log-slice';
import { feedback, type FeedbackState } from './profile-feedback';
import type { ProfileDeps } from './profile-deps';
import { announce } from './tab-sync';

/** How long one PIN entry keeps the parent's session open (memory only: a reload locks again). */
export const UNLOCK_MS = 10 * 60_000;

/** Why the PIN dialog is open (its title says it in words: src/ui/lib/messages.ts PIN_PURPOSE_TEXT). */
export type PinPurpose = 'unlock' | 'profile' | 'switch' | 'model' | 'log' | 'clear-log' | 'change-pin' | 'remove-pin' | 'export' | 'import' | 'gallery' | 'erase';

/** The open PIN dialog: its purpose and the last refusal (wrong PIN, or the wait before the next try). */
export interface PinPrompt {
  purpose: PinPurpose;
  error?: FeedbackState['profileError'];
  busy?: boolean;
}

export interface LockState {
  /** A parent PIN or passphrase is set. */
  exists: boolean;
  /** The parent's session is open until then (epoch ms); 0 = locked. */
  unlockedUntil: number;
  /** Persisted throttle (lock.ts): no try is accepted before then (epoch ms); 0 = none. */
  retryAt: number;
  failures: number;
}

export interface LockSlice {
  lock: LockState;
  /** The PIN dialog, while one is open. */
  pinPrompt?: PinPrompt;
  /** Re-reads the stored lock (set, throttle) into `lock`. */
  refreshLock(): Promise<LockState>;
  /** Opens the parent's session with `pin`, or through the PIN dialog without one. */
  unlock(pin?: string): Promise<boolean>;
  lockNow(): void;
  /** Ends the parent's session here (and the parent log with it), without a notice: a handover, another tab. */
  endSession(): void;
  isUnlocked(): boolean;
  /** What storage accepts for the open parent session (the parent log's calls), or undefined when it is not open. */
  sessionProof(): { session: string } | undefined;
  /** Sets the first PIN, or changes it (then `current` opens the lock; without it the PIN dialog asks for it). */
  setPin(secret: string, current?: string): Promise<boolean>;
  /** Removes the lock; without `current` the PIN dialog asks for it. */
  removePin(current?: string): Promise<boolean>;
  /**
   * The UI says a PIN dialog is on screen (returns the detach). Without one (tests of the state alone, scripts)
   * an action that needs the PIN fails with PIN_REQUIRED instead of asking.
   */
  attachPinDialog(): () => void;
  /** Opens the PIN dialog; resolves with the PIN once it opened the lock (the session is then open), else undefined. */
  askPin(purpose: PinPurpose): Promise<string | undefined>;
  /** The dialog's submit: checks the PIN (with the throttle); a wrong one keeps the dialog open with the wait. */
  answerPin(pin: string): Promise<void>;
  cancelPin(): void;
  /**
   * The one gate for parent-only actions: true when `need` is false, no lock is set, the parent's session is open
   * (unless `fresh`: destructive steps ask again), `pin` opens the lock, or the PIN dialog was answered.
   */
  authorize(need: boolean, purpose: PinPurpose, opts?: { pin?: string; fresh?: boolean }): Promise<boolean>;
}

type LockDeps = Pick<ProfileDeps, 'hasLock' | 'lockStatus' | 'verifyLock' | 'setLock' | 'removeLock' | 'validateSecret' | 'openParentSession' | 'renewParentSession' | 'endParentSession'>;
// The log slice is optional so the slice can be composed without it (its tests); the app's store has it.
type All = LockSlice & FeedbackState & Partial<Pick<LogSlice, 'closeLog'>>;

export function createLockSlice(deps: LockDeps): StateCreator<All, [], [], LockSlice> {
  return (set, get) => {
    // The PIN dialog: how many are on screen, and who waits for the open one's answer.
    let dialogs = 0;
    let answer: ((pin: string | undefined) => void) | undefined;
    const { fail, ok, failFrom, guarded } = feedback(set, () => get().refreshLock());
    // Storage's token for the session (parent-session.ts), held here only.
    let token: string | undefined;
    const openSession = () => {
      set({ lock: { ...get().lock, unlockedUntil: Date.now() + UNLOCK_MS } });
      if (token && !deps.renewParentSession(token, UNLOCK_MS)) token = undefined;
    };

    /**
     * Checks `pin` against the stored lock (with the throttle); a refusal sets the error with its wait. With
     * `session`, a right PIN also opens storage's side of the parent session (the caller then opens this side).
     */
    const verify = async (pin: string, session = true): Promise<boolean> => {
      const r = session ? await deps.openParentSession(pin, UNLOCK_MS) : await deps.verifyLock(pin);
      if (r.ok && session) token = (r as { session?: string }).session;
      if (r.ok) {
        set({ lock: { ...get().lock, retryAt: 0, failures: 0 } });
        return true;
      }
      await get().refreshLock();
      const retryAt = r.retryAfterMs > 0 ? Date.now() + r.retryAfterMs : undefined;
      if (retryAt) set({ lock: { ...get().lock, retryAt: Math.max(get().lock.retryAt, retryAt) } });
      return fail(r.reason === 'throttled' ? 'THROTTLED' : 'WRONG_PIN', undefined, retryAt);
    };

    return {
      lock: { exists: false, unlockedUntil: 0, retryAt: 0, failures: 0 },

      async refreshLock() {
        const [exists, status] = await Promise.all([deps.hasLock(), deps.lockStatus()]);
        const lock: LockState = {
          exists,
          unlockedUntil: exists ? get().lock.unlockedUntil : 0,
          retryAt: status.retryAfterMs > 0 ? Date.now() + status.retryAfterMs : 0,
          failures: status.failures,
        };
        set({ lock });
        return lock;
      },

      async authorize(need, purpose, opts = {}) {
        if (!need) return true;
        const lock = await get().refreshLock();
        if (!lock.exists) return true;
        if (!opts.fresh && get().isUnlocked()) {
          openSession(); // each parent action extends the window
          return true;
        }
        if (opts.pin) return opts.fresh ? verify(opts.pin, false) : get().unlock(opts.pin);
        if ((await get().askPin(purpose)) !== undefined) return true;
        return fail('PIN_REQUIRED');
      },

      async unlock(pin) {
        return guarded(async () => {
          const lock = await get().refreshLock();
          if (!lock.exists) return fail('NO_LOCK');
          if (pin === undefined) return (await get().askPin('unlock')) === undefined ? false : ok('UNLOCKED');
          if (!(await verify(pin))) return false;
          openSession();
          return ok('UNLOCKED');
        });
      },

      lockNow() {
        get().endSession();
        announce('locked');
        ok('LOCKED');
      },

      endSession() {
        token = undefined;
        deps.endParentSession();
        set({ lock: { ...get().lock, unlockedUntil: 0 } });
        get().closeLog?.();
      },

      isUnlocked() {
        const l = get().lock;
        return l.exists && l.unlockedUntil > Date.now();
      },

      sessionProof() {
        return token && get().isUnlocked() ? { session: token } : undefined;
      },

      async setPin(secret, current) {
        return guarded(async () => {
          const problem = deps.validateSecret(secret);
          if (problem) return fail('PIN_INVALID', problem);
          const lock = await get().refreshLock();
          if (lock.exists && !current) current = await get().askPin('change-pin');
          if (lock.exists && !current) return fail('PIN_REQUIRED');
          // setLock checks `current` itself (with the throttle); a refusal arrives as LOCK_WRONG / LOCK_THROTTLED.
          await deps.setLock(secret, lock.exists ? current : undefined);
          await get().refreshLock();
          announce('lock');
          // A lock is only worth something if the browser keeps it: ask it not to clear this site's data under
          // storage pressure (it may decline; the models panel shows the answer).
          void globalThis.navigator?.storage?.persist?.().catch(() => false);
          // Whoever just chose the PIN is the parent: leave the session open for the next steps (storage's side too,
          // which only a PIN checked against the stored lock opens).
          const opened = await deps.openParentSession(secret, UNLOCK_MS);
          token = opened.ok ? opened.session : undefined;
          openSession();
          return ok(lock.exists ? 'PIN_CHANGED' : 'PIN_SET');
        });
      },

      async removePin(current) {
        return guarded(async () => {
          const lock = await get().refreshLock();
          if (!lock.exists) return fail('NO_LOCK');
          if (!current) current = await get().askPin('remove-pin');
          if (!current) return fail('PIN_REQUIRED');
          await deps.removeLock(current); // checks `current` with the throttle
          await get().refreshLock();
          get().endSession();
          announce('lock');
          return ok('PIN_REMOVED');
        });
      },

      attachPinDialog() {
        dialogs++;
        return () => {
          dialogs--;
          if (dialogs === 0) get().cancelPin();
        };
      },

      askPin(purpose) {
        if (dialogs === 0) return Promise.resolve(undefined);
        answer?.(undefined); // one dialog at a time: an older question is dropped
        set({ pinPrompt: { purpose } });
        return new Promise((resolve) => (answer = resolve));
      },

      async answerPin(pin) {
        const prompt = get().pinPrompt;
        if (!prompt || prompt.busy) return;
        set({ pinPrompt: { ...prompt, busy: true, error: undefined } });
        let opened = false;
        try {
          opened = await verify(pin);
        } catch (e) {
          failFrom(e);
        }
        if (get().pinPrompt?.purpose !== prompt.purpose) return; // cancelled meanwhile
        if (!opened) {
          set({ pinPrompt: { purpose: prompt.purpose, error: get().profileError } });
          return;
        }
        set({ pinPrompt: undefined, profileError: undefined });
        openSession();
        const resolve = answer;
        answer = undefined;
        resolve?.(pin);
      },

      cancelPin() {
        const resolve = answer;
        answer = undefined;
        set({ pinPrompt: undefined });
        resolve?.(undefined);
      },
    };
  };
}
