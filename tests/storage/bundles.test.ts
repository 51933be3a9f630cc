// The installed-bundles index (storage/bundles.ts) on fake-indexeddb: schema v4 creates its store from a v3
// database without touching the v3 data; records are stored, listed oldest first, replaced and removed by key with
// their sizes derived from the files; malformed records are refused with the problem named.
import { beforeEach, describe, expect, it } from 'vitest';
import { dumpDatabase, freshDatabase, openRaw } from './helpers';
import { AppError } from '../../src/shared/errors';
import { closeDatabase, getDatabase } from '../../src/storage/db';
import { SCHEMA_VERSION } from '../../src/storage/migrations';
import {
  bundleSizes, checkBundleRecord, getBundleRecord, listBundleRecords, putBundleRecord, removeBundleRecord, type BundleRecord,
} from '../../src/storage/bundles';
import { STORES } from '../../src/storage/stores';

beforeEach(freshDatabase);

/** A record written out by hand: two files, the first finished, the second 300 of 1000 bytes in. */
function record(over: Partial<BundleRecord> = {}): BundleRecord {
  const id = over.id ?? 'demo';
  const version = over.version ?? '1.0.0';
  return {
    key: `${id}@${version}`, id, version, name: 'Demo', source: { kind: 'url', url: 'http://127.0.0.1:9/demo/' },
    layout: 'manifest', variants: { unet: 'fp32' }, state: 'partial', phase: 'paused',
    files: [
      { path: 'unet/model.onnx', bytes: 500, sha256: 'a'.repeat(64), offset: 500, done: true, actualSha256: 'a'.repeat(64) },
      { path: 'vae_decoder/model.onnx', bytes: 1000, offset: 300, hashState: 'AAAA', validator: '"v1"', done: false },
    ],
    totalBytes: 0, storedBytes: 0, final: { path: 'manifest.json', text: '{}' }, createdAt: 1000,
    ...over,
  };
}

describe('schema v4', () => {
  it('a v3 database gets the bundles store; its own records stay as they were', async () => {
    const db = await openRaw(3, (d) => {
      for (const s of ['profiles', 'meta', 'embeddings', 'lock']) d.createObjectStore(s);
      d.createObjectStore('parentLog', { autoIncrement: true });
    });
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction(['meta', 'parentLog'], 'readwrite');
      tx.objectStore('meta').put('kid', 'activeProfileId');
      tx.objectStore('parentLog').add({ time: 1, action: 'blocked' });
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    db.close();
    const before = await dumpDatabase();
    expect(before.version).toBe(3);

    expect(await listBundleRecords()).toEqual([]); // opens (and migrates) the database
    const conn = await getDatabase();
    expect(conn.version).toBe(SCHEMA_VERSION);
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(4); // v4 and every later step
    expect(Array.from(conn.objectStoreNames)).toContain(STORES.bundles);
    await putBundleRecord(record());
    await closeDatabase();
    const after = await dumpDatabase();
    expect(after.records.filter(([s]) => s !== STORES.bundles)).toEqual(before.records);
    expect(after.records.filter(([s]) => s === STORES.bundles).map(([, k]) => k)).toEqual(['demo@1.0.0']);
  });
});

describe('bundles index', () => {
  it('put → get → list (oldest first) → replace → remove, by key, with sizes derived from the files', async () => {
    const stored = await putBundleRecord(record({ totalBytes: 123, storedBytes: 456 })); // wrong sizes are recomputed
    expect(stored).toMatchObject({ totalBytes: 1500, storedBytes: 800 });
    expect(await getBundleRecord('demo@1.0.0')).toEqual(stored);
    await putBundleRecord(record({ version: '2.0.0', createdAt: 500, source: { kind: 'import', folderName: 'my-folder' } }));
    await putBundleRecord(record({ id: 'other', createdAt: 2000, source: { kind: 'demo', url: '/models/demo/' } }));
    expect((await listBundleRecords()).map((r) => r.key)).toEqual(['demo@2.0.0', 'demo@1.0.0', 'other@1.0.0']);

    const finished = record({ state: 'complete', phase: undefined, installedAt: 3000 });
    finished.files = finished.files.map((f) => ({ ...f, offset: f.bytes!, done: true, hashState: undefined }));
    await putBundleRecord(finished);
    expect(await getBundleRecord('demo@1.0.0')).toMatchObject({ state: 'complete', storedBytes: 1500, installedAt: 3000 });

    await removeBundleRecord('demo@1.0.0');
    expect(await getBundleRecord('demo@1.0.0')).toBeUndefined();
    // Only that key: the other version of the same bundle and the other bundle stay.
    expect((await listBundleRecords()).map((r) => r.key)).toEqual(['demo@2.0.0', 'other@1.0.0']);
    await expect(removeBundleRecord('absent@1')).resolves.toBeUndefined();
  });

  it('sizes count a finished file whole, a partial one up to its checkpoint, and a size learnt from the server', () => {
    expect(bundleSizes([
      { path: 'a', bytes: 10, offset: 10, done: true },
      { path: 'b', offset: 4, serverBytes: 20, done: false },
      { path: 'c', offset: 0, done: false },
    ])).toEqual({ totalBytes: 30, storedBytes: 14 });
  });

  it('refuses a malformed record with the problem named, and stores nothing', async () => {
    const cases: [Partial<BundleRecord> | Record<string, unknown>, RegExp][] = [
      [{ key: 'demo@9.9.9' }, /key "demo@9\.9\.9" must be "demo@1\.0\.0"/],
      [{ id: '../x', key: '../x@1.0.0' }, /id "\.\.\/x" is not a path-safe name/],
      [{ version: '1/2', key: 'demo@1/2' }, /version "1\/2" is not a path-safe name/],
      [{ source: { kind: 'ftp', url: 'x' } as never }, /source\.kind must be url, import or demo/],
      [{ source: { kind: 'import' } as never }, /an imported bundle needs source\.folderName/],
      [{ source: { kind: 'url' } as never }, /a url bundle needs source\.url/],
      [{ state: 'half' as never }, /state must be partial or complete/],
      [{ phase: undefined }, /a partial bundle needs a phase/],
      [{ state: 'complete', phase: undefined }, /a complete bundle has a file that is not done/],
      [{ files: [] }, /files must list at least one file/],
      [{ files: [{ path: '../escape', offset: 0, done: false }] }, /files\[0\]\.path "\.\.\/escape" is not a relative path/],
      [{ files: [{ path: 'a', offset: -1, done: false }] }, /files\[0\]\.offset must be a byte count/],
    ];
    for (const [over, problem] of cases) {
      const bad = { ...record(), ...over } as BundleRecord;
      expect(checkBundleRecord(bad).join('; '), JSON.stringify(over)).toMatch(problem);
      const err = await putBundleRecord(bad).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('INVALID_REQUEST');
      expect((err as AppError).message).toMatch(problem);
    }
    expect(await listBundleRecords()).toEqual([]);
    expect(checkBundleRecord(record())).toEqual([]);
  });

  it('a write the browser refuses for quota leaves the previous record whole and says STORAGE_FULL', async () => {
    const { interruptNextPut } = await import('./helpers');
    const first = await putBundleRecord(record());
    const moved = record();
    moved.files[1] = { ...moved.files[1], offset: 900 };
    interruptNextPut('quota-abort');
    const err = await putBundleRecord(moved).catch((e: unknown) => e);
    expect((err as AppError).code).toBe('STORAGE_FULL');
    expect(await getBundleRecord('demo@1.0.0')).toEqual(first);
  });
});
