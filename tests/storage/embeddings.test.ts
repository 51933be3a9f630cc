// The embedding cache: the key is SHA-256 over length-prefixed (encoderId, text), checked against Node's own
// crypto; entries round-trip, bad input is refused, and the cache keeps only the newest entries. Entries belong to
// the profiles that stored or read them: deleting a profile deletes its entries and keeps those another uses; an
// entry from before schema v5 (no owners) is still read, and dropped at the next profile deletion.
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { dumpDatabase, freshDatabase, openRaw, sampleProfile } from './helpers';
import { AppError } from '../../src/shared/errors';
import { closeDatabase } from '../../src/storage/db';
import { MAX_CACHED_EMBEDDINGS, clearEmbeddingCache, embeddingKey, getCachedEmbedding, putCachedEmbedding } from '../../src/storage/embeddings';
import { deleteProfile, getProfile, saveProfiles, setActiveProfileId } from '../../src/storage/profiles';
import { STORES } from '../../src/storage/stores';

/** The key as specified, computed independently: u32 BE byte length + UTF-8 bytes, for each part. */
function referenceKey(encoderId: string, text: string): string {
  const h = createHash('sha256');
  for (const part of [encoderId, text]) {
    const b = Buffer.from(part, 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    h.update(len).update(b);
  }
  return h.digest('hex');
}

beforeEach(freshDatabase);
afterEach(() => vi.useRealTimers());

describe('embeddingKey', () => {
  it('is SHA-256 hex over the length-prefixed UTF-8 of encoder id and text', async () => {
    for (const [id, text] of [['enc-a', 'Age: 9\nReligion: nan'], ['', ''], ['qwen2.5-7b@sha256:ab', 'Ünïcödé 🙂 text']]) {
      expect(await embeddingKey(id, text)).toBe(referenceKey(id, text));
    }
  });

  it('changes with either part and cannot be confused by moving the boundary', async () => {
    const k = await embeddingKey('ab', 'c');
    expect(await embeddingKey('a', 'bc')).not.toBe(k);
    expect(await embeddingKey('ab', 'c ')).not.toBe(k);
    expect(await embeddingKey('ab2', 'c')).not.toBe(k);
    expect(k).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('embedding cache', () => {
  it('stores and returns an embedding (across a reload), and a copy of it', async () => {
    const key = await embeddingKey('enc', 'text');
    const e = new Float32Array([0.5, -1.25, 3e-8, 1234.5]);
    await putCachedEmbedding(key, e, 'enc');
    e[0] = 99; // the caller's array is not the stored one
    await closeDatabase();
    const got = await getCachedEmbedding(key);
    expect(got).toBeInstanceOf(Float32Array);
    expect(Array.from(got!)).toEqual(Array.from(new Float32Array([0.5, -1.25, 3e-8, 1234.5])));
    expect(await getCachedEmbedding(await embeddingKey('enc', 'other text'))).toBeUndefined();
  });

  it('refuses a key that is not from embeddingKey and a non-finite or empty embedding', async () => {
    const key = await embeddingKey('enc', 't');
    for (const [k, e] of [
      ['profile-1', new Float32Array([1])],
      [key.toUpperCase(), new Float32Array([1])],
      [key, new Float32Array([1, Number.NaN])],
      [key, new Float32Array([Number.POSITIVE_INFINITY])],
      [key, new Float32Array(0)],
    ] as const) {
      const err = await putCachedEmbedding(k, e, 'enc').catch((x: unknown) => x);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('INVALID_REQUEST');
    }
    expect(await getCachedEmbedding(key)).toBeUndefined();
  });

  it(`keeps the newest ${MAX_CACHED_EMBEDDINGS} entries`, async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const keys: string[] = [];
    for (let i = 0; i < MAX_CACHED_EMBEDDINGS + 3; i++) {
      vi.setSystemTime(1_000_000 + i * 1000);
      const key = await embeddingKey('enc', `profile ${i}`);
      keys.push(key);
      await putCachedEmbedding(key, new Float32Array([i]), 'enc');
    }
    const present = await Promise.all(keys.map(async (k) => (await getCachedEmbedding(k)) !== undefined));
    expect(present.slice(0, 3)).toEqual([false, false, false]);
    expect(present.slice(3).every(Boolean)).toBe(true);
    expect(Array.from((await getCachedEmbedding(keys[keys.length - 1]))!)).toEqual([MAX_CACHED_EMBEDDINGS + 2]);
    await clearEmbeddingCache();
    expect(await getCachedEmbedding(keys[keys.length - 1])).toBeUndefined();
  });
});

describe('embedding cache and profile deletion', () => {
  /** Every cached key with its recorded owners, from the raw database. */
  async function cached(): Promise<Map<string, string[] | undefined>> {
    await closeDatabase();
    const rows = (await dumpDatabase()).records.filter(([store]) => store === STORES.embeddings);
    return new Map(rows.map(([, k, v]) => [k as string, (v as { profileIds?: string[] }).profileIds]));
  }

  it("deleting a profile deletes its entries and keeps another profile's, shared ones included", async () => {
    const [a, b] = await saveProfiles([sampleProfile(), sampleProfile()]);
    await setActiveProfileId(a.id);
    const onlyA = await embeddingKey('enc', 'text of A');
    const onlyB = await embeddingKey('enc', 'text of B');
    const shared = await embeddingKey('enc', 'same settings');
    await putCachedEmbedding(onlyA, new Float32Array([1]), 'enc', a.id);
    await putCachedEmbedding(onlyB, new Float32Array([2]), 'enc', b.id);
    await putCachedEmbedding(shared, new Float32Array([3]), 'enc', a.id);
    expect(Array.from((await getCachedEmbedding(shared, b.id))!)).toEqual([3]); // B reads A's entry: B now uses it
    expect(await cached()).toEqual(new Map([[onlyA, [a.id]], [onlyB, [b.id]], [shared, [a.id, b.id]]]));

    await deleteProfile(a.id);
    expect(await getProfile(a.id)).toBeUndefined();
    expect(await cached()).toEqual(new Map([[onlyB, [b.id]], [shared, [b.id]]]));
    expect(Array.from((await getCachedEmbedding(shared))!)).toEqual([3]);

    await deleteProfile(b.id);
    expect(await cached()).toEqual(new Map());
  });

  it('storing the same key again keeps its users; a read without a profile records none', async () => {
    const key = await embeddingKey('enc', 'x');
    await putCachedEmbedding(key, new Float32Array([1]), 'enc', 'p1');
    await putCachedEmbedding(key, new Float32Array([1]), 'enc', 'p2');
    await putCachedEmbedding(key, new Float32Array([1]), 'enc', 'p2');
    await getCachedEmbedding(key);
    expect(await cached()).toEqual(new Map([[key, ['p1', 'p2']]]));
  });

  it('an entry from before v5 (no owners) is read as before, and dropped at the next profile deletion', async () => {
    const key = await embeddingKey('enc', 'old text');
    const otherKey = await embeddingKey('enc', 'kept text');
    const db = await openRaw(4, (d) => {
      for (const st of ['profiles', 'meta', 'embeddings', 'lock', 'bundles']) d.createObjectStore(st);
      d.createObjectStore('parentLog', { autoIncrement: true });
    });
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction(['embeddings'], 'readwrite');
      tx.objectStore('embeddings').put({ encoderId: 'enc', embedding: new Float32Array([7, 8]), storedAt: 1 }, key);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    db.close();
    expect(Array.from((await getCachedEmbedding(key))!)).toEqual([7, 8]); // migrated to v5, read unchanged
    const [p, q] = await saveProfiles([sampleProfile(), sampleProfile()]);
    await putCachedEmbedding(otherKey, new Float32Array([1]), 'enc', q.id);
    await deleteProfile(p.id);
    expect(await cached()).toEqual(new Map([[otherKey, [q.id]]]));
  });
});
