// Opening the app's IndexedDB database (running schema migrations), idb-keyval store handles on it, multi-store
// transactions, and the translation of IndexedDB failures into coded AppErrors (quota, newer schema, interrupted).

import type { UseStore } from 'idb-keyval';
import { promisifyRequest } from 'idb-keyval';
import { AppError } from '../shared/errors';
import { MIGRATIONS, runMigrations, type Migration } from './migrations';
import { DB_NAME, type StoreName } from './stores';

let dbPromise: Promise<IDBDatabase> | undefined;
let openSteps: readonly Migration[] = MIGRATIONS;

const errorName = (e: unknown): string => (e && typeof e === 'object' && 'name' in e ? String((e as { name: unknown }).name) : '');
const errorMessage = (e: unknown): string => (e instanceof Error || (e && typeof e === 'object' && 'message' in e) ? String((e as { message: unknown }).message) : String(e));

/**
 * Any failure of an IndexedDB call → a coded AppError saying what happened to the data. `action` names the operation
 * ("saving the profile"). A null reason is what idb-keyval passes on when a transaction was aborted without an error
 * (the page went away, or our own abort): the write did not happen.
 */
export function storageError(err: unknown, action: string): AppError {
  if (err instanceof AppError) return err;
  const name = errorName(err);
  if (name === 'QuotaExceededError') {
    return new AppError('STORAGE_FULL', `${action}: the browser's storage for this site is full, so nothing was written and nothing was lost (${errorMessage(err)})`);
  }
  if (err == null || name === 'AbortError') {
    return new AppError('STORAGE_FAILED', `${action} was interrupted before it finished; nothing was written and the previous version is kept`);
  }
  return new AppError('STORAGE_FAILED', `${action} failed: ${name ? name + ': ' : ''}${errorMessage(err)}`);
}

/** Reads the version of an existing database without upgrading it (for the "newer version" message). */
function existingVersion(): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = indexedDB.open(DB_NAME);
    req.onsuccess = () => {
      const v = req.result.version;
      req.result.close();
      resolve(v);
    };
    req.onerror = () => resolve(undefined);
  });
}

function open(steps: readonly Migration[]): Promise<IDBDatabase> {
  const target = steps[steps.length - 1].version;
  return new Promise<IDBDatabase>((resolve, reject) => {
    if (typeof indexedDB === 'undefined') {
      reject(new AppError('STORAGE_FAILED', 'this browser offers no IndexedDB here (private browsing, or storage disabled), so profiles cannot be saved'));
      return;
    }
    let migrationError: unknown;
    let from = 0;
    const req = indexedDB.open(DB_NAME, target);
    req.onupgradeneeded = (ev) => {
      from = ev.oldVersion;
      const tx = req.transaction!;
      try {
        runMigrations(req.result, tx, ev.oldVersion, target, steps);
      } catch (e) {
        migrationError = e;
        tx.abort(); // the versionchange transaction rolls back: the database stays at its old version, untouched
      }
    };
    // Another tab holds an older connection: it closes itself on `versionchange` (below), then this open proceeds.
    req.onblocked = () => undefined;
    req.onsuccess = () => {
      const db = req.result;
      db.onversionchange = () => {
        // A newer tab wants to upgrade: let it (our next call reopens and then sees the newer version).
        db.close();
        if (dbPromise) dbPromise = undefined;
      };
      db.onclose = () => {
        dbPromise = undefined;
      };
      resolve(db);
    };
    req.onerror = () => {
      const err = req.error;
      if (errorName(err) === 'VersionError') {
        void existingVersion().then((v) =>
          reject(
            new AppError(
              'STORAGE_NEWER_VERSION',
              `the saved data has schema version ${v ?? 'unknown'}, newer than this app's ${target}; it was left untouched — update the app to use it`,
            ),
          ),
        );
        return;
      }
      if (migrationError !== undefined) {
        reject(new AppError('STORAGE_FAILED', `upgrading the saved data from schema ${from} to ${target} failed (${errorMessage(migrationError)}); the data was left as it was`));
        return;
      }
      reject(storageError(err, 'opening the database'));
    };
  });
}

/** The open connection (opened, and migrated, on first use; reopened after a close or a newer tab's upgrade). */
export function getDatabase(): Promise<IDBDatabase> {
  if (!dbPromise) {
    const p = open(openSteps);
    dbPromise = p;
    p.catch(() => {
      if (dbPromise === p) dbPromise = undefined;
    });
  }
  return dbPromise;
}

/**
 * Closes the connection (the next call reopens it). Tests use it to stand for a reload; `steps` replaces the
 * migration list for the next open (tests only: a failing step, a newer schema).
 */
export async function closeDatabase(steps: readonly Migration[] = MIGRATIONS): Promise<void> {
  const p = dbPromise;
  dbPromise = undefined;
  openSteps = steps;
  if (p) {
    try {
      (await p).close();
    } catch {
      // it never opened: nothing to close
    }
  }
}

/** A transaction on the open connection, reopening once if the connection was closed under us. */
async function transaction(names: StoreName | StoreName[], mode: IDBTransactionMode): Promise<IDBTransaction> {
  try {
    return (await getDatabase()).transaction(names, mode);
  } catch (e) {
    if (errorName(e) !== 'InvalidStateError') throw e;
    dbPromise = undefined;
    return (await getDatabase()).transaction(names, mode);
  }
}

/** An idb-keyval store handle for one object store of the app's database (for get/set/del/values/…). */
export function keyvalStore(name: StoreName): UseStore {
  return async (mode, callback) => callback((await transaction(name, mode)).objectStore(name));
}

/**
 * One transaction over several stores. `body` issues its requests synchronously (and in their callbacks) and
 * returns a function that reads the outcome once the transaction has committed; it may call `fail(error)` to abort
 * with that error. Everything in it is written, or nothing (a `fail`, a quota error, the page going away mid-write).
 */
export async function transact<T>(
  names: StoreName[],
  mode: IDBTransactionMode,
  body: (tx: IDBTransaction, fail: (error: Error) => void) => () => T,
): Promise<T> {
  const tx = await transaction(names, mode);
  let failure: Error | undefined;
  const fail = (error: Error) => {
    failure ??= error;
    try {
      tx.abort();
    } catch {
      // already finishing: the failure is still reported below
    }
  };
  let outcome: (() => T) | undefined;
  try {
    outcome = body(tx, fail);
  } catch (e) {
    fail(e instanceof Error ? e : new Error(String(e)));
  }
  try {
    await promisifyRequest(tx);
  } catch (e) {
    throw failure ?? e;
  }
  if (failure) throw failure;
  return outcome!();
}

/** Runs an IndexedDB operation, turning its failures into coded AppErrors naming `action`. */
export async function guarded<T>(action: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (e) {
    throw storageError(e, action);
  }
}
