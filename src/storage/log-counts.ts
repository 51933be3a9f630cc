// The parent log's lasting tallies: per profile, how many times each category met each action (blocked, steered,
// blurred, allowed). They live in the `logStats` store beside the log, not in it, because the log keeps only its
// newest entries and a parent should still see that, say, 40 prompts were blocked for Violence last month after
// those entries are gone. Pure record-building only (no database access), so the schema migration that seeds the
// tallies from an existing log and the append that updates them share one definition without an import cycle.

export const LOG_ACTIONS = ['blocked', 'steered', 'blurred', 'allowed'] as const;
export type LogAction = (typeof LOG_ACTIONS)[number];

/** One tally: how many entries for this profile had this category and action. */
export interface LogCountRow {
  category: string;
  action: LogAction;
  count: number;
}

/** A profile's tallies (key logStatsKey(profileId) in the logStats store). */
export interface ProfileLogCounts {
  profileId: string;
  /** The name at its latest entry (tallies outlive renames and deletions, as the log does). */
  profileName: string;
  rows: LogCountRow[];
}

/**
 * A profile's key in the logStats store. An array, so no profile id (a string) can ever equal the key of the
 * dropped-entries count.
 */
export const logStatsKey = (profileId: string): [string, string] => ['profile', profileId];
/** Key of the number of entries the cap has dropped, ever (reset only by clearing the log). */
export const LOG_STATS_DROPPED = 'dropped';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isAction = (v: unknown): v is LogAction => (LOG_ACTIONS as readonly unknown[]).includes(v);

function isRow(v: unknown): v is LogCountRow {
  return isRecord(v) && typeof v.category === 'string' && isAction(v.action) && Number.isSafeInteger(v.count) && (v.count as number) >= 0;
}

/** A stored tally record as read back, or undefined when it is not one (then it is started again, not trusted). */
export function asProfileLogCounts(v: unknown): ProfileLogCounts | undefined {
  if (!isRecord(v) || typeof v.profileId !== 'string' || typeof v.profileName !== 'string' || !Array.isArray(v.rows)) return undefined;
  return { profileId: v.profileId, profileName: v.profileName, rows: v.rows.filter(isRow).map((r) => ({ category: r.category, action: r.action, count: r.count })) };
}

/**
 * `prev` (a stored record, or undefined) with one more log entry counted in; undefined when `entry` is not a log
 * entry with a profile, category and known action (a damaged record in an old log is skipped, not counted).
 */
export function countedIn(prev: unknown, entry: unknown): ProfileLogCounts | undefined {
  if (!isRecord(entry) || typeof entry.profileId !== 'string' || typeof entry.category !== 'string' || !isAction(entry.action)) return undefined;
  const base = asProfileLogCounts(prev);
  const old = base && base.profileId === entry.profileId ? base.rows : [];
  const { category, action } = entry;
  const hit = old.some((r) => r.category === category && r.action === action);
  const rows = hit ? old.map((r) => (r.category === category && r.action === action ? { ...r, count: r.count + 1 } : r)) : [...old, { category, action, count: 1 }];
  const profileName = typeof entry.profileName === 'string' ? entry.profileName : (base?.profileName ?? '');
  return { profileId: entry.profileId, profileName, rows };
}

/** The stored dropped count as a number (0 when absent or damaged). */
export function asDroppedCount(v: unknown): number {
  return Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : 0;
}
