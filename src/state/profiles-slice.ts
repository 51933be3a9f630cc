// Profiles slice: the family's profiles and the active one (loaded from IndexedDB at start), the parent lock's
// rules, and the active profile's PSA user embedding. The lock rules are enforced here, not only in the UI: every
// action that needs the parent checks the stored lock itself (a stale screen or a second tab cannot skip it).
// Generation for the active profile also lives here, because it must wait for that profile's embedding.
// One PIN dialog for every action that needs the parent (askPin / answerPin: the UI shows it as `lock.dialog`), and
// one truth across tabs: guarded actions and generation re-read profiles and lock from IndexedDB, and changes are
// announced to other tabs (tab-sync.ts). Fail closed: no picture for nobody in particular unless a person chose
// "no profile", and a protected profile refuses a model that lacks a part its policy needs.
import type { StateCreator } from 'zustand';
import { AppError, toErrorInfo, type ErrorCode, type ErrorInfo } from '../shared/errors';
import type { Category, CategoryChoice, Policy, Profile, ProfilePreset } from '../shared/profile';
import type { GenerateParams, LoadedBundleInfo } from '../shared/types';
import type { FileLike } from '../storage/profile-file';
import type { EngineSlice } from './engine-slice';
import type { GallerySlice } from './gallery-slice';
import { imageStage, planGeneration, textLogEvents, withSemantic, type GuardOutcome } from './guard-flow';
import type { LogSlice } from './log-slice';
import type { ProfileDeps } from './profile-deps';
import { announce, onOtherTab } from './tab-sync';

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

/** Why the PIN dialog is open (its title says it in words: src/ui/messages.ts PIN_PURPOSE_TEXT). */
export type PinPurpose = 'unlock' | 'profile' | 'switch' | 'model' | 'log' | 'clear-log' | 'change-pin' | 'remove-pin' | 'export' | 'import' | 'gallery' | 'erase';

/** The open PIN dialog: its purpose and the last refusal (wrong PIN, or the wait before the next try). */
export interface PinPrompt {
  purpose: PinPurpose;
  error?: ProfileError;
  busy?: boolean;
}

/**
 * Why the last Generate made nothing before any engine work: nobody chosen (a first run or an emptied store), or a
 * protected profile whose policy needs a part the loaded model lacks (and the parent did not allow that).
 */
export type GenerationRefusal =
  | { code: 'NO_PROFILE_CHOSEN' }
  | { code: 'MODEL_LACKS_PARTS'; profileName: string; missing: ('imageChecker' | 'embedding')[] };

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
  /** The PIN dialog, while one is open. */
  pinPrompt?: PinPrompt;
  /** A person chose "no profile" on purpose (stored); without it and without an active profile, nothing is made. */
  noProfileChosen: boolean;
  /** Why the last Generate was refused before any engine work (undefined when it was not). */
  generationRefusal?: GenerationRefusal;
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
  /** Opens the parent's session with `pin`, or through the PIN dialog without one. */
  unlock(pin?: string): Promise<boolean>;
  lockNow(): void;
  isUnlocked(): boolean;
  /** Sets the first PIN, or changes it (then `current` opens the lock; without it the PIN dialog asks for it). */
  setPin(secret: string, current?: string): Promise<boolean>;
  /** Removes the lock; without `current` the PIN dialog asks for it. */
  removePin(current?: string): Promise<boolean>;
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
  /**
   * The UI says a PIN dialog is on screen (returns the detach). Without one (tests of the state alone, scripts)
   * an action that needs the PIN fails with PIN_REQUIRED instead of asking.
   */
  attachPinDialog(): () => void;
  /** Opens the PIN dialog; resolves with the PIN once it opened the lock (the session is then open), else undefined. */
  askPin(purpose: PinPurpose): Promise<string | undefined>;
  /** The dialog's submit: checks the PIN (with the throttle); a wrong one keeps the dialog open with the wait. */
  answerPin(pin: string): Promise<void>;
  cancelPin(): void;
  /**
   * The one gate for parent-only actions: true when `need` is false, no lock is set, the parent's session is open
   * (unless `fresh`: destructive steps ask again), `pin` opens the lock, or the PIN dialog was answered.
   */
  authorize(need: boolean, purpose: PinPurpose, opts?: { pin?: string; fresh?: boolean }): Promise<boolean>;
  /** Follows other tabs: their profile and lock changes are re-read at once (returns the unsubscribe). */
  followOtherTabs(): () => void;
  /** The active profile's embedding (cached or computed); undefined = no profile / no encoder → zero embedding. */
  ensureEmbedding(): Promise<Float32Array | undefined>;
  /**
   * Generates with the active profile's embedding and records which profile the result is for; the prompt guard,
   * steering and the image stage (guard-flow.ts) act first and around it, and each intervention is logged.
   */
  generateForActive(params: GenerateParams): Promise<void>;
}

// The log and gallery slices are optional so the slice can be composed without them (its tests); the app's store has them.
type All = ProfilesSlice & EngineSlice & Partial<Pick<LogSlice, 'recordLog' | 'closeLog'>> & Partial<Pick<GallerySlice, 'keepInGallery'>>;

const byName = (a: Profile, b: Profile) => a.name.localeCompare(b.name) || a.createdAt - b.createdAt;

/** The category choice a parent can still make (the floor cannot be lowered). */
export function choiceOf(p: Profile, c: Category): CategoryChoice | 'follow' {
  return p.choices[c] ?? 'follow';
}

/**
 * What a protected profile's policy needs that the loaded model lacks (the parent may allow it per profile): the
 * image checker when Sexuality is banned, and the parts that carry its embedding (PSA's user token and the profile
 * encoder — a removed encoder still counts when the embedding is cached; ensureEmbedding refuses otherwise).
 */
export function missingParts(profile: Profile, policy: Policy, bundle: LoadedBundleInfo | undefined): ('imageChecker' | 'embedding')[] {
  if (!profile.protected || profile.allowIncompleteModel || !bundle) return [];
  const missing: ('imageChecker' | 'embedding')[] = [];
  if (policy.banned.includes('Sexuality') && !bundle.imageChecker) missing.push('imageChecker');
  if (!bundle.psa || !bundle.profileEncoder) missing.push('embedding');
  return missing;
}

export function createProfilesSlice(deps: ProfileDeps, embed: EmbedFn): StateCreator<All, [], [], ProfilesSlice> {
  return (set, get) => {
    // The embedding being computed (one at a time; a second caller for the same key shares it).
    let inflight: { key: string; promise: Promise<Float32Array | undefined> } | undefined;
    // The key the latest ensureEmbedding asked for: a slower, older computation must not overwrite a newer one.
    let wanted: string | undefined;
    // Embeddings run one after another: the engine does one job at a time (a switch mid-computation queues).
    let queue: Promise<unknown> = Promise.resolve();
    // The PIN dialog: how many are on screen, and who waits for the open one's answer.
    let dialogs = 0;
    let answer: ((pin: string | undefined) => void) | undefined;

    const fail = (code: ProfileErrorCode, detail?: string, retryAt?: number) => {
      set({ profileError: { code, detail, retryAt }, profileNotice: undefined });
      return false as const;
    };
    const ok = (code: ProfileNoticeCode, count?: number) => {
      set({ profileError: undefined, profileNotice: { code, count } });
      return true as const;
    };
    const refresh = async () => {
      const [profiles, activeProfileId, noProfileChosen] = await Promise.all([deps.listProfiles(), deps.getActiveProfileId(), deps.noProfileChosen()]);
      const active = profiles.some((p) => p.id === activeProfileId) ? activeProfileId : undefined;
      set({ profiles: profiles.sort(byName), activeProfileId: active, noProfileChosen: !active && noProfileChosen });
    };
    /** The parent's session ends (Lock now, a handover, the lock removed): an open parent log goes with it. */
    const endSession = () => {
      set({ lock: { ...get().lock, unlockedUntil: 0 } });
      get().closeLog?.();
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
    const authorize = async (need: boolean, purpose: PinPurpose, opts: { pin?: string; fresh?: boolean } = {}): Promise<boolean> => {
      if (!need) return true;
      const lock = await refreshLock();
      if (!lock.exists) return true;
      if (!opts.fresh && get().isUnlocked()) {
        set({ lock: { ...get().lock, unlockedUntil: Date.now() + UNLOCK_MS } });
        return true;
      }
      if (opts.pin) return opts.fresh ? verify(opts.pin) : get().unlock(opts.pin);
      if ((await get().askPin(purpose)) !== undefined) return true;
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
      noProfileChosen: false,

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
          await refresh(); // another tab may have protected it meanwhile: decide on what is stored
          const existing = get().profiles.find((p) => p.id === draft.id);
          if (draft.protected && !(await deps.hasLock())) return fail('NO_LOCK');
          if (!(await authorize(draft.protected || !!existing?.protected, 'profile', { pin }))) return false;
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
        return guardStorage(async () => {
          await refresh();
          const existing = get().profiles.find((p) => p.id === id);
          if (!existing) return fail('PROFILE_NOT_FOUND');
          if (!(await authorize(existing.protected, 'profile', { pin }))) return false;
          await deps.deleteProfile(id);
          if (get().activeProfileId === id) await deps.setActiveProfileId(undefined);
          await refresh();
          announce('profiles');
          return ok('DELETED');
        });
      },

      async selectProfile(id, pin) {
        return guardStorage(async () => {
          await refresh(); // the active profile as stored, not as this tab last saw it
          const { activeProfileId, profiles, noProfileChosen } = get();
          if (id === activeProfileId && (id !== undefined || noProfileChosen)) {
            // Choosing the profile that is already active (e.g. the one just created) is still a handover.
            if (!profiles.find((p) => p.id === id)?.protected || !get().isUnlocked()) return true;
            endSession();
            announce('locked');
            return ok('LOCKED');
          }
          if (id !== undefined && !profiles.some((p) => p.id === id)) return fail('PROFILE_NOT_FOUND');
          const current = profiles.find((p) => p.id === activeProfileId);
          if (!(await authorize(!!current?.protected, 'switch', { pin }))) return false;
          if (id === undefined) await deps.chooseNoProfile();
          else await deps.setActiveProfileId(id);
          await refresh();
          announce('profiles');
          // Handing the device over: once a protected profile is active, the parent's session ends (in every tab).
          const next = get().profiles.find((p) => p.id === id);
          if (next?.protected && get().lock.exists) {
            endSession();
            announce('locked');
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
          if (pin === undefined) return (await get().askPin('unlock')) === undefined ? false : ok('UNLOCKED');
          if (!(await verify(pin))) return false;
          set({ lock: { ...get().lock, unlockedUntil: Date.now() + UNLOCK_MS } });
          return ok('UNLOCKED');
        });
      },

      lockNow() {
        endSession();
        announce('locked');
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
          if (lock.exists && !current) current = await get().askPin('change-pin');
          if (lock.exists && !current) return fail('PIN_REQUIRED');
          // setLock checks `current` itself (with the throttle); a refusal arrives as LOCK_WRONG / LOCK_THROTTLED.
          await deps.setLock(secret, lock.exists ? current : undefined);
          await refreshLock();
          announce('lock');
          // A lock is only worth something if the browser keeps it: ask it not to clear this site's data under
          // storage pressure (it may decline; the models panel shows the answer).
          void globalThis.navigator?.storage?.persist?.().catch(() => false);
          // Whoever just chose the PIN is the parent: leave the session open for the next steps.
          set({ lock: { ...get().lock, unlockedUntil: Date.now() + UNLOCK_MS } });
          return ok(lock.exists ? 'PIN_CHANGED' : 'PIN_SET');
        });
      },

      async removePin(current) {
        return guardStorage(async () => {
          const lock = await refreshLock();
          if (!lock.exists) return fail('NO_LOCK');
          if (!current) current = await get().askPin('remove-pin');
          if (!current) return fail('PIN_REQUIRED');
          await deps.removeLock(current); // checks `current` with the throttle
          await refreshLock();
          endSession();
          announce('lock');
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
          if (!(await authorize(chosen.some((p) => p.protected), 'export', { pin: opts.pin }))) return false;
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
          if (!(await authorize(anyProtected, 'import', { pin: opts.pin }))) return false;
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

      attachPinDialog() {
        dialogs++;
        return () => {
          dialogs--;
          if (dialogs === 0) get().cancelPin();
        };
      },

      askPin(purpose) {
        if (dialogs === 0) return Promise.resolve(undefined);
        answer?.(undefined); // one dialog at a time: an older question is dropped
        set({ pinPrompt: { purpose } });
        return new Promise((resolve) => (answer = resolve));
      },

      async answerPin(pin) {
        const prompt = get().pinPrompt;
        if (!prompt || prompt.busy) return;
        set({ pinPrompt: { ...prompt, busy: true, error: undefined } });
        let opened = false;
        try {
          opened = await verify(pin);
        } catch (e) {
          failFrom(e);
        }
        if (get().pinPrompt?.purpose !== prompt.purpose) return; // cancelled meanwhile
        if (!opened) {
          set({ pinPrompt: { purpose: prompt.purpose, error: get().profileError } });
          return;
        }
        set({ pinPrompt: undefined, profileError: undefined, lock: { ...get().lock, unlockedUntil: Date.now() + UNLOCK_MS } });
        const resolve = answer;
        answer = undefined;
        resolve?.(pin);
      },

      cancelPin() {
        const resolve = answer;
        answer = undefined;
        set({ pinPrompt: undefined });
        resolve?.(undefined);
      },

      authorize,

      followOtherTabs() {
        return onOtherTab((change) => {
          if (change === 'locked') endSession();
          if (change === 'lock') void refreshLock().catch(() => undefined);
          if (change === 'profiles') void refresh().then(() => get().ensureEmbedding()).catch(() => undefined);
        });
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
        set({ guardOutcome: undefined, generationRefusal: undefined }); // they belong to the previous request
        // Who it is for, as stored now: another tab may have switched or protected the profile since this one drew.
        try {
          await refresh();
        } catch (e) {
          failFrom(e);
          return; // an unreadable store never means "nobody in particular"
        }
        const profile = get().profiles.find((p) => p.id === get().activeProfileId);
        if (!profile && !get().noProfileChosen) {
          set({ result: undefined, generationRefusal: { code: 'NO_PROFILE_CHOSEN' } });
          return;
        }
        const label = profile ? { id: profile.id, name: profile.name, personalized: false } : { name: 'no profile', personalized: false };
        // The guard runs before any engine work, the embedding included: a blocked prompt costs the engine nothing.
        const policy = profile && deps.computePolicy(profile);
        const missing = profile && policy ? missingParts(profile, policy, get().bundle) : [];
        if (profile && missing.length) {
          set({ result: undefined, resultProfile: label, generationRefusal: { code: 'MODEL_LACKS_PARTS', profileName: profile.name, missing } });
          return;
        }
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
        // Every picture shown is kept on the device, with the person's own request (not the steered one).
        await get().keepInGallery?.({
          result,
          params,
          bundle: get().bundle,
          profile: profile && { id: profile.id, name: profile.name, protected: profile.protected },
          outcome: get().guardOutcome,
        });
      },
    };
  };
}
