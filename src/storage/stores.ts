// The layout of the app's one IndexedDB database: its name, its object stores and the fixed keys in them.
// One database (not one per store, as idb-keyval's createStore would make) so that the schema has one version,
// upgrades run in one transaction, and a write that spans stores (delete a profile + clear the active id) is atomic.

/** The database name (per origin). */
export const DB_NAME = 'psa-web';

/** Object stores; all use out-of-line keys, as idb-keyval does. */
export const STORES = {
  /** key: profile id → value: Profile (src/shared/profile.ts), checked on save. */
  profiles: 'profiles',
  /** key: META_KEYS.* → small app values (the active profile id). */
  meta: 'meta',
  /** key: embeddingKey(encoderId, text) (64 hex) → CachedEmbedding. */
  embeddings: 'embeddings',
  /** key: LOCK_KEYS.* → the parent lock's hash record and its throttle state. */
  lock: 'lock',
  /** auto-increment key (insertion order) → ParentLogEntry (parent-log.ts); schema v3. */
  parentLog: 'parentLog',
  /** key: bundle storage key `<id>@<version>` → BundleRecord (bundles.ts): the index of stored model bundles; schema v4. */
  bundles: 'bundles',
  /**
   * The parent log's lasting tallies (parent-log.ts; schema v5): key logStatsKey(profileId) → ProfileLogCounts, and
   * LOG_STATS_DROPPED → how many entries the cap has dropped. Its own store so the cap, which deletes from
   * `parentLog`, can never evict them.
   */
  logStats: 'logStats',
  /**
   * The gallery (gallery.ts; schema v6): key GalleryEntry.id → GalleryEntry (the PNG as a Blob and its settings,
   * model, profile and safety decisions), with the index GALLERY_BY_PROFILE on `profileKey` for one profile's grid.
   */
  gallery: 'gallery',
} as const;

/** The gallery's index on `profileKey` (the profile id, '' for pictures made with no profile). */
export const GALLERY_BY_PROFILE = 'byProfile';

export type StoreName = (typeof STORES)[keyof typeof STORES];

/**
 * `noProfileChosen`: a person chose "no profile" on purpose (true) — without it, no active profile means nobody has
 * chosen yet (a first run, or a store that was emptied), and no picture is made.
 */
export const META_KEYS = { activeProfileId: 'activeProfileId', noProfileChosen: 'noProfileChosen' } as const;
export const LOCK_KEYS = { secret: 'secret', throttle: 'throttle' } as const;
