// What the profiles slice needs from the rooms below it (src/safety, src/storage, the engine's embed), as one
// interface: the slice is written against it so its lock rules and embedding orchestration can be tested with the
// real modules on fake-indexeddb, or with stand-ins where a test needs to watch a call (e.g. count embeddings).
import type { Policy, Profile, ProfilePreset, PsaFields } from '../shared/profile';
import { computePolicy } from '../safety/policy';
import { createProfile, outOfVocabulary, profileToPsaFields, validateProfile } from '../safety/profile';
import { renderEmbeddingText } from '../safety/embedding-text';
import * as profileStore from '../storage/profiles';
import * as embeddingStore from '../storage/embeddings';
import * as lockStore from '../storage/lock';
import * as parentSession from '../storage/parent-session';
import { exportProfiles, importProfiles, readProfileFile, withFreshIds, type ExportOptions, type FileLike } from '../storage/profile-file';

export type VerifyResult = { ok: true } | { ok: false; retryAfterMs: number; reason: 'wrong' | 'throttled' };

export interface ProfileDeps {
  // src/safety (pure)
  createProfile(preset: ProfilePreset, opts?: { name?: string; now?: number; id?: string }): Profile;
  validateProfile(p: unknown): string[];
  outOfVocabulary(p: Profile): string[];
  computePolicy(p: Profile): Policy;
  profileToPsaFields(p: Profile, policy: Policy): PsaFields;
  renderEmbeddingText(template: string, f: PsaFields): string;
  // src/storage/profiles
  listProfiles(): Promise<Profile[]>;
  saveProfile(p: Profile): Promise<void>;
  /** All-or-nothing (one transaction). */
  saveProfiles(ps: Profile[]): Promise<void>;
  deleteProfile(id: string): Promise<void>;
  getActiveProfileId(): Promise<string | undefined>;
  setActiveProfileId(id: string | undefined): Promise<void>;
  /** A person chose "no profile" on purpose. */
  chooseNoProfile(): Promise<void>;
  /** Whether "no profile" was chosen on purpose (false: nobody has chosen yet — no picture is made). */
  noProfileChosen(): Promise<boolean>;
  // src/storage/embeddings
  embeddingKey(encoderId: string, text: string): Promise<string>;
  /** With `profileId`, a hit records that profile as a user of the entry (so deleting another keeps it). */
  getCachedEmbedding(key: string, profileId?: string): Promise<Float32Array | undefined>;
  /** `profileId`: whose embedding it is, so deleting that profile deletes it. */
  putCachedEmbedding(key: string, embedding: Float32Array, encoderId: string, profileId?: string): Promise<void>;
  // src/storage/lock
  hasLock(): Promise<boolean>;
  /** Throws AppError LOCK_WRONG / LOCK_THROTTLED (with retryAfterMs) / LOCK_SECRET_INVALID. */
  setLock(secret: string, current?: string): Promise<void>;
  /** Throws AppError LOCK_WRONG / LOCK_THROTTLED (with retryAfterMs). */
  removeLock(secret: string): Promise<void>;
  verifyLock(secret: string): Promise<VerifyResult>;
  // src/storage/parent-session
  /** verifyLock, and on success this tab's parent session (a token for storage calls that need the parent). */
  openParentSession(secret: string, ms: number): Promise<VerifyResult & { session?: string }>;
  renewParentSession(token: string, ms: number): boolean;
  endParentSession(): void;
  lockStatus(): Promise<{ locked: boolean; retryAfterMs: number; failures: number }>;
  validateSecret(secret: string): string | undefined;
  // src/storage/profile-file
  /** Encrypted with `passphrase`; plain only with `plain: true` (INVALID_REQUEST otherwise). */
  exportProfiles(profiles: Profile[], opts?: ExportOptions): Promise<string>;
  /** A chosen file's text, refused (IMPORT_INVALID) by its size before it is read. */
  readProfileFile(file: FileLike): Promise<string>;
  /** Throws AppError IMPORT_INVALID with the exact problem; never returns part of a file. */
  importProfiles(text: string, opts?: { passphrase?: string }): Promise<Profile[]>;
  /** New ids for imported profiles whose ids are taken, so an import never overwrites a saved profile. */
  withFreshIds(profiles: Profile[], existingIds: Iterable<string>): Profile[];
}

/** The real modules. */
export const realProfileDeps: ProfileDeps = {
  createProfile,
  validateProfile,
  outOfVocabulary,
  computePolicy,
  profileToPsaFields,
  renderEmbeddingText,
  listProfiles: profileStore.listProfiles,
  saveProfile: async (p) => void (await profileStore.saveProfile(p)),
  saveProfiles: async (ps) => void (await profileStore.saveProfiles(ps)),
  deleteProfile: async (id) => void (await profileStore.deleteProfile(id)),
  getActiveProfileId: profileStore.getActiveProfileId,
  setActiveProfileId: async (id) => void (await profileStore.setActiveProfileId(id)),
  chooseNoProfile: profileStore.chooseNoProfile,
  noProfileChosen: profileStore.noProfileChosen,
  embeddingKey: embeddingStore.embeddingKey,
  getCachedEmbedding: embeddingStore.getCachedEmbedding,
  putCachedEmbedding: async (k, e, id, profileId) => void (await embeddingStore.putCachedEmbedding(k, e, id, profileId)),
  hasLock: lockStore.hasLock,
  setLock: async (s, c) => void (await lockStore.setLock(s, c)),
  removeLock: async (s) => void (await lockStore.removeLock(s)),
  verifyLock: lockStore.verifyLock,
  openParentSession: parentSession.openParentSession,
  renewParentSession: parentSession.renewParentSession,
  endParentSession: parentSession.endParentSession,
  lockStatus: lockStore.lockStatus,
  validateSecret: lockStore.validateSecret,
  exportProfiles,
  readProfileFile,
  importProfiles,
  withFreshIds: (ps, ids) => withFreshIds(ps, ids),
};
