// Schema versions: a fresh database, a v1 database migrated on open, a failing step that leaves the data as it
// was, a database from a newer app version that is refused without touching it, and a newer tab's upgrade.
import { beforeEach, describe, expect, it } from 'vitest';
import { dumpDatabase, freshDatabase, openRaw } from './helpers';
import { AppError } from '../../src/shared/errors';
import { closeDatabase, getDatabase } from '../../src/storage/db';
import { MIGRATIONS, SCHEMA_VERSION, type Migration } from '../../src/storage/migrations';
import { getActiveProfileId, getProfile, listProfiles, saveProfile } from '../../src/storage/profiles';
import { STORES } from '../../src/storage/stores';

beforeEach(freshDatabase);

/** A version-1 database as the v1 app left it: its four stores, a profile without explanationStyle/customWords. */
async function seedV1(): Promise<void> {
  const db = await openRaw(1, (d) => {
    for (const s of ['profiles', 'meta', 'embeddings', 'lock']) d.createObjectStore(s);
  });
  await new Promise<void>((resolve, reject) => {
    const tx = db.transaction(['profiles', 'meta'], 'readwrite');
    const base = { name: 'Sam', gender: 'male', religion: 'Islam', physical: 'healthy', mental: 'anxiety', choices: {}, protected: false, createdAt: 1, updatedAt: 1 };
    tx.objectStore('profiles').put({ ...base, id: 'kid', age: 10 }, 'kid');
    tx.objectStore('profiles').put({ ...base, id: 'grown', age: 40, customWords: ['keep me'] }, 'grown');
    tx.objectStore('meta').put('kid', 'activeProfileId');
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
  db.close();
}

describe('schema migrations', () => {
  it('the list is ordered 1..N and N is the schema version', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(Array.from({ length: MIGRATIONS.length }, (_, i) => i + 1));
    expect(SCHEMA_VERSION).toBe(6);
  });

  it('a fresh database is created at the current version with all stores', async () => {
    expect(await listProfiles()).toEqual([]);
    const db = await getDatabase();
    expect(db.version).toBe(SCHEMA_VERSION);
    expect(Array.from(db.objectStoreNames).sort()).toEqual(Object.values(STORES).sort());
  });

  it('a v1 database is migrated on open: missing explanationStyle and customWords get defaults', async () => {
    await seedV1();
    const kid = await getProfile('kid');
    expect(kid).toMatchObject({ id: 'kid', age: 10, explanationStyle: 'child', customWords: [] });
    expect(await getProfile('grown')).toMatchObject({ age: 40, explanationStyle: 'adult', customWords: ['keep me'] });
    expect(await getActiveProfileId()).toBe('kid');
    await closeDatabase();
    expect((await dumpDatabase()).version).toBe(SCHEMA_VERSION);
    // The migrated record now passes the save check unchanged.
    await expect(saveProfile(kid!)).resolves.toEqual(kid);
  });

  it('a step that fails leaves the database at its old version with its data untouched', async () => {
    await seedV1();
    const before = await dumpDatabase();
    const broken: Migration = { version: SCHEMA_VERSION + 1, describe: 'broken', run: () => { throw new Error('boom'); } };
    await closeDatabase([...MIGRATIONS, broken]);
    const err = await listProfiles().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('STORAGE_FAILED');
    expect((err as AppError).message).toBe(`upgrading the saved data from schema 1 to ${SCHEMA_VERSION + 1} failed (boom); the data was left as it was`);
    expect(await dumpDatabase()).toEqual(before); // still version 1, v1 records, not even step 2 applied
    await closeDatabase(); // back to the real list: the upgrade now succeeds
    expect((await getProfile('kid'))?.explanationStyle).toBe('child');
  });

  it('a database from a newer version is refused with a clear error and left untouched', async () => {
    const db = await openRaw(7, (d) => d.createObjectStore('profiles'));
    await new Promise<void>((resolve) => {
      const tx = db.transaction('profiles', 'readwrite');
      tx.objectStore('profiles').put({ id: 'future', shape: 'unknown to us' }, 'future');
      tx.oncomplete = () => resolve();
    });
    db.close();
    const before = await dumpDatabase();
    const err = await listProfiles().catch((e: unknown) => e);
    expect((err as AppError).code).toBe('STORAGE_NEWER_VERSION');
    expect((err as AppError).message).toBe(`the saved data has schema version 7, newer than this app's ${SCHEMA_VERSION}; it was left untouched — update the app to use it`);
    expect(await dumpDatabase()).toEqual(before);
  });

  it('a newer tab upgrading the database closes our connection instead of blocking it', async () => {
    await saveProfile({
      id: 'p', name: 'P', age: 30, gender: 'female', religion: 'None', physical: 'healthy', mental: 'healthy', choices: {},
      customWords: [], explanationStyle: 'adult', protected: false, createdAt: 1, updatedAt: 1,
    });
    // The "newer tab" opens one version up: this only resolves if our open connection gave way.
    const newer = await openRaw(SCHEMA_VERSION + 1, () => undefined);
    expect(newer.version).toBe(SCHEMA_VERSION + 1);
    newer.close();
    const err = await listProfiles().catch((e: unknown) => e);
    expect((err as AppError).code).toBe('STORAGE_NEWER_VERSION');
  });
});
