// Shared by the storage tests: a clean fake-indexeddb database per test, a raw dump of every store, and profiles
// written out by hand (not made by src/safety, so these tests do not lean on another module's output).
import 'fake-indexeddb/auto';
import type { Profile } from '../../src/shared/profile';
import { closeDatabase } from '../../src/storage/db';
import { DB_NAME } from '../../src/storage/stores';

export function deleteDatabase(name = DB_NAME): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.deleteDatabase(name);
    req.onsuccess = () => resolve();
    req.onerror = () => reject(req.error);
    req.onblocked = () => reject(new Error('delete blocked: a connection is still open'));
  });
}

/** Closes the app's connection and deletes the database (call in beforeEach). */
export async function freshDatabase(): Promise<void> {
  await closeDatabase();
  await deleteDatabase();
}

/** Opens the database raw at a given version (no migrations of ours), runs `upgrade` if it is created/upgraded. */
export function openRaw(version?: number, upgrade?: (db: IDBDatabase, tx: IDBTransaction) => void): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = version === undefined ? indexedDB.open(DB_NAME) : indexedDB.open(DB_NAME, version);
    req.onupgradeneeded = () => upgrade?.(req.result, req.transaction!);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Every [store, key, value] in the database, read with a separate raw connection. */
export async function dumpDatabase(): Promise<{ version: number; records: [string, IDBValidKey, unknown][] }> {
  const db = await openRaw();
  try {
    const records: [string, IDBValidKey, unknown][] = [];
    const names = Array.from(db.objectStoreNames);
    if (names.length) {
      const tx = db.transaction(names, 'readonly');
      await Promise.all(
        names.map(
          (n) =>
            new Promise<void>((resolve, reject) => {
              const req = tx.objectStore(n).openCursor();
              req.onsuccess = () => {
                const c = req.result;
                if (!c) return resolve();
                records.push([n, c.key, c.value]);
                c.continue();
              };
              req.onerror = () => reject(req.error);
            }),
        ),
      );
    }
    return { version: db.version, records };
  } finally {
    db.close();
  }
}

let serial = 0;
/** A valid profile written out field by field. */
export function sampleProfile(over: Partial<Profile> = {}): Profile {
  serial++;
  return {
    id: `id-${serial}`,
    name: `Kid ${serial}`,
    age: 9,
    gender: 'female',
    religion: 'None',
    physical: 'healthy',
    mental: 'healthy',
    choices: { Violence: 'ban' },
    customWords: ['spider'],
    explanationStyle: 'child',
    protected: true,
    preset: 'child',
    createdAt: 1_700_000_000_000 + serial,
    updatedAt: 1_700_000_000_000 + serial,
    ...over,
  };
}

/** Makes the next `put` on any object store abort its transaction right after issuing the write (a reload mid-save). */
export function interruptNextPut(how: 'abort' | 'quota-throw' | 'quota-abort' = 'abort'): () => void {
  const proto = IDBObjectStore.prototype;
  const original = proto.put;
  proto.put = function (this: IDBObjectStore, ...args: Parameters<IDBObjectStore['put']>) {
    proto.put = original; // once
    if (how === 'quota-throw') throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    const req = original.apply(this, args);
    const tx = this.transaction;
    if (how === 'quota-abort') {
      // What a browser does when the disk quota runs out at commit: the transaction aborts with this error.
      Object.defineProperty(tx, 'error', { value: new DOMException('The quota has been exceeded.', 'QuotaExceededError') });
    }
    tx.abort();
    return req;
  };
  return () => {
    proto.put = original;
  };
}
