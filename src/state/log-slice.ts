// Parent-log slice: the log view's page, filter and status, and the actions behind the parent (open, page, filter,
// export, clear) plus `recordLog`, which the generation flow calls for each intervention (no PIN: the app must log
// while a child uses it). Opening the view is a parent action like any other: inside an open parent session it opens
// at once, and storage is reached with the session's proof (lock-slice.ts `sessionProof`; storage checks it itself in
// parent-session.ts, and refuses once the session has ended); with the session closed the one PIN dialog asks first.
// Nothing of the PIN is kept here when the lock slice is composed with it (a PIN given to openLog directly, as the
// slice's own tests do, is kept only while the view is open). The view closes — forgetting its proof — on closeLog,
// when the parent's session ends (Lock now, a handover: the lock slice calls closeLog) and when the unlock window runs
// out. Clearing asks for the PIN again. Nothing persists in zustand. Each page load also brings the lasting
// per-profile tallies and the number of entries the cap dropped.
import type { StateCreator } from 'zustand';
import { AppError } from '../shared/errors';
import { hasLock } from '../storage/lock';
import * as store from '../storage/parent-log';
import type { ListedLogEntry, LogEvent, LogFilter, ProfileLogCounts } from '../storage/parent-log';
import type { ParentProof } from '../storage/parent-session';
import type { PinPurpose } from './lock-slice';

/** What the log needs of the profiles slice's lock (absent when the slice is composed alone, as in its tests). */
interface LockAccess {
  askPin?(purpose: PinPurpose): Promise<string | undefined>;
  isUnlocked?(): boolean;
  sessionProof?(): { session: string } | undefined;
}
/** How often an open log checks that the parent's session is still open. */
const SESSION_CHECK_MS = 1000;

export type { ListedLogEntry, LogAction, LogCountRow, LogEvent, LogFilter, LogStage, LogTextSource, ProfileLogCounts } from '../storage/parent-log';
export { LOG_ACTIONS, LOG_STAGES, LOG_TEXT_SOURCES, MAX_LOG_ENTRIES } from '../storage/parent-log';

export type LogErrorCode = 'WRONG_PIN' | 'THROTTLED' | 'SESSION_ENDED' | 'STORAGE_FAILED';
export type LogStatus = 'closed' | 'locked' | 'loading' | 'ready' | 'error';

export interface LogView {
  status: LogStatus;
  entries: ListedLogEntry[];
  total: number;
  offset: number;
  pageSize: number;
  filter: LogFilter;
  /** Every profile's tallies (not paged, not filtered; they outlast the entries the cap drops). */
  counts: ProfileLogCounts[];
  /** How many old entries the cap has dropped (0: none). */
  dropped: number;
  error?: { code: LogErrorCode; retryAt?: number; detail?: string };
  /** The last log write failed (shown to the parent; generation goes on). */
  writeError?: string;
}

export interface LogSlice {
  log: LogView;
  /**
   * Opens the view: with a lock set and the parent's session closed, asks for the PIN (status 'locked' when it is
   * not given); inside an open session, or with no lock, loads the first page at once.
   */
  openLog(secret?: string): Promise<void>;
  setLogFilter(filter: LogFilter): Promise<void>;
  setLogPage(offset: number): Promise<void>;
  /** JSON text of the (filtered) log, or undefined when refused (error set). */
  exportParentLog(): Promise<string | undefined>;
  /** Deletes every entry: asks for the PIN again through the dialog (or takes `pin`), even with the view open. */
  clearParentLog(pin?: string): Promise<void>;
  closeLog(): void;
  recordLog(e: LogEvent): Promise<void>;
}

export interface LogDeps {
  hasLock(): Promise<boolean>;
  listLog: typeof store.listLog;
  exportLog: typeof store.exportLog;
  clearLog: typeof store.clearLog;
  appendLog: typeof store.appendLog;
}

export const realLogDeps: LogDeps = { hasLock, listLog: store.listLog, exportLog: store.exportLog, clearLog: store.clearLog, appendLog: store.appendLog };

const CLOSED: LogView = { status: 'closed', entries: [], total: 0, offset: 0, pageSize: 25, filter: {}, counts: [], dropped: 0 };

function toLogError(e: unknown): NonNullable<LogView['error']> {
  if (e instanceof AppError && e.code === 'LOCK_SESSION_ENDED') return { code: 'SESSION_ENDED' };
  if (e instanceof AppError && (e.code === 'LOCK_WRONG' || e.code === 'LOCK_THROTTLED')) {
    const wait = (e as AppError & { retryAfterMs?: number }).retryAfterMs ?? 0;
    return { code: e.code === 'LOCK_WRONG' ? 'WRONG_PIN' : 'THROTTLED', retryAt: wait > 0 ? Date.now() + wait : undefined };
  }
  return { code: 'STORAGE_FAILED', detail: e instanceof Error ? e.message : String(e) };
}

export const createLogSlice =
  (deps: LogDeps = realLogDeps): StateCreator<LogSlice & LockAccess, [], [], LogSlice> =>
  (set, get) => {
    // How the open view reaches storage: through the parent's session (its proof is asked for at each call, as a
    // later PIN entry replaces the session's token), or with a PIN given to openLog (the slice alone).
    let access: 'session' | { pin: string } | undefined;
    const proof = (): ParentProof => (access === 'session' ? (get().sessionProof?.() ?? { session: '' }) : (access?.pin ?? ''));
    let watch: ReturnType<typeof setInterval> | undefined;
    /** While open behind the lock: closes the view the moment the parent's session is no longer open. */
    const watchSession = () => {
      clearInterval(watch);
      if (!get().isUnlocked) return;
      watch = setInterval(() => {
        if (get().log.status === 'closed') clearInterval(watch);
        else if (!get().isUnlocked!()) get().closeLog();
      }, SESSION_CHECK_MS);
    };
    const load = async (patch: Partial<LogView>) => {
      const next = { ...get().log, ...patch };
      set({ log: { ...next, status: 'loading', error: undefined } });
      try {
        const page = await deps.listLog(proof(), { offset: next.offset, limit: next.pageSize, filter: next.filter });
        set({ log: { ...next, status: 'ready', entries: page.entries, total: page.total, counts: page.counts, dropped: page.dropped, error: undefined } });
      } catch (e) {
        const error = toLogError(e);
        if (error.code !== 'STORAGE_FAILED') access = undefined; // the PIN changed, was wrong, or the session ended: ask again
        set({ log: { ...next, status: error.code === 'STORAGE_FAILED' ? 'error' : 'locked', entries: [], total: 0, counts: [], dropped: 0, error } });
      }
    };
    const guarded = async <T>(op: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await op();
      } catch (e) {
        const error = toLogError(e);
        if (error.code !== 'STORAGE_FAILED') access = undefined;
        set({ log: { ...get().log, ...(error.code === 'STORAGE_FAILED' ? {} : { status: 'locked' as const, entries: [], counts: [], dropped: 0 }), error } });
        return undefined;
      }
    };
    return {
      log: CLOSED,
      async openLog(pin) {
        const locked = await deps.hasLock();
        // Inside an open parent session the session is enough (as for every parent screen); else the PIN dialog,
        // whose right answer opens the session — and it is the session, not the PIN, that is shown to storage.
        let session = pin === undefined && locked ? get().sessionProof?.() : undefined;
        if (pin === undefined && locked && !session) {
          pin = await get().askPin?.('log');
          session = pin === undefined ? undefined : get().sessionProof?.();
        }
        if (pin === undefined && locked && !session) {
          access = undefined;
          set({ log: { ...CLOSED, status: 'locked' } });
          return;
        }
        access = session ? 'session' : { pin: pin ?? '' };
        await load({ offset: 0 });
        if (locked && get().log.status === 'ready') watchSession();
      },
      setLogFilter: (filter) => load({ filter, offset: 0 }),
      setLogPage: (offset) => load({ offset: Math.max(0, offset) }),
      exportParentLog: () => guarded(() => deps.exportLog(proof(), get().log.filter)),
      async clearParentLog(pin) {
        // Destructive: the PIN again, even with the view open (a parent who walked away left it open).
        const askPin = get().askPin;
        if (pin === undefined && askPin && (await deps.hasLock())) {
          pin = await askPin('clear-log');
          if (pin === undefined) return; // the dialog was cancelled
        }
        const done = await guarded(async () => {
          await deps.clearLog(pin ?? proof());
          return true;
        });
        if (done) await load({ offset: 0 });
      },
      closeLog() {
        access = undefined;
        clearInterval(watch);
        set({ log: CLOSED });
      },
      async recordLog(e) {
        try {
          await deps.appendLog(e);
          if (get().log.writeError) set({ log: { ...get().log, writeError: undefined } });
        } catch (err) {
          set({ log: { ...get().log, writeError: err instanceof Error ? err.message : String(err) } });
        }
      },
    };
  };
