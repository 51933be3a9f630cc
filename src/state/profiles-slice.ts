// Profiles slice: the family's profiles and the active one (loaded from IndexedDB at start), the parent lock's
// rules, and the active profile's PSA user embedding. The lock rules are enforced here, not only in the UI: every
// action that needs the parent checks the stored lock itself (a stale screen or a second tab cannot skip it).
// Generation for the active profile also lives here, because it must wait for that profile's embedding.
import type { StateCreator } from 'zustand';
import { AppError, toErrorInfo, type ErrorCode, type ErrorInfo } from '../shared/errors';
import type { Category, CategoryChoice, Policy, Profile, ProfilePreset } from '../shared/profile';
import type { GenerateParams } from '../shared/types';
import type { FileLike } from '../storage/profile-file';
import type { EngineSlice } from './engine-slice';
import { imageStage, planGeneration, textLogEvents, withSemantic, type GuardOutcome } from './guard-flow';
import type { LogSlice } from './log-slice';
import type { ProfileDeps } from './profile-deps';

/** How long one PIN entry keeps the parent's session open (memory only: a reload locks again). */
export const UNLOCK_MS = 10 * 60_000;

/** What went wrong with a profile action; src/ui/messages.ts turns each into words. */
export type ProfileErrorCode =
  | 'PIN_REQUIRED'
  | 'WRONG_PIN'
  | 'THROTTLED'
  | 'PIN_INVALID'
  | 'NO_LOCK'
  | 'PROFILE_INVALID'
  | 'PROFILE_NOT_FOUND'
  | 'IMPORT_FAILED'
  | 'EXPORT_FAILED'
  | 'PASSPHRASE_REQUIRED'
  | 'STORAGE_FAILED';

/** What went right (a short confirmation the panel shows). */
export type ProfileNoticeCode = 'SAVED' | 'DELETED' | 'IMPORTED' | 'EXPORTED' | 'PIN_SET' | 'PIN_CHANGED' | 'PIN_REMOVED' | 'UNLOCKED' | 'LOCKED';

export interface ProfileError {
  code: ProfileErrorCode;
  /** Technical or specific detail (validation problems, the import error's message). */
  detail?: string;
  /** For WRONG_PIN / THROTTLED: when the next try is allowed (epoch ms). */
  retryAt?: number;
  /** For STORAGE_FAILED: the storage layer's own code (e.g. STORAGE_FULL), which has its own words. */
  cause?: ErrorCode;
}

export interface LockState {
  /** A parent PIN or passphrase is set. */
  exists: boolean;
  /** The parent's session is open until then (epoch ms); 0 = locked. */
  unlockedUntil: number;
  /** Persisted throttle (lock.ts): no try is accepted before then (epoch ms); 0 = none. */
  retryAt: number;
  failures: number;
}

/**
 * 'encoder-removed': the profile needs a new embedding but the bundle's profile encoder files were removed to save
 * space (cached embeddings still apply). Generation for it is refused, like an error: never the zero embedding.
 */
export type EmbeddingStatus = 'none' | 'unsupported' | 'computing' | 'ready' | 'error' | 'encoder-removed';

export interface EmbeddingState {
  status: EmbeddingStatus;
  /** The profile it belongs to. */
  profileId?: string;
  /** Storage key: hash of encoder identity + exact rendered text. */
  key?: string;
  vector?: Float32Array;
  /** Came from the cache rather than the encoder. */
  fromCache?: boolean;
  progress?: EmbedProgress;
  ms?: number;
  error?: ErrorInfo;
}

/** The engine's `embed-progress` event, less its routing fields. */
export interface EmbedProgress {
  phase: 'load' | 'tokenize' | 'run' | 'release';
  loaded?: number;
  total?: number;
}

export interface EmbedOutput {
  embedding: Float32Array;
  encoderId: string;
  tokens: number;
  ms: number;
}

/** The engine's embed, reached through the engine slice's client (the engine's one door). */
export type EmbedFn = (text: string, onProgress?: (p: EmbedProgress) => void) => Promise<EmbedOutput>;

export interface ProfilesSlice {
  profiles: Profile[];
  activeProfileId?: string;
  profilesLoaded: boolean;
  lock: LockState;
  profileError?: ProfileError;
  profileNotice?: { code: ProfileNoticeCode; count?: number };
  embedding: EmbeddingState;
  /**
   * The profile the shown result was made for (undefined before any result); `personalized` is false when the
   * model has no profile encoder, so the profile could not steer the picture.
   */
  resultProfile?: { id?: string; name: string; personalized: boolean };
  /** What the safety layers did for the shown result (or the blocked prompt); undefined with no profile. */
  guardOutcome?: GuardOutcome;

  loadProfiles(): Promise<void>;
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
  unlock(pin: string): Promise<boolean>;
  lockNow(): void;
  isUnlocked(): boolean;
  /** Sets the first PIN, or changes it (then `current` is required). */
  setPin(secret: string, current?: string): Promise<boolean>;
  removePin(current: string): Promise<boolean>;
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
  /** The active profile's embedding (cached or computed); undefined = no profile / no encoder → zero embedding. */
  ensureEmbedding(): Promise<Float32Array | undefined>;
  /**
   * Generates with the active profile's embedding and records which profile the result is for; the prompt guard,
   * steering and the image stage (guard-flow.ts) act first and around it, and each intervention is logged.
   */
  generateForActive(params: GenerateParams): Promise<void>;
}

// The log slice is optional so the slice can be composed without it (its tests); the app's store has it.
type All = ProfilesSlice & EngineSlice & Partial<Pick<LogSlice, 'recordLog'>>;

const byName = (a: Profile, b: Profile) => a.name.localeCompare(b.name) || a.createdAt - b.createdAt;

/** The category choice a parent can still make (the floor cannot be lowered). */
export function choiceOf(p: Profile, c: Category): CategoryChoice | 'follow' {
  return p.choices[c] ?? 'follow';
}

export function createProfilesSlice(deps: ProfileDeps, embed: EmbedFn): StateCreator<All, [], [], ProfilesSlice> {
  return (set, get) => {
    // The embedding being computed (one at a time; a second caller for the same key shares it).
    let inflight: { key: string; promise: Promise<Float32Array | undefined> } | undefined;
    // The key the latest ensureEmbedding asked for: a slower, older computation must not overwrite a newer one.
    let wanted: string | undefined;
    // Embeddings run one after another: the engine does one job at a time (a switch mid-computation queues).
    let queue: Promise<unknown> = Promise.resolve();

    const fail = (code: ProfileErrorCode, detail?: string, retryAt?: number) => {
      set({ profileError: { code, detail, retryAt }, profileNotice: undefined });
      return false as const;
    };
    const ok = (code: ProfileNoticeCode, count?: number) => {
      set({ profileError: undefined, profileNotice: { code, count } });
      return true as const;
    };
    const refresh = async () => {
      const [profiles, activeProfileId] = await Promise.all([deps.listProfiles(), deps.getActiveProfileId()]);
      const active = profiles.some((p) => p.id === activeProfileId) ? activeProfileId : undefined;
      set({ profiles: profiles.sort(byName), activeProfileId: active });
    };
    const refreshLock = async (): Promise<LockState> => {
      const [exists, status] = await Promise.all([deps.hasLock(), deps.lockStatus()]);
      const lock: LockState = {
        exists,
        unlockedUntil: exists ? get().lock.unlockedUntil : 0,
        retryAt: status.retryAfterMs > 0 ? Date.now() + status.retryAfterMs : 0,
        failures: status.failures,
      };
      set({ lock });
      return lock;
    };

    /**
     * The one gate for parent-only actions. `need` says whether this action touches something protected. The
     * stored lock is read fresh (another tab may have set it); an open session or a correct `pin` lets it through.
     */
    const authorize = async (need: boolean, pin?: string): Promise<boolean> => {
      if (!need) return true;
      const lock = await refreshLock();
      if (!lock.exists) return true;
      if (get().isUnlocked()) {
        set({ lock: { ...get().lock, unlockedUntil: Date.now() + UNLOCK_MS } });
        return true;
      }
      if (pin) return get().unlock(pin);
      return fail('PIN_REQUIRED');
    };

    const verify = async (pin: string): Promise<boolean> => {
      const r = await deps.verifyLock(pin);
      if (r.ok) {
        set({ lock: { ...get().lock, retryAt: 0, failures: 0 } });
        return true;
      }
      await refreshLock();
      const retryAt = r.retryAfterMs > 0 ? Date.now() + r.retryAfterMs : undefined;
      if (retryAt) set({ lock: { ...get().lock, retryAt: Math.max(get().lock.retryAt, retryAt) } });
      return fail(r.reason === 'throttled' ? 'THROTTLED' : 'WRONG_PIN', undefined, retryAt);
    };

    /** A coded failure from below (storage, lock, file) → the panel's error. */
    const failFrom = (e: unknown): false => {
      const info = toErrorInfo(e);
      const wait = (e as { retryAfterMs?: unknown }).retryAfterMs;
      const retryAt = typeof wait === 'number' && wait > 0 ? Date.now() + wait : undefined;
      switch (info.code) {
        case 'LOCK_WRONG':
          return fail('WRONG_PIN', undefined, retryAt);
        case 'LOCK_THROTTLED':
          return fail('THROTTLED', undefined, retryAt);
        case 'LOCK_SECRET_INVALID':
          return fail('PIN_INVALID', info.message);
        case 'PROFILE_INVALID':
          return fail('PROFILE_INVALID', info.message);
        case 'IMPORT_INVALID':
          return fail('IMPORT_FAILED', info.message);
        default:
          set({ profileError: { code: 'STORAGE_FAILED', detail: info.message, cause: info.code }, profileNotice: undefined });
          return false;
      }
    };
    const guardStorage = async (fn: () => Promise<boolean>): Promise<boolean> => {
      try {
        return await fn();
      } catch (e) {
        const r = failFrom(e);
        // A refused PIN changes the persisted throttle: show it.
        await refreshLock().catch(() => undefined);
        return r;
      }
    };

    return {
      profiles: [],
      activeProfileId: undefined,
      profilesLoaded: false,
      lock: { exists: false, unlockedUntil: 0, retryAt: 0, failures: 0 },
      embedding: { status: 'none' },

      async loadProfiles() {
        await guardStorage(async () => {
          await Promise.all([refresh(), refreshLock()]);
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
        return guardStorage(async () => {
          const problems = deps.validateProfile(draft);
          if (problems.length) return fail('PROFILE_INVALID', problems.join('\n'));
          const existing = get().profiles.find((p) => p.id === draft.id);
          if (draft.protected && !(await deps.hasLock())) return fail('NO_LOCK');
          if (!(await authorize(draft.protected || !!existing?.protected, pin))) return false;
          const now = Date.now();
          await deps.saveProfile({ ...draft, createdAt: existing?.createdAt ?? draft.createdAt ?? now, updatedAt: now });
          await refresh();
          return ok('SAVED');
        });
      },

      async deleteProfile(id, pin) {
        return guardStorage(async () => {
          const existing = get().profiles.find((p) => p.id === id);
          if (!existing) return fail('PROFILE_NOT_FOUND');
          if (!(await authorize(existing.protected, pin))) return false;
          await deps.deleteProfile(id);
          if (get().activeProfileId === id) await deps.setActiveProfileId(undefined);
          await refresh();
          return ok('DELETED');
        });
      },

      async selectProfile(id, pin) {
        return guardStorage(async () => {
          const { activeProfileId, profiles } = get();
          if (id === activeProfileId) return true;
          if (id !== undefined && !profiles.some((p) => p.id === id)) return fail('PROFILE_NOT_FOUND');
          const current = profiles.find((p) => p.id === activeProfileId);
          if (!(await authorize(!!current?.protected, pin))) return false;
          await deps.setActiveProfileId(id);
          await refresh();
          // Handing the device over: once a protected profile is active, the parent's session ends.
          const next = get().profiles.find((p) => p.id === id);
          if (next?.protected && get().lock.exists) {
            set({ lock: { ...get().lock, unlockedUntil: 0 } });
            return ok('LOCKED');
          }
          set({ profileError: undefined });
          return true;
        });
      },

      async unlock(pin) {
        return guardStorage(async () => {
          const lock = await refreshLock();
          if (!lock.exists) return fail('NO_LOCK');
          if (!(await verify(pin))) return false;
          set({ lock: { ...get().lock, unlockedUntil: Date.now() + UNLOCK_MS } });
          return ok('UNLOCKED');
        });
      },

      lockNow() {
        set({ lock: { ...get().lock, unlockedUntil: 0 } });
        ok('LOCKED');
      },

      isUnlocked() {
        const l = get().lock;
        return l.exists && l.unlockedUntil > Date.now();
      },

      async setPin(secret, current) {
        return guardStorage(async () => {
          const problem = deps.validateSecret(secret);
          if (problem) return fail('PIN_INVALID', problem);
          const lock = await refreshLock();
          if (lock.exists && !current) return fail('PIN_REQUIRED');
          // setLock checks `current` itself (with the throttle); a refusal arrives as LOCK_WRONG / LOCK_THROTTLED.
          await deps.setLock(secret, lock.exists ? current : undefined);
          await refreshLock();
          // Whoever just chose the PIN is the parent: leave the session open for the next steps.
          set({ lock: { ...get().lock, unlockedUntil: Date.now() + UNLOCK_MS } });
          return ok(lock.exists ? 'PIN_CHANGED' : 'PIN_SET');
        });
      },

      async removePin(current) {
        return guardStorage(async () => {
          const lock = await refreshLock();
          if (!lock.exists) return fail('NO_LOCK');
          if (!current) return fail('PIN_REQUIRED');
          await deps.removeLock(current); // checks `current` with the throttle
          await refreshLock();
          return ok('PIN_REMOVED');
        });
      },

      async exportProfileFile(ids, opts = {}) {
        const chosen = get().profiles.filter((p) => ids.includes(p.id));
        if (!chosen.length) return void fail('PROFILE_NOT_FOUND');
        // Encrypted unless the parent explicitly chose plain: a missing passphrase is never a plain file.
        if (!opts.plain && !opts.passphrase) return void fail('PASSPHRASE_REQUIRED');
        let text: string | undefined;
        const done = await guardStorage(async () => {
          if (!(await authorize(chosen.some((p) => p.protected), opts.pin))) return false;
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
        const done = await guardStorage(async () => {
          const anyProtected = imported.some((p) => p.protected);
          if (anyProtected && !(await deps.hasLock())) return fail('NO_LOCK');
          if (!(await authorize(anyProtected, opts.pin))) return false;
          await deps.saveProfiles(imported); // all or nothing
          await refresh();
          return ok('IMPORTED', imported.length);
        });
        return done ? imported.length : undefined;
      },

      clearProfileMessages() {
        set({ profileError: undefined, profileNotice: undefined });
      },

      async ensureEmbedding() {
        const { profiles, activeProfileId, bundle } = get();
        const profile = profiles.find((p) => p.id === activeProfileId);
        if (!profile) {
          wanted = undefined;
          set({ embedding: { status: 'none' } });
          return undefined;
        }
        const encoder = bundle?.profileEncoder;
        if (!encoder) {
          wanted = undefined;
          set({ embedding: { status: 'unsupported', profileId: profile.id } });
          return undefined;
        }
        const fields = deps.profileToPsaFields(profile, deps.computePolicy(profile));
        const text = deps.renderEmbeddingText(encoder.template, fields);
        const key = await deps.embeddingKey(encoder.id, text);
        wanted = key;
        const now = get().embedding;
        if (now.key === key && now.status === 'ready' && now.vector) return now.vector;
        if (inflight?.key === key) return inflight.promise;
        const run = async (): Promise<Float32Array | undefined> => {
          const cached = await deps.getCachedEmbedding(key, profile.id); // records this profile as a user
          if (cached) {
            if (wanted === key) set({ embedding: { status: 'ready', profileId: profile.id, key, vector: cached, fromCache: true } });
            return cached;
          }
          if (encoder.removed) {
            // Nothing to compute with: say so, and refuse (the caller must not fall back to no personalization).
            if (wanted === key) set({ embedding: { status: 'encoder-removed', profileId: profile.id, key } });
            throw new AppError('MODEL_FILE_MISSING', 'this profile needs a new embedding, but the profile encoder was removed to save space');
          }
          if (wanted === key) set({ embedding: { status: 'computing', profileId: profile.id, key } });
          const onProgress = (progress: EmbedProgress) => {
            if (wanted === key) set({ embedding: { ...get().embedding, progress } });
          };
          try {
            const out = await embed(text, onProgress);
            await deps.putCachedEmbedding(key, out.embedding, out.encoderId, profile.id);
            if (wanted === key) set({ embedding: { status: 'ready', profileId: profile.id, key, vector: out.embedding, fromCache: false, ms: out.ms } });
            return out.embedding;
          } catch (e) {
            const error = toErrorInfo(e);
            if (wanted === key) set({ embedding: { status: 'error', profileId: profile.id, key, error } });
            throw e;
          }
        };
        const promise = queue.then(run, run).finally(() => {
          if (inflight?.promise === promise) inflight = undefined;
        });
        inflight = { key, promise };
        queue = promise.catch(() => undefined);
        return promise;
      },

      async generateForActive(params) {
        const profile = get().profiles.find((p) => p.id === get().activeProfileId);
        const label = profile ? { id: profile.id, name: profile.name, personalized: false } : { name: 'no profile', personalized: false };
        set({ guardOutcome: undefined }); // the previous outcome belongs to the previous request
        // The guard runs before any engine work, the embedding included: a blocked prompt costs the engine nothing.
        const policy = profile && deps.computePolicy(profile);
        const plan = profile && policy ? planGeneration(params, profile, policy) : undefined;
        if (profile && plan) for (const e of textLogEvents(profile, plan.guard, params.prompt)) await get().recordLog?.(e);
        if (plan?.decision === 'blocked') {
          set({ result: undefined, resultProfile: label, guardOutcome: { decision: 'blocked', explanations: plan.guard.explanations } });
          return;
        }
        let userEmbedding: Float32Array | undefined;
        try {
          userEmbedding = await get().ensureEmbedding();
        } catch {
          // Never fall back to the zero embedding for a profile: its safety would silently not apply.
          return;
        }
        const before = get().result;
        const toRun = plan ? plan.params : params;
        await get().generate(userEmbedding ? { ...toRun, userEmbedding } : toRun);
        const result = get().result;
        if (result === before || !result) return;
        // The engine's semantic check may have blocked (a blank result: never shown) or steered on top of the guard.
        const semantic = profile && policy && plan ? withSemantic({ decision: plan.decision, explanations: plan.guard.explanations }, result, profile, policy, params.prompt) : undefined;
        if (semantic?.outcome.decision === 'blocked') set({ result: undefined, resultProfile: label, guardOutcome: semantic.outcome });
        for (const e of semantic?.log ?? []) await get().recordLog?.(e);
        if (semantic?.outcome.decision === 'blocked') return;
        const image = profile && policy ? imageStage(profile, policy, result, params.prompt) : undefined;
        if (image) await get().recordLog?.(image.log);
        set({
          resultProfile: { ...label, personalized: !!userEmbedding },
          guardOutcome: semantic && { ...semantic.outcome, imageExplanation: image?.explanation },
        });
      },
    };
  };
}
