// The family's profiles and the active profile id in IndexedDB. Every save is checked first and written in one
// transaction: a reload, a quota error or any failure mid-write leaves the previous version of every record intact.

import { del, get, set, values } from 'idb-keyval';
import { AppError } from '../shared/errors';
import type { Profile } from '../shared/profile';
import { guarded, keyvalStore, transact } from './db';
import { forgetProfileEmbeddings } from './embeddings';
import { forgetProfilePictures } from './gallery';
import { checkProfile } from './profile-check';
import { META_KEYS, STORES } from './stores';

const profileStore = keyvalStore(STORES.profiles);
const metaStore = keyvalStore(STORES.meta);

/** The checked copy of `p`, or a PROFILE_INVALID error listing every problem. */
function checked(p: unknown, at: string): Profile {
  const { profile, problems } = checkProfile(p, at);
  if (!profile) throw new AppError('PROFILE_INVALID', problems.join('; '));
  return profile;
}

/** All saved profiles, oldest first (then by name). */
export async function listProfiles(): Promise<Profile[]> {
  const all = await guarded('reading the profiles', () => values<Profile>(profileStore));
  return all.sort((a, b) => a.createdAt - b.createdAt || a.name.localeCompare(b.name) || (a.id < b.id ? -1 : 1));
}

/** The saved profile with this id, or undefined. */
export function getProfile(id: string): Promise<Profile | undefined> {
  return guarded('reading the profile', () => get<Profile>(id, profileStore));
}

/**
 * Saves (creates or replaces) a profile after the structural check (PROFILE_INVALID names each bad field). The record
 * written holds only the contract's fields. Returns the saved copy.
 */
export async function saveProfile(p: Profile): Promise<Profile> {
  const clean = checked(p, 'profile');
  await guarded('saving the profile', () => set(clean.id, clean, profileStore));
  return clean;
}

/**
 * Saves several profiles all-or-nothing (one transaction): e.g. an import. Ids that already exist are replaced;
 * give colliding imports new ids first (profile-file.ts `withFreshIds`).
 */
export async function saveProfiles(ps: Profile[]): Promise<Profile[]> {
  const clean = ps.map((p, i) => checked(p, `profiles[${i}]`));
  const ids = new Set<string>();
  for (const p of clean) {
    if (ids.has(p.id)) throw new AppError('PROFILE_INVALID', `two profiles share the id ${p.id}`);
    ids.add(p.id);
  }
  await guarded('saving the profiles', () =>
    transact([STORES.profiles], 'readwrite', (tx) => {
      const store = tx.objectStore(STORES.profiles);
      for (const p of clean) store.put(p, p.id);
      return () => undefined;
    }),
  );
  return clean;
}

/**
 * Deletes a profile; if it was the active one, the active id is cleared, and its cached embeddings (derived from
 * its age, religion, health…) are deleted unless another profile uses them, and its kept pictures with it, all in
 * the same transaction.
 */
export function deleteProfile(id: string): Promise<void> {
  return guarded('deleting the profile', () =>
    transact([STORES.profiles, STORES.meta, STORES.embeddings, STORES.gallery], 'readwrite', (tx) => {
      tx.objectStore(STORES.profiles).delete(id);
      forgetProfileEmbeddings(tx, id);
      forgetProfilePictures(tx, id);
      const meta = tx.objectStore(STORES.meta);
      const active = meta.get(META_KEYS.activeProfileId);
      active.onsuccess = () => {
        if (active.result === id) meta.delete(META_KEYS.activeProfileId);
      };
      return () => undefined;
    }),
  );
}

/** The active profile's id, or undefined when none is chosen. */
export function getActiveProfileId(): Promise<string | undefined> {
  return guarded('reading the active profile', () => get<string>(META_KEYS.activeProfileId, metaStore));
}

/**
 * Chooses the active profile (it must be saved: INVALID_REQUEST otherwise), or clears the choice with undefined
 * (then nobody is chosen: see chooseNoProfile for the deliberate "no profile").
 */
export function setActiveProfileId(id: string | undefined): Promise<void> {
  if (id === undefined) return guarded('clearing the active profile', () => del(META_KEYS.activeProfileId, metaStore));
  return guarded('choosing the active profile', () =>
    transact([STORES.profiles, STORES.meta], 'readwrite', (tx, fail) => {
      const exists = tx.objectStore(STORES.profiles).getKey(id);
      exists.onsuccess = () => {
        if (exists.result === undefined) return fail(new AppError('INVALID_REQUEST', `no saved profile has the id ${id}`));
        const meta = tx.objectStore(STORES.meta);
        meta.put(id, META_KEYS.activeProfileId);
        // A later deletion of this profile must not fall back to "no profile": that needs a person's choice again.
        meta.delete(META_KEYS.noProfileChosen);
      };
      return () => undefined;
    }),
  );
}

/** A person chose "no profile (no personal safety)" on purpose: pictures are then made for nobody in particular. */
export function chooseNoProfile(): Promise<void> {
  return guarded('choosing no profile', () =>
    transact([STORES.meta], 'readwrite', (tx) => {
      const meta = tx.objectStore(STORES.meta);
      meta.delete(META_KEYS.activeProfileId);
      meta.put(true, META_KEYS.noProfileChosen);
      return () => undefined;
    }),
  );
}

/** Whether "no profile" was chosen on purpose (false on a first run or an emptied store: nobody has chosen yet). */
export async function noProfileChosen(): Promise<boolean> {
  return (await guarded('reading the active profile', () => get<unknown>(META_KEYS.noProfileChosen, metaStore))) === true;
}
