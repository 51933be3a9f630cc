// Profiles slice: the family's profiles and the active one (loaded from IndexedDB at start), their records' actions
// (create, edit, delete, switch, export, import) behind the parent lock's rules, and — composed here so the app and
// the tests build one thing — the lock (lock-slice.ts), the active profile's embedding (embedding-slice.ts) and
// generation for it (generation-slice.ts). Every guarded action re-reads the stored profiles before deciding (a
// stale screen or a second tab cannot skip a rule) and announces its change to the other tabs (tab-sync.ts).
import type { StateCreator } from 'zustand';
import { toErrorInfo } from '../shared/errors';
import type { Category, CategoryChoice, Policy, Profile, ProfilePreset } from '../shared/profile';
import type { FileLike } from '../storage/profile-file';
import { createEmbeddingSlice, type EmbedFn, type EmbeddingSlice } from './embedding-slice';
import type { EngineSlice } from './engine-slice';
import type { GallerySlice } from './gallery-slice';
import { createGenerationSlice, type GenerationSlice } from './generation-slice';
import { createLockSlice, type LockSlice } from './lock-slice';
import type { LogSlice } from './log-slice';
import { feedback, type FeedbackState } from './profile-feedback';
import type { ProfileDeps } from './profile-deps';
import { announce, onOtherTab } from './tab-sync';

export type { EmbedFn, EmbedOutput, EmbedProgress, EmbeddingState, EmbeddingStatus } from './embedding-slice';
export { type GenerationRefusal } from './generation-slice';
export { UNLOCK_MS, type LockState, type PinPrompt, type PinPurpose } from './lock-slice';
export type { ProfileError, ProfileErrorCode, ProfileNoticeCode } from './profile-feedback';

export interface ProfileRecordsSlice extends FeedbackState {
  profiles: Profile[];
  activeProfileId?: string;
  profilesLoaded: boolean;
  /** A person chose "no profile" on purpose (stored); without it and without an active profile, nothing is made. */
  noProfileChosen: boolean;

  loadProfiles(): Promise<void>;
  /** Re-reads the profiles and the active choice from storage; false (with the panel's error) when it cannot. */
  refreshProfiles(): Promise<boolean>;
  /** A new, unsaved profile from a preset. */
  draftFromPreset(preset: ProfilePreset, name?: string): Profile;
  /** Policy for any profile (saved or a draft being edited): per category, state + reasons + source. */
  policyOf(p: Profile): Policy;
  /** Fields whose value is outside PSA's vocabulary ("other"). */
  outOfVocabulary(p: Profile): string[];
  /** Problems that keep a profile from being saved, in plain words ([] when fine). */
  problemsOf(p: Profile): string[];
  /** Creates or replaces; `pin` authorizes in place of an open session. */
  saveProfile(p: Profile, pin?: string): Promise<boolean>;
  deleteProfile(id: string, pin?: string): Promise<boolean>;
  selectProfile(id: string | undefined, pin?: string): Promise<boolean>;
  /**
   * JSON text of the file, or undefined when refused. Encrypted with `passphrase`; without one it is refused
   * (PASSPHRASE_REQUIRED) unless `plain` says the parent chose a plain file (then any passphrase is not used).
   */
  exportProfileFile(ids: string[], opts?: { passphrase?: string; plain?: boolean; pin?: string }): Promise<string | undefined>;
  /**
   * How many profiles were stored, or undefined when refused. Give the chosen File itself (not its text): its
   * size is checked before it is read.
   */
  importProfileFile(file: string | FileLike, opts?: { passphrase?: string; pin?: string }): Promise<number | undefined>;
  clearProfileMessages(): void;
  /** Follows other tabs: their profile and lock changes are re-read at once (returns the unsubscribe). */
  followOtherTabs(): () => void;
}

/** Everything the profiles side of the store holds: records, the lock, the embedding, generation. */
export type ProfilesSlice = ProfileRecordsSlice & LockSlice & EmbeddingSlice & GenerationSlice;

// The log and gallery slices are optional so the slice can be composed without them (its tests); the app's store has them.
type All = ProfilesSlice & EngineSlice & Partial<Pick<LogSlice, 'recordLog' | 'closeLog'>> & Partial<Pick<GallerySlice, 'keepInGallery'>>;

const byName = (a: Profile, b: Profile) => a.name.localeCompare(b.name) || a.createdAt - b.createdAt;

/** The category choice a parent can still make (the floor cannot be lowered). */
export function choiceOf(p: Profile, c: Category): CategoryChoice | 'follow' {
  return p.choices[c] ?? 'follow';
}

function createRecordsSlice(deps: ProfileDeps): StateCreator<All, [], [], ProfileRecordsSlice> {
  return (set, get) => {
    const { fail, ok, failFrom, guarded } = feedback(set, () => get().refreshLock());
    const refresh = async () => {
      const [profiles, activeProfileId, noProfileChosen] = await Promise.all([deps.listProfiles(), deps.getActiveProfileId(), deps.noProfileChosen()]);
      const active = profiles.some((p) => p.id === activeProfileId) ? activeProfileId : undefined;
      set({ profiles: profiles.sort(byName), activeProfileId: active, noProfileChosen: !active && noProfileChosen });
    };

    return {
      profiles: [],
      activeProfileId: undefined,
      profilesLoaded: false,
      noProfileChosen: false,

      async refreshProfiles() {
        try {
          await refresh();
          return true;
        } catch (e) {
          return failFrom(e);
        }
      },

      async loadProfiles() {
        await guarded(async () => {
          await Promise.all([refresh(), get().refreshLock()]);
          return true;
        });
        set({ profilesLoaded: true });
      },

      draftFromPreset(preset, name) {
        return deps.createProfile(preset, name ? { name } : undefined);
      },
      policyOf: (p) => deps.computePolicy(p),
      outOfVocabulary: (p) => deps.outOfVocabulary(p),
      problemsOf: (p) => deps.validateProfile(p),

      async saveProfile(draft, pin) {
        return guarded(async () => {
          const problems = deps.validateProfile(draft);
          if (problems.length) return fail('PROFILE_INVALID', problems.join('\n'));
          await refresh(); // another tab may have protected it meanwhile: decide on what is stored
          const existing = get().profiles.find((p) => p.id === draft.id);
          if (draft.protected && !(await deps.hasLock())) return fail('NO_LOCK');
          if (!(await get().authorize(draft.protected || !!existing?.protected, 'profile', { pin }))) return false;
          const now = Date.now();
          await deps.saveProfile({ ...draft, createdAt: existing?.createdAt ?? draft.createdAt ?? now, updatedAt: now });
          // The first profile made while nobody is chosen becomes the active one: whoever made it is who the next
          // picture is for. (Not a handover: the parent, still setting up, keeps the session until Lock now or its end.)
          if (!existing && !get().activeProfileId && !get().noProfileChosen) await deps.setActiveProfileId(draft.id);
          await refresh();
          announce('profiles');
          return ok('SAVED');
        });
      },

      async deleteProfile(id, pin) {
        return guarded(async () => {
          await refresh();
          const existing = get().profiles.find((p) => p.id === id);
          if (!existing) return fail('PROFILE_NOT_FOUND');
          if (!(await get().authorize(existing.protected, 'profile', { pin }))) return false;
          await deps.deleteProfile(id);
          if (get().activeProfileId === id) await deps.setActiveProfileId(undefined);
          await refresh();
          announce('profiles');
          return ok('DELETED');
        });
      },

      async selectProfile(id, pin) {
        return guarded(async () => {
          await refresh(); // the active profile as stored, not as this tab last saw it
          const { activeProfileId, profiles, noProfileChosen } = get();
          if (id === activeProfileId && (id !== undefined || noProfileChosen)) {
            // Choosing the profile that is already active (e.g. the one just created) is still a handover.
            if (!profiles.find((p) => p.id === id)?.protected || !get().isUnlocked()) return true;
            get().endSession();
            announce('locked');
            return ok('LOCKED');
          }
          if (id !== undefined && !profiles.some((p) => p.id === id)) return fail('PROFILE_NOT_FOUND');
          const current = profiles.find((p) => p.id === activeProfileId);
          if (!(await get().authorize(!!current?.protected, 'switch', { pin }))) return false;
          if (id === undefined) await deps.chooseNoProfile();
          else await deps.setActiveProfileId(id);
          await refresh();
          announce('profiles');
          // Handing the device over: once a protected profile is active, the parent's session ends (in every tab).
          const next = get().profiles.find((p) => p.id === id);
          if (next?.protected && get().lock.exists) {
            get().endSession();
            announce('locked');
            return ok('LOCKED');
          }
          set({ profileError: undefined });
          return true;
        });
      },

      async exportProfileFile(ids, opts = {}) {
        const chosen = get().profiles.filter((p) => ids.includes(p.id));
        if (!chosen.length) return void fail('PROFILE_NOT_FOUND');
        // Encrypted unless the parent explicitly chose plain: a missing passphrase is never a plain file.
        if (!opts.plain && !opts.passphrase) return void fail('PASSPHRASE_REQUIRED');
        let text: string | undefined;
        const done = await guarded(async () => {
          if (!(await get().authorize(chosen.some((p) => p.protected), 'export', { pin: opts.pin }))) return false;
          try {
            text = await deps.exportProfiles(chosen, opts.plain ? { plain: true } : { passphrase: opts.passphrase });
          } catch (e) {
            return fail('EXPORT_FAILED', toErrorInfo(e).message);
          }
          return ok('EXPORTED', chosen.length);
        });
        return done ? text : undefined;
      },

      async importProfileFile(file, opts = {}) {
        let imported: Profile[];
        try {
          const text = typeof file === 'string' ? file : await deps.readProfileFile(file); // size first, then read
          imported = await deps.importProfiles(text, opts.passphrase ? { passphrase: opts.passphrase } : undefined);
        } catch (e) {
          failFrom(e);
          return undefined;
        }
        // An import only adds: a profile whose id is taken gets a new one, so nothing saved is overwritten.
        imported = deps.withFreshIds(imported, get().profiles.map((p) => p.id));
        const done = await guarded(async () => {
          const anyProtected = imported.some((p) => p.protected);
          if (anyProtected && !(await deps.hasLock())) return fail('NO_LOCK');
          if (!(await get().authorize(anyProtected, 'import', { pin: opts.pin }))) return false;
          await deps.saveProfiles(imported); // all or nothing
          await refresh();
          announce('profiles');
          return ok('IMPORTED', imported.length);
        });
        return done ? imported.length : undefined;
      },

      clearProfileMessages() {
        set({ profileError: undefined, profileNotice: undefined });
      },

      followOtherTabs() {
        return onOtherTab((change) => {
          if (change === 'locked') get().endSession();
          if (change === 'lock') void get().refreshLock().catch(() => undefined);
          if (change === 'profiles') void refresh().then(() => get().ensureEmbedding()).catch(() => undefined);
        });
      },
    };
  };
}

/** The profiles side of the store: records, lock, embedding and generation, composed (zustand's slices pattern). */
export function createProfilesSlice(deps: ProfileDeps, embed: EmbedFn): StateCreator<All, [], [], ProfilesSlice> {
  return (...a) => ({
    ...createRecordsSlice(deps)(...a),
    ...createLockSlice(deps)(...a),
    ...createEmbeddingSlice(deps, embed)(...a),
    ...createGenerationSlice(deps)(...a),
  });
}
