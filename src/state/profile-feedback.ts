// The profiles panel's one line of feedback, shared by the slices that act for it (profile records, the lock):
// coded errors (src/ui/lib/messages.ts turns each into words) and short confirmations, and the mapping of coded failures
// from the rooms below (storage, lock, profile files) onto them.
import { toErrorInfo, type ErrorCode } from '../shared/errors';

/** What went wrong with a profile action; src/ui/lib/messages.ts turns each into words. */
export type ProfileErrorCode =
  | 'PIN_REQUIRED'
  | 'WRONG_PIN'
  | 'THROTTLED'
  | 'PIN_INVALID'
  | 'NO_LOCK'
  | 'PROFILE_INVALID'
  | 'PROFILE_NOT_FOUND'
  | 'IMPORT_FAILED'
  | 'EXPORT_FAILED'
  | 'PASSPHRASE_REQUIRED'
  | 'STORAGE_FAILED';

/** What went right (a short confirmation the panel shows). */
export type ProfileNoticeCode = 'SAVED' | 'DELETED' | 'IMPORTED' | 'EXPORTED' | 'PIN_SET' | 'PIN_CHANGED' | 'PIN_REMOVED' | 'UNLOCKED' | 'LOCKED';

export interface ProfileError {
  code: ProfileErrorCode;
  /** Technical or specific detail (validation problems, the import error's message). */
  detail?: string;
  /** For WRONG_PIN / THROTTLED: when the next try is allowed (epoch ms). */
  retryAt?: number;
  /** For STORAGE_FAILED: the storage layer's own code (e.g. STORAGE_FULL), which has its own words. */
  cause?: ErrorCode;
}

/** The feedback fields a slice sets. */
export interface FeedbackState {
  profileError?: ProfileError;
  profileNotice?: { code: ProfileNoticeCode; count?: number };
}

/**
 * fail / ok (each returns the action's boolean answer), failFrom (a coded failure from below → the error) and
 * guarded (runs a storage-backed action; `refreshLock` re-reads the throttle a refused PIN changed).
 */
export function feedback(set: (s: Partial<FeedbackState>) => void, refreshLock: () => Promise<unknown>) {
  const fail = (code: ProfileErrorCode, detail?: string, retryAt?: number) => {
    set({ profileError: { code, detail, retryAt }, profileNotice: undefined });
    return false as const;
  };
  const ok = (code: ProfileNoticeCode, count?: number) => {
    set({ profileError: undefined, profileNotice: { code, count } });
    return true as const;
  };
  const failFrom = (e: unknown): false => {
    const info = toErrorInfo(e);
    const wait = (e as { retryAfterMs?: unknown }).retryAfterMs;
    const retryAt = typeof wait === 'number' && wait > 0 ? Date.now() + wait : undefined;
    switch (info.code) {
      case 'LOCK_WRONG':
        return fail('WRONG_PIN', undefined, retryAt);
      case 'LOCK_THROTTLED':
        return fail('THROTTLED', undefined, retryAt);
      case 'LOCK_SECRET_INVALID':
        return fail('PIN_INVALID', info.message);
      case 'PROFILE_INVALID':
        return fail('PROFILE_INVALID', info.message);
      case 'IMPORT_INVALID':
        return fail('IMPORT_FAILED', info.message);
      default:
        set({ profileError: { code: 'STORAGE_FAILED', detail: info.message, cause: info.code }, profileNotice: undefined });
        return false;
    }
  };
  /** Runs a storage-backed action: a thrown coded failure becomes the error; the lock's throttle is re-read. */
  const guarded = async (fn: () => Promise<boolean>): Promise<boolean> => {
    try {
      return await fn();
    } catch (e) {
      const r = failFrom(e);
      // A refused PIN changes the persisted throttle: show it.
      await refreshLock().catch(() => undefined);
      return r;
    }
  };
  return { fail, ok, failFrom, guarded };
}
