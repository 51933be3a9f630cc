// The gallery's storage on fake-indexeddb: pictures saved as PNG Blobs with their metadata, listed per profile
// (through the index) or all, newest first; deleted one by one; sizes summed; a damaged record skipped; the
// A1111 `parameters` text; and the v5 → v6 upgrade, which adds the gallery and keeps every other store as it was.
import { beforeEach, describe, expect, it } from 'vitest';
import { dumpDatabase, freshDatabase, openRaw } from './helpers';
import { closeDatabase, getDatabase } from '../../src/storage/db';
import {
  a1111Parameters,
  deleteGalleryEntry,
  getGalleryEntry,
  listGallery,
  saveGalleryEntry,
  totalBytes,
  type GalleryEntry,
} from '../../src/storage/gallery';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/storage/migrations';
import { deleteProfile, getActiveProfileId, getProfile, saveProfile } from '../../src/storage/profiles';
import { createProfile } from '../../src/safety/profile';
import { GALLERY_BY_PROFILE, STORES } from '../../src/storage/stores';

beforeEach(freshDatabase);

let serial = 0;
function entry(profileId: string | undefined, over: Partial<GalleryEntry> = {}): GalleryEntry {
  serial++;
  const bytes = new Uint8Array(100 + serial).fill(serial);
  return {
    id: `pic-${serial}`,
    createdAt: 1_700_000_000_000 + serial,
    profileKey: profileId ?? '',
    profile: profileId ? { id: profileId, name: `Name of ${profileId}`, protected: true } : { name: 'no profile', protected: false },
    settings: { prompt: `prompt ${serial}`, negativePrompt: '', seed: serial, steps: 8, scheduler: 'ddim', guidance: 7.5, width: 64, height: 64 },
    model: { id: 'demo', name: 'Demo', version: '1.0.0', variant: 'fp32', backend: 'wasm' },
    safety: { decision: 'allowed', interventions: [] },
    png: new Blob([bytes], { type: 'image/png' }),
    bytes: bytes.length,
    ...over,
  };
}

describe('gallery records', () => {
  it('a deleted profile takes its pictures with it; other profiles keep theirs', async () => {
    const a = { ...createProfile('adult', { name: 'A' }), protected: false };
    const b = { ...createProfile('adult', { name: 'B' }), protected: false };
    await saveProfile(a);
    await saveProfile(b);
    const pics = [entry(a.id), entry(b.id), entry(a.id), entry(undefined)];
    for (const e of pics) await saveGalleryEntry(e);
    await deleteProfile(a.id);
    expect((await listGallery('all')).map((e) => e.id).sort()).toEqual([pics[1].id, pics[3].id].sort());
    expect(await getProfile(b.id)).toBeDefined();
  });

  it('saves a picture and reads it back with its Blob and metadata', async () => {
    const e = entry('kid', { safety: { decision: 'steered', interventions: [{ stage: 'text', category: 'Violence', action: 'steered' }], imageCheck: { flagged: true, blurred: true } } });
    await saveGalleryEntry(e);
    await closeDatabase(); // a reload
    const back = await getGalleryEntry(e.id);
    expect(back).toMatchObject({ ...e, png: expect.any(Blob) });
    expect(new Uint8Array(await back!.png.arrayBuffer())).toEqual(new Uint8Array(await e.png.arrayBuffer()));
    expect(back!.png.type).toBe('image/png');
  });

  it('lists per profile through the index, or all; newest first', async () => {
    const a1 = entry('a');
    const b1 = entry('b');
    const a2 = entry('a');
    const none = entry(undefined);
    for (const e of [a1, b1, a2, none]) await saveGalleryEntry(e);
    expect((await listGallery({ profileKey: 'a' })).map((e) => e.id)).toEqual([a2.id, a1.id]);
    expect((await listGallery({ profileKey: 'b' })).map((e) => e.id)).toEqual([b1.id]);
    expect((await listGallery({ profileKey: '' })).map((e) => e.id)).toEqual([none.id]);
    expect((await listGallery({ profileKey: 'nobody' })).map((e) => e.id)).toEqual([]);
    expect((await listGallery('all')).map((e) => e.id)).toEqual([none.id, a2.id, b1.id, a1.id]);
  });

  it('deletes one picture and sums the sizes of what is left', async () => {
    const [x, y, z] = [entry('a'), entry('a'), entry('b')];
    for (const e of [x, y, z]) await saveGalleryEntry(e);
    expect(totalBytes(await listGallery('all'))).toBe(x.bytes + y.bytes + z.bytes);
    await deleteGalleryEntry(y.id);
    expect(await getGalleryEntry(y.id)).toBeUndefined();
    const left = await listGallery('all');
    expect(left.map((e) => e.id).sort()).toEqual([x.id, z.id].sort());
    expect(totalBytes(left)).toBe(x.bytes + z.bytes);
    expect(totalBytes(await listGallery({ profileKey: 'a' }))).toBe(x.bytes);
  });

  it('refuses to save a malformed entry, and skips a damaged record when reading', async () => {
    await expect(saveGalleryEntry({ ...entry('a'), png: 'not a blob' as unknown as Blob })).rejects.toThrow(/not a gallery entry/);
    await expect(saveGalleryEntry({ ...entry('a'), settings: { ...entry('a').settings, scheduler: 'warp' as never } })).rejects.toThrow(/not a gallery entry/);
    const good = entry('a');
    await saveGalleryEntry(good);
    const db = await getDatabase();
    await new Promise<void>((resolve) => {
      const tx = db.transaction(STORES.gallery, 'readwrite');
      tx.objectStore(STORES.gallery).put({ id: 'broken', profileKey: 'a', createdAt: 5 }, 'broken');
      tx.oncomplete = () => resolve();
    });
    expect((await listGallery({ profileKey: 'a' })).map((e) => e.id)).toEqual([good.id]);
    expect(await getGalleryEntry('broken')).toBeUndefined();
  });
});

describe('the parameters text', () => {
  const s = { prompt: 'a cat', negativePrompt: 'blurry', seed: 42, steps: 8, scheduler: 'euler-ancestral' as const, guidance: 7.5, width: 512, height: 512 };
  it('has the A1111 layout with A1111 sampler names', () => {
    expect(a1111Parameters(s, { id: 'demo', version: '1.0.0' })).toBe(
      'a cat\nNegative prompt: blurry\nSteps: 8, Sampler: Euler a, CFG scale: 7.5, Seed: 42, Size: 512x512, Model: demo@1.0.0',
    );
  });
  it('leaves the negative line out when there is none, and quotes a value holding a separator', () => {
    expect(a1111Parameters({ ...s, negativePrompt: '', scheduler: 'pndm' }, { id: 'my, model', version: '2' })).toBe(
      'a cat\nSteps: 8, Sampler: PLMS, CFG scale: 7.5, Seed: 42, Size: 512x512, Model: "my, model@2"',
    );
  });
});

describe('schema v6', () => {
  /** A v5 database as the v5 app left it: every v5 store, with a record in each. */
  async function seedV5(): Promise<void> {
    const db = await openRaw(5, (d) => {
      for (const s of ['profiles', 'meta', 'embeddings', 'lock', 'bundles', 'logStats']) d.createObjectStore(s);
      d.createObjectStore('parentLog', { autoIncrement: true });
    });
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction(['profiles', 'meta', 'embeddings', 'lock', 'bundles', 'logStats', 'parentLog'], 'readwrite');
      tx.objectStore('profiles').put(
        { id: 'kid', name: 'Mia', age: 9, gender: 'female', religion: 'None', physical: 'healthy', mental: 'healthy', choices: {}, customWords: [], explanationStyle: 'child', protected: true, createdAt: 1, updatedAt: 1 },
        'kid',
      );
      tx.objectStore('meta').put('kid', 'activeProfileId');
      tx.objectStore('embeddings').put({ encoderId: 'e', embedding: new Float32Array([1, 2]), storedAt: 3 }, 'a'.repeat(64));
      tx.objectStore('lock').put({ some: 'hash record' }, 'secret');
      tx.objectStore('bundles').put({ key: 'demo@1' }, 'demo@1');
      tx.objectStore('logStats').put({ profileId: 'kid' }, 'profile:kid');
      tx.objectStore('parentLog').put({ profileId: 'kid', stage: 'text' });
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    db.close();
  }

  it('v6 is the current version, made by the last step', () => {
    expect(SCHEMA_VERSION).toBe(6);
    expect(MIGRATIONS[5].version).toBe(6);
  });

  it('a v5 database is upgraded: the gallery appears, every other store keeps its records', async () => {
    await seedV5();
    const before = await dumpDatabase();
    expect(await getActiveProfileId()).toBe('kid'); // opens through the app: the upgrade runs
    expect((await getProfile('kid'))?.name).toBe('Mia');
    expect(await listGallery('all')).toEqual([]);
    await closeDatabase();
    const after = await dumpDatabase();
    expect(after.version).toBe(6);
    expect(after.records).toEqual(before.records);
    const db = await openRaw();
    expect(Array.from(db.objectStoreNames)).toContain(STORES.gallery);
    const index = db.transaction(STORES.gallery).objectStore(STORES.gallery).index(GALLERY_BY_PROFILE);
    expect(index.keyPath).toBe('profileKey');
    db.close();
    await saveGalleryEntry(entry('kid'));
    expect(await listGallery({ profileKey: 'kid' })).toHaveLength(1);
  });
});
