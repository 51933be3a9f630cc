// The parent log: what the guards did, per profile, kept on this device only (IndexedDB store `parentLog`, schema v3).
// The app appends without the PIN (it must log even while a child is using it); viewing, exporting and clearing
// need the parent (`requireParent`: the PIN, checked against the stored lock with its throttle, or this tab's open
// parent session from parent-session.ts — not a screen's idea of "unlocked").
// The prompt text is stored only when the profile's `logPrompts` is on — decided here, so no caller can forget.
// The log keeps the newest MAX_LOG_ENTRIES; older entries are dropped in the same transaction as the append. That
// transaction also updates the lasting tallies (log-counts.ts: per profile, category and action) and the count of
// dropped entries, in their own store, so what the cap removes is still counted and the view can say how much went.

import { AppError } from '../shared/errors';
import type { Profile } from '../shared/profile';
import { guarded, transact } from './db';
import { requireParent, type ParentProof } from './parent-session';
import { LOG_ACTIONS, LOG_STATS_DROPPED, asDroppedCount, asProfileLogCounts, countedIn, logStatsKey, type LogAction, type ProfileLogCounts } from './log-counts';
import { STORES } from './stores';

export { LOG_ACTIONS, type LogAction, type LogCountRow, type ProfileLogCounts } from './log-counts';

export const MAX_LOG_ENTRIES = 5000;
export const MAX_PAGE = 500;
/** Longest prompt text kept (longer ones are cut; CLIP reads 77 tokens anyway). */
export const MAX_LOGGED_PROMPT = 2000;

/** 'image': the safety checker (Sexuality); 'q16': Q16 (the profile's other banned categories). */
export const LOG_STAGES = ['text', 'image', 'q16'] as const;
export type LogStage = (typeof LOG_STAGES)[number];

/**
 * Which prompt check decided a 'text' entry (src/safety/guard/stages.ts's decision sources): the word lists, the
 * learned classifier, or the semantic (meaning) check. The image stages name themselves by `stage`.
 */
export const LOG_TEXT_SOURCES = ['lexicon', 'classifier', 'semantic'] as const;
export type LogTextSource = (typeof LOG_TEXT_SOURCES)[number];

export interface ParentLogEntry {
  /** When it happened (epoch ms). */
  time: number;
  profileId: string;
  /** The profile's name at that time (the log outlives renames and deletions). */
  profileName: string;
  stage: LogStage;
  /**
   * Which prompt check decided (text entries only). Entries written before it was recorded have none: they are read
   * as they are (shown as "not recorded"), never rewritten — the log is a record, so no migration guesses it.
   */
  source?: LogTextSource;
  /** The guard category (a PSA category, `Illegal` or `Custom`). */
  category: string;
  action: LogAction;
  /** Only when the profile's `logPrompts` was on. */
  prompt?: string;
}

/** An entry as listed: with its store key (insertion order). */
export type ListedLogEntry = ParentLogEntry & { id: number };

export interface LogFilter {
  profileId?: string;
  stage?: LogStage;
  action?: LogAction;
  category?: string;
}

/** What the app reports for one intervention; `appendLog` turns it into an entry. */
export interface LogEvent {
  profile: Pick<Profile, 'id' | 'name' | 'logPrompts'>;
  stage: LogStage;
  /** Required for stage 'text' (which check decided), refused for the image stages. */
  source?: LogTextSource;
  category: string;
  action: LogAction;
  prompt?: string;
  /** Defaults to now. */
  time?: number;
}

function invalid(what: string): never {
  throw new AppError('INVALID_REQUEST', `parent log: ${what}`);
}

/** Checks an event and builds the stored entry (prompt kept only with logPrompts on). */
export function toLogEntry(e: LogEvent): ParentLogEntry {
  if (!e || typeof e !== 'object') invalid('the event must be an object');
  if (!e.profile || typeof e.profile.id !== 'string' || !e.profile.id) invalid('profile.id must be a non-empty string');
  if (typeof e.profile.name !== 'string') invalid('profile.name must be a string');
  if (!LOG_STAGES.includes(e.stage)) invalid(`stage must be one of ${LOG_STAGES.join(', ')} (got ${JSON.stringify(e.stage)})`);
  if (e.stage === 'text' && !LOG_TEXT_SOURCES.includes(e.source as LogTextSource)) invalid(`a text entry's source must be one of ${LOG_TEXT_SOURCES.join(', ')} (got ${JSON.stringify(e.source)})`);
  if (e.stage !== 'text' && e.source !== undefined) invalid(`only text entries carry a source (the ${e.stage} stage names itself)`);
  if (!LOG_ACTIONS.includes(e.action)) invalid(`action must be one of ${LOG_ACTIONS.join(', ')} (got ${JSON.stringify(e.action)})`);
  if (typeof e.category !== 'string' || !e.category || e.category.length > 64) invalid('category must be a non-empty string of at most 64 characters');
  const time = e.time ?? Date.now();
  if (!Number.isFinite(time) || time < 0) invalid('time must be a non-negative number (epoch ms)');
  const entry: ParentLogEntry = { time, profileId: e.profile.id, profileName: e.profile.name, stage: e.stage, ...(e.source ? { source: e.source } : {}), category: e.category, action: e.action };
  if (e.profile.logPrompts === true && typeof e.prompt === 'string') entry.prompt = e.prompt.slice(0, MAX_LOGGED_PROMPT);
  return entry;
}

/**
 * Appends one entry, counts it in its profile's tallies, and drops the oldest beyond MAX_LOG_ENTRIES (adding them
 * to the dropped count), all in one transaction: an entry is never in the log without being counted, nor dropped
 * without the note saying so. No PIN needed.
 */
export async function appendLog(e: LogEvent, max = MAX_LOG_ENTRIES): Promise<void> {
  const entry = toLogEntry(e);
  await guarded('writing the parent log', () =>
    transact([STORES.parentLog, STORES.logStats], 'readwrite', (tx) => {
      const s = tx.objectStore(STORES.parentLog);
      const stats = tx.objectStore(STORES.logStats);
      s.add(entry);
      const key = logStatsKey(entry.profileId);
      const prev = stats.get(key);
      prev.onsuccess = () => stats.put(countedIn(prev.result, entry), key);
      const count = s.count();
      count.onsuccess = () => {
        let excess = count.result - max;
        if (excess <= 0) return;
        const dropping = excess;
        const dropped = stats.get(LOG_STATS_DROPPED);
        dropped.onsuccess = () => stats.put(asDroppedCount(dropped.result) + dropping, LOG_STATS_DROPPED);
        const cursor = s.openCursor(); // oldest first: keys are insertion order
        cursor.onsuccess = () => {
          const c = cursor.result;
          if (!c || excess <= 0) return;
          c.delete();
          excess--;
          c.continue();
        };
      };
      return () => undefined;
    }),
  );
}

const matches = (e: ParentLogEntry, f: LogFilter) =>
  (f.profileId === undefined || e.profileId === f.profileId) &&
  (f.stage === undefined || e.stage === f.stage) &&
  (f.action === undefined || e.action === f.action) &&
  (f.category === undefined || e.category === f.category);

/** Every entry matching `filter`, newest first (no PIN check: callers below check it). */
async function readAll(filter: LogFilter): Promise<ListedLogEntry[]> {
  return guarded('reading the parent log', () =>
    transact([STORES.parentLog], 'readonly', (tx) => {
      const out: ListedLogEntry[] = [];
      const cursor = tx.objectStore(STORES.parentLog).openCursor(null, 'prev');
      cursor.onsuccess = () => {
        const c = cursor.result;
        if (!c) return;
        const v = c.value as ParentLogEntry;
        if (v && typeof v === 'object' && matches(v, filter)) out.push({ ...v, id: c.key as number });
        c.continue();
      };
      return () => out;
    }),
  );
}

/** Every profile's tallies (by name), whatever the page or filter, and how many entries the cap has dropped. */
export interface LogStats {
  counts: ProfileLogCounts[];
  dropped: number;
}

/** The lasting tallies and how many entries the cap has dropped (no PIN check: callers below check it). */
async function readStats(): Promise<LogStats> {
  return guarded('reading the parent log counts', () =>
    transact([STORES.logStats], 'readonly', (tx) => {
      const counts: ProfileLogCounts[] = [];
      let dropped = 0;
      const cursor = tx.objectStore(STORES.logStats).openCursor();
      cursor.onsuccess = () => {
        const c = cursor.result;
        if (!c) return;
        if (c.key === LOG_STATS_DROPPED) dropped = asDroppedCount(c.value);
        else {
          const record = asProfileLogCounts(c.value);
          if (record) counts.push(record);
        }
        c.continue();
      };
      return () => ({ counts: counts.sort((a, b) => a.profileName.localeCompare(b.profileName) || (a.profileId < b.profileId ? -1 : 1)), dropped });
    }),
  );
}

/**
 * One page of the log, newest first, with the number of matching entries, plus the lasting tallies (unfiltered:
 * they count what the log no longer holds too). Needs the PIN or an open parent session when a lock is set; one check serves both.
 */
export async function listLog(
  proof: ParentProof,
  opts: { offset?: number; limit?: number; filter?: LogFilter } = {},
): Promise<{ entries: ListedLogEntry[]; total: number } & LogStats> {
  const offset = opts.offset ?? 0;
  const limit = opts.limit ?? 50;
  if (!Number.isInteger(offset) || offset < 0) invalid('offset must be a whole number ≥ 0');
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) invalid(`limit must be a whole number from 1 to ${MAX_PAGE}`);
  await requireParent(proof);
  const all = await readAll(opts.filter ?? {});
  return { entries: all.slice(offset, offset + limit), total: all.length, ...(await readStats()) };
}

export const LOG_FILE_FORMAT = 'psa-web-parent-log';

/** The whole log (or the filtered part) as JSON text, newest first. Needs the PIN or an open parent session when a lock is set. */
export async function exportLog(proof: ParentProof, filter: LogFilter = {}, now = Date.now()): Promise<string> {
  await requireParent(proof);
  const entries = (await readAll(filter)).map(({ id: _id, ...e }) => e);
  return JSON.stringify({ format: LOG_FILE_FORMAT, version: 1, exportedAt: new Date(now).toISOString(), entries }, null, 1);
}

/**
 * Deletes every entry, and the tallies and dropped count with them (a parent who clears the log expects nothing of
 * it kept), in one transaction. Needs the PIN or an open parent session when a lock is set.
 */
export async function clearLog(proof: ParentProof): Promise<void> {
  await requireParent(proof);
  await guarded('clearing the parent log', () =>
    transact([STORES.parentLog, STORES.logStats], 'readwrite', (tx) => {
      tx.objectStore(STORES.parentLog).clear();
      tx.objectStore(STORES.logStats).clear();
      return () => undefined;
    }),
  );
}
