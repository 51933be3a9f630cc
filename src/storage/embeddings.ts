// Cached PSA user embeddings, keyed by a SHA-256 of the encoder's identity and the exact rendered template text:
// a change to either gives a new key, so a stale embedding is never reused (no invalidation needed). The cache keeps
// the newest MAX_CACHED_EMBEDDINGS entries (a 7B encoder's embedding is 3 584 floats, 14 KB).

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
}

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

/** The cached embedding under `key` (a fresh copy), or undefined. */
export async function getCachedEmbedding(key: string): Promise<Float32Array | undefined> {
  const entry = await guarded('reading the embedding cache', () => get<CachedEmbedding>(key, store));
  return entry && entry.embedding instanceof Float32Array ? entry.embedding : undefined;
}

/**
 * Stores an embedding under its key (from embeddingKey), then drops the oldest entries beyond
 * MAX_CACHED_EMBEDDINGS, in one transaction. Refuses a malformed key or a non-finite embedding (a bug upstream).
 * A failure (e.g. STORAGE_FULL) loses nothing but this cache entry; callers may go on without caching.
 */
export async function putCachedEmbedding(key: string, embedding: Float32Array, encoderId: string): Promise<void> {
  if (!KEY.test(key)) throw new AppError('INVALID_REQUEST', `embedding cache key must be 64 lowercase hex digits (from embeddingKey), got "${key.slice(0, 80)}"`);
  if (!(embedding instanceof Float32Array) || embedding.length === 0 || !embedding.every(Number.isFinite)) {
    throw new AppError('INVALID_REQUEST', 'only a non-empty embedding of finite numbers can be cached');
  }
  const entry: CachedEmbedding = { encoderId, embedding: new Float32Array(embedding), storedAt: Date.now() };
  await guarded('caching the embedding', () =>
    transact([STORES.embeddings], 'readwrite', (tx) => {
      const s = tx.objectStore(STORES.embeddings);
      s.put(entry, key);
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
      return () => undefined;
    }),
  );
}

/** Empties the embedding cache. */
export function clearEmbeddingCache(): Promise<void> {
  return guarded('clearing the embedding cache', () => clear(store));
}
