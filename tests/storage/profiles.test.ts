// Profiles in IndexedDB (fake-indexeddb): save/list/delete, the active id, the structural check on save, and the
// all-or-nothing guarantee when a save is interrupted (a reload mid-write) or the quota runs out.
import { beforeEach, describe, expect, it } from 'vitest';
import { dumpDatabase, freshDatabase, interruptNextPut, sampleProfile } from './helpers';
import { AppError } from '../../src/shared/errors';
import type { Profile } from '../../src/shared/profile';
import { closeDatabase } from '../../src/storage/db';
import {
  deleteProfile,
  getActiveProfileId,
  getProfile,
  listProfiles,
  saveProfile,
  saveProfiles,
  setActiveProfileId,
} from '../../src/storage/profiles';

async function codeOf(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(AppError);
    return { code: (e as AppError).code, message: (e as AppError).message };
  }
  throw new Error('expected a rejection');
}

beforeEach(freshDatabase);

describe('profiles store', () => {
  it('saves, lists (oldest first), reads back after a reload, and deletes', async () => {
    const a = sampleProfile({ createdAt: 2000 });
    const b = sampleProfile({ createdAt: 1000, customWords: ['a', 'b c'], actions: { Violence: 'steer', Weapons: 'block' } });
    await saveProfile(a);
    await saveProfile(b);
    await closeDatabase(); // a reload: everything below comes from IndexedDB
    expect((await listProfiles()).map((p) => p.id)).toEqual([b.id, a.id]);
    expect(await getProfile(b.id)).toEqual(b);
    await deleteProfile(a.id);
    expect((await listProfiles()).map((p) => p.id)).toEqual([b.id]);
    expect(await getProfile(a.id)).toBeUndefined();
  });

  it('keeps the active id; deleting the active profile clears it, deleting another does not', async () => {
    const a = sampleProfile();
    const b = sampleProfile();
    await saveProfiles([a, b]);
    expect(await getActiveProfileId()).toBeUndefined();
    await setActiveProfileId(a.id);
    await closeDatabase();
    expect(await getActiveProfileId()).toBe(a.id);
    await deleteProfile(b.id);
    expect(await getActiveProfileId()).toBe(a.id);
    await deleteProfile(a.id);
    expect(await getActiveProfileId()).toBeUndefined();
  });

  it('refuses to make an unknown id active and leaves the current choice', async () => {
    const a = sampleProfile();
    await saveProfile(a);
    await setActiveProfileId(a.id);
    const e = await codeOf(setActiveProfileId('nope'));
    expect(e).toEqual({ code: 'INVALID_REQUEST', message: 'no saved profile has the id nope' });
    expect(await getActiveProfileId()).toBe(a.id);
    await setActiveProfileId(undefined);
    expect(await getActiveProfileId()).toBeUndefined();
  });

  it('checks a profile structurally before saving and names each bad field', async () => {
    const bad = { ...sampleProfile(), age: 7.5, gender: 'robot', choices: { Violence: 'maybe', Gore: 'ban' }, customWords: ['ok', ''], extra: 1 };
    const e = await codeOf(saveProfile(bad as unknown as Profile));
    expect(e.code).toBe('PROFILE_INVALID');
    expect(e.message.split('; ')).toEqual([
      'profile.age must be a whole number from 0 to 100',
      'profile.gender must be one of: male, female, other',
      'profile.choices.Violence must be one of: ban, allow',
      "profile.choices.Gore is not one of PSA's categories (Hate, Harassment, Violence, Self-Harm, Sexuality, Shocking, Propaganda)",
      'profile.customWords[1] must be a non-empty text of at most 200 characters',
      'profile.extra is not a profile field',
    ]);
    const { explanationStyle: _drop, ...missing } = sampleProfile();
    expect((await codeOf(saveProfile(missing as Profile))).message).toBe('profile.explanationStyle is missing');
    expect((await dumpDatabase()).records.filter(([s]) => s === 'profiles')).toEqual([]);
  });

  it('a save interrupted mid-write (reload) leaves the previous version intact', async () => {
    const v1 = sampleProfile({ name: 'Before' });
    await saveProfile(v1);
    const restore = interruptNextPut('abort');
    try {
      const e = await codeOf(saveProfile({ ...v1, name: 'After', age: 12, updatedAt: v1.updatedAt + 1 }));
      expect(e.code).toBe('STORAGE_FAILED');
      expect(e.message).toMatch(/interrupted.*previous version is kept/);
    } finally {
      restore();
    }
    await closeDatabase();
    expect(await getProfile(v1.id)).toEqual(v1);
  });

  it('an import saved as several profiles is all-or-nothing', async () => {
    const old = sampleProfile({ name: 'Old' });
    await saveProfile(old);
    const before = await dumpDatabase();
    // The first put goes through, then the transaction dies: neither the new profile nor the replacement lands.
    const originalPut = IDBObjectStore.prototype.put;
    let puts = 0;
    IDBObjectStore.prototype.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
      const req = originalPut.apply(this, args);
      if (++puts === 2) this.transaction.abort();
      return req;
    };
    try {
      const e = await codeOf(saveProfiles([sampleProfile({ name: 'New' }), { ...old, name: 'Replaced' }]));
      expect(e.code).toBe('STORAGE_FAILED');
    } finally {
      IDBObjectStore.prototype.put = originalPut;
    }
    expect(puts).toBe(2);
    expect(await dumpDatabase()).toEqual(before);
  });

  it.each(['quota-throw', 'quota-abort'] as const)('a full quota (%s) is a clear STORAGE_FULL error and loses nothing', async (how) => {
    const v1 = sampleProfile({ name: 'Kept' });
    await saveProfile(v1);
    const restore = interruptNextPut(how);
    try {
      const e = await codeOf(saveProfile({ ...v1, name: 'Lost' }));
      expect(e.code).toBe('STORAGE_FULL');
      expect(e.message).toMatch(/^saving the profile: the browser's storage for this site is full, so nothing was written and nothing was lost/);
    } finally {
      restore();
    }
    expect(await getProfile(v1.id)).toEqual(v1);
    // And the store works again once space is back.
    await saveProfile({ ...v1, name: 'Later' });
    expect((await getProfile(v1.id))?.name).toBe('Later');
  });

  it('keeps the avatar colour (an optional field: older records without it still read) and refuses one not offered', async () => {
    const p = { ...sampleProfile(), colour: 'teal' as const };
    await saveProfile(p);
    expect((await getProfile(p.id))?.colour).toBe('teal');
    const plain = sampleProfile();
    await saveProfile(plain);
    expect((await getProfile(plain.id))?.colour).toBeUndefined();
    const e = await codeOf(saveProfile({ ...sampleProfile(), colour: 'pink' } as unknown as Profile));
    expect(e.code).toBe('PROFILE_INVALID');
    expect(e.message).toBe('profile.colour must be one of: blue, green, orange, purple, red, teal');
  });

  it('stores only the contract fields, as a copy (later changes to the object do not leak in)', async () => {
    const p = sampleProfile();
    const saved = await saveProfile(p);
    p.customWords.push('late');
    expect((await getProfile(p.id))?.customWords).toEqual(['spider']);
    expect(saved).not.toBe(p);
  });
});
