// "Erase everything on this device" (the parent's, behind a fresh PIN — the state layer checks that): the whole
// IndexedDB database (profiles, lock, parent log and its counts, embeddings, gallery, the bundles index) and this
// app's localStorage keys. Model files in OPFS are removed through the engine's door before this runs (state/
// device-slice.ts). The offline shell cache holds only the app's own files and stays. After it the page reloads and
// starts as on a first visit: the first-run question, no lock.
import { AppError } from '../shared/errors';
import { closeDatabase } from './db';
import { DB_NAME } from './stores';

const LOCAL_PREFIX = 'psa-web.';

/** Deletes the database and the app's localStorage keys; STORAGE_FAILED when another tab keeps the database open. */
export async function eraseAppData(): Promise<void> {
  await closeDatabase();
  await new Promise<void>((resolve, reject) => {
    const req = indexedDB.deleteDatabase(DB_NAME);
    req.onsuccess = () => resolve();
    req.onerror = () => reject(new AppError('STORAGE_FAILED', `the saved data could not be erased: ${req.error?.message ?? 'unknown error'}`));
    // Another tab holds a connection: its versionchange handler closes it (db.ts); if it does not, say so.
    req.onblocked = () => setTimeout(() => reject(new AppError('STORAGE_FAILED', 'another tab of this app keeps the saved data open: close it and try again')), 10_000);
  });
  try {
    for (const k of Object.keys(globalThis.localStorage ?? {})) if (k.startsWith(LOCAL_PREFIX)) localStorage.removeItem(k);
  } catch {
    // no localStorage (private mode): nothing kept there
  }
}
