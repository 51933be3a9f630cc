// Cached PSA user embeddings, keyed by a SHA-256 of the encoder's identity and the exact rendered template text:
// a change to either gives a new key, so a stale embedding is never reused (no invalidation needed). The cache keeps
// the newest MAX_CACHED_EMBEDDINGS entries (a 7B encoder's embedding is 3 584 floats, 14 KB).
// An embedding is derived from a profile's age, religion, health and so on, so each entry records the profiles it
// was stored or read for (`profileIds`; two profiles with the same settings share one entry), and deleting a profile
// deletes the entries no other profile uses (`forgetProfileEmbeddings`, in the deletion's own transaction). Entries
// written before that field existed have no known owner: still read as before, and dropped at any profile deletion,
// since one of them may be that profile's (a cache entry only costs a recomputation).

import { clear, get } from 'idb-keyval';
import { AppError } from '../shared/errors';
import { guarded, keyvalStore, transact } from './db';
import { STORES } from './stores';

export const MAX_CACHED_EMBEDDINGS = 32;

/** What one cache entry holds. */
export interface CachedEmbedding {
  encoderId: string;
  embedding: Float32Array<ArrayBuffer>;
  /** When it was stored (epoch ms): the oldest go first when the cache is full. */
  storedAt: number;
  /** The profiles it was stored or read for; absent on entries from before schema v5 (owner unknown). */
  profileIds?: string[];
}

const ownersOf = (v: unknown): string[] | undefined => {
  const ids = (v as Partial<CachedEmbedding> | undefined)?.profileIds;
  return Array.isArray(ids) ? ids.filter((x): x is string => typeof x === 'string') : undefined;
};

const store = keyvalStore(STORES.embeddings);
const KEY = /^[0-9a-f]{64}$/;

/** Each part as its UTF-8 byte length (4 bytes, big-endian) then its bytes, so ("ab","c") and ("a","bc") differ. */
function lengthPrefixed(parts: string[]): Uint8Array<ArrayBuffer> {
  const enc = new TextEncoder();
  const bytes = parts.map((p) => enc.encode(p));
  const out = new Uint8Array(bytes.reduce((n, b) => n + 4 + b.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const b of bytes) {
    view.setUint32(at, b.length);
    out.set(b, at + 4);
    at += 4 + b.length;
  }
  return out;
}

/** The cache key: lowercase hex SHA-256 of length-prefixed UTF-8 (encoderId, text). */
export async function embeddingKey(encoderId: string, text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', lengthPrefixed([encoderId, text])));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The cached embedding under `key` (a fresh copy), or undefined. With `profileId`, a hit also records that profile
 * as a user of the entry (same transaction), so deleting another profile with the same settings does not take it.
 */
export async function getCachedEmbedding(key: string, profileId?: string): Promise<Float32Array | undefined> {
  if (profileId === undefined) {
    const entry = await guarded('reading the embedding cache', () => get<CachedEmbedding>(key, store));
    return entry && entry.embedding instanceof Float32Array ? entry.embedding : undefined;
  }
  return guarded('reading the embedding cache', () =>
    transact([STORES.embeddings], 'readwrite', (tx) => {
      const s = tx.objectStore(STORES.embeddings);
      let found: Float32Array | undefined;
      const req = s.get(key);
      req.onsuccess = () => {
        const entry = req.result as CachedEmbedding | undefined;
        if (!entry || !(entry.embedding instanceof Float32Array)) return;
        found = entry.embedding;
        const owners = ownersOf(entry) ?? [];
        if (!owners.includes(profileId)) s.put({ ...entry, profileIds: [...owners, profileId] }, key);
      };
      return () => found;
    }),
  );
}

/**
 * Stores an embedding under its key (from embeddingKey), then drops the oldest entries beyond
 * MAX_CACHED_EMBEDDINGS, in one transaction. Refuses a malformed key or a non-finite embedding (a bug upstream).
 * A failure (e.g. STORAGE_FULL) loses nothing but this cache entry; callers may go on without caching.
 */
export async function putCachedEmbedding(key: string, embedding: Float32Array, encoderId: string, profileId?: string): Promise<void> {
  if (!KEY.test(key)) throw new AppError('INVALID_REQUEST', `embedding cache key must be 64 lowercase hex digits (from embeddingKey), got "${key.slice(0, 80)}"`);
  if (!(embedding instanceof Float32Array) || embedding.length === 0 || !embedding.every(Number.isFinite)) {
    throw new AppError('INVALID_REQUEST', 'only a non-empty embedding of finite numbers can be cached');
  }
  const entry: CachedEmbedding = { encoderId, embedding: new Float32Array(embedding), storedAt: Date.now() };
  await guarded('caching the embedding', () =>
    transact([STORES.embeddings], 'readwrite', (tx) => {
      const s = tx.objectStore(STORES.embeddings);
      // Keep the users already recorded on this key (another profile with the same text) and add this one; the
      // count that decides eviction is taken after the put, so it includes the new entry.
      const prev = s.get(key);
      prev.onsuccess = () => {
        // Without a profileId the users stay as they were: unknown (absent) stays unknown, so it is not kept forever.
        const owners = ownersOf(prev.result);
        const profileIds = profileId === undefined ? owners : owners?.includes(profileId) ? owners : [...(owners ?? []), profileId];
        s.put(profileIds ? { ...entry, profileIds } : entry, key);
        const count = s.count();
        count.onsuccess = () => {
          if (count.result <= MAX_CACHED_EMBEDDINGS) return;
          const ages: [IDBValidKey, number][] = [];
          const cursor = s.openCursor();
          cursor.onsuccess = () => {
            const c = cursor.result;
            if (c) {
              ages.push([c.key, (c.value as Partial<CachedEmbedding>)?.storedAt ?? 0]);
              c.continue();
              return;
            }
            ages.sort((a, b) => a[1] - b[1]);
            for (const [k] of ages.slice(0, ages.length - MAX_CACHED_EMBEDDINGS)) if (k !== key) s.delete(k);
          };
        };
      };
      return () => undefined;
    }),
  );
}

/**
 * Within a profile's deletion transaction (profiles.ts deleteProfile): takes `profileId` off every entry, deletes
 * entries no profile uses any more, and deletes entries whose users are unknown (from before schema v5).
 */
export function forgetProfileEmbeddings(tx: IDBTransaction, profileId: string): void {
  const s = tx.objectStore(STORES.embeddings);
  const req = s.openCursor();
  req.onsuccess = () => {
    const c = req.result;
    if (!c) return;
    const owners = ownersOf(c.value);
    if (owners === undefined) c.delete();
    else if (owners.includes(profileId)) {
      const rest = owners.filter((id) => id !== profileId);
      if (rest.length === 0) c.delete();
      else c.update({ ...(c.value as CachedEmbedding), profileIds: rest });
    }
    c.continue();
  };
}

/** Empties the embedding cache. */
export function clearEmbeddingCache(): Promise<void> {
  return guarded('clearing the embedding cache', () => clear(store));
}
