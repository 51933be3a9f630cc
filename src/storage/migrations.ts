// The schema history of the app's IndexedDB database, as an ordered list of steps. The database's own IndexedDB
// version IS the schema version: opening with a higher version runs the missing steps inside the browser's
// `versionchange` transaction, so an upgrade is all-or-nothing (a step that fails, or a tab closed mid-upgrade,
// leaves the data exactly as it was, at the old version).

import { countedIn, logStatsKey, type ProfileLogCounts } from './log-counts';
import { GALLERY_BY_PROFILE, STORES } from './stores';

/** One schema step. `run` issues IndexedDB requests on the upgrade transaction; it must not await anything else. */
export interface Migration {
  /** The schema version this step produces (1, 2, …, in order without gaps). */
  version: number;
  /** What it changes, in words (shown in errors and tests). */
  describe: string;
  run(db: IDBDatabase, tx: IDBTransaction): void;
}

/**
 * Visits every record of a store on the upgrade transaction; `visit` may return a replacement value (written back
 * with cursor.update) or undefined to leave the record as it is.
 */
function rewriteRecords(store: IDBObjectStore, visit: (value: unknown) => unknown): void {
  const req = store.openCursor();
  req.onsuccess = () => {
    const cursor = req.result;
    if (!cursor) return;
    const next = visit(cursor.value);
    if (next !== undefined) cursor.update(next);
    cursor.continue();
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    describe: 'create the stores: profiles, meta, embeddings, lock',
    run(db) {
      // Out-of-line keys (idb-keyval's layout): the key is given on each put. The list is v1's own, written out:
      // stores added later belong to their own step.
      for (const name of [STORES.profiles, STORES.meta, STORES.embeddings, STORES.lock]) if (!db.objectStoreNames.contains(name)) db.createObjectStore(name);
    },
  },
  {
    version: 2,
    describe: 'profiles get explanationStyle (child under 18, else adult) and customWords (empty)',
    run(_db, tx) {
      rewriteRecords(tx.objectStore(STORES.profiles), (value) => {
        if (!isRecord(value)) return undefined; // not a profile: left for the read-side check to report
        const missingStyle = value.explanationStyle === undefined;
        const missingWords = value.customWords === undefined;
        if (!missingStyle && !missingWords) return undefined;
        const age = typeof value.age === 'number' ? value.age : 0;
        return {
          ...value,
          ...(missingStyle ? { explanationStyle: age < 18 ? 'child' : 'adult' } : {}),
          ...(missingWords ? { customWords: [] } : {}),
        };
      });
    },
  },
  {
    version: 3,
    describe: 'create the parent log store (auto-increment keys in insertion order)',
    run(db) {
      if (!db.objectStoreNames.contains(STORES.parentLog)) db.createObjectStore(STORES.parentLog, { autoIncrement: true });
    },
  },
  {
    version: 4,
    // Records of the old layout (OPFS `bundle-state/<key>.{0,1}.json`) cannot be read here: an upgrade transaction
    // commits as soon as it waits on anything but its own requests, and OPFS is async. The bundle worker imports
    // them into this store on its first start after the upgrade (engine/bundles/legacy-records.ts).
    describe: 'create the installed-bundles index (key: <id>@<version>)',
    run(db) {
      if (!db.objectStoreNames.contains(STORES.bundles)) db.createObjectStore(STORES.bundles);
    },
  },
  {
    version: 5,
    // Entries already in the log are tallied here, on the upgrade transaction (cursor callbacks only), so the counts
    // start out agreeing with the log; how many the cap dropped before v5 is unknown and starts at 0.
    // Embedding cache entries gained an optional `profileIds` at the same time; it needs no step (embeddings.ts
    // reads entries without it as before and treats their owner as unknown).
    describe: 'create the parent log tallies store (per-profile counts, dropped entries), counting the existing log',
    run(db, tx) {
      if (!db.objectStoreNames.contains(STORES.logStats)) db.createObjectStore(STORES.logStats);
      if (!db.objectStoreNames.contains(STORES.parentLog)) return;
      const stats = tx.objectStore(STORES.logStats);
      const tally = new Map<string, ProfileLogCounts>();
      const req = tx.objectStore(STORES.parentLog).openCursor();
      req.onsuccess = () => {
        const cursor = req.result;
        if (cursor) {
          const id = isRecord(cursor.value) ? cursor.value.profileId : undefined;
          if (typeof id === 'string') {
            const next = countedIn(tally.get(id), cursor.value);
            if (next) tally.set(id, next);
          }
          cursor.continue();
          return;
        }
        for (const [id, counts] of tally) stats.put(counts, logStatsKey(id));
      };
    },
  },
  {
    version: 6,
    // A new store only: nothing before v6 kept pictures, so there is nothing to carry over. The index lets a child's
    // grid read that child's pictures without reading (or holding) anyone else's.
    describe: 'create the gallery store (key: picture id) with its per-profile index',
    run(db) {
      if (!db.objectStoreNames.contains(STORES.gallery)) db.createObjectStore(STORES.gallery).createIndex(GALLERY_BY_PROFILE, 'profileKey');
    },
  },
];

/** The schema version this code writes and reads. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/**
 * Runs, in order, every step above `oldVersion` up to `newVersion` on the upgrade transaction. Throws on a gap in the
 * list (a programming error); the caller aborts the transaction when anything throws.
 */
export function runMigrations(db: IDBDatabase, tx: IDBTransaction, oldVersion: number, newVersion: number, steps: readonly Migration[] = MIGRATIONS): void {
  steps.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration list out of order: step ${i} produces version ${m.version}`);
  });
  for (const m of steps) if (m.version > oldVersion && m.version <= newVersion) m.run(db, tx);
}
