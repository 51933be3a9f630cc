// Generation slice: Generate for the active profile — fail closed first when nobody is chosen, then the flow the
// Node CLI shares (guarded-generation.ts: a protected profile on a model lacking a part its policy needs is refused;
// the prompt guard and steering before any engine work, the profile's embedding, the engine, the semantic and image
// stages after it, each intervention logged), and every picture shown kept in the gallery. Which profile it is for is re-read from storage first (another tab may have
// switched or protected it).
import type { StateCreator } from 'zustand';
import type { Profile } from '../shared/profile';
import type { GenerateParams } from '../shared/types';
import type { EmbeddingSlice } from './embedding-slice';
import type { EngineSlice } from './engine-slice';
import type { GallerySlice } from './gallery-slice';
import type { GuardOutcome } from './guard-flow';
import type { LogSlice } from './log-slice';
import type { ProfileDeps } from './profile-deps';

/**
 * Why the last Generate made nothing before any engine work: nobody chosen (a first run or an emptied store), or a
 * protected profile whose policy needs a part the loaded model lacks (and the parent did not allow that).
 */
export type GenerationRefusal =
  | { code: 'NO_PROFILE_CHOSEN' }
  | { code: 'MODEL_LACKS_PARTS'; profileName: string; missing: ('imageChecker' | 'embedding')[] };

export interface GenerationSlice {
  /**
   * The profile the shown result was made for (undefined before any result); `personalized` is false when the
   * model has no profile encoder, so the profile could not steer the picture.
   */
  resultProfile?: { id?: string; name: string; personalized: boolean };
  /** What the safety layers did for the shown result (or the blocked prompt); undefined with no profile. */
  guardOutcome?: GuardOutcome;
  /** Why the last Generate was refused before any engine work (undefined when it was not). */
  generationRefusal?: GenerationRefusal;
  /**
   * Generates with the active profile's embedding and records which profile the result is for; the prompt guard,
   * steering and the image stage (guard-flow.ts) act first and around it, and each intervention is logged.
   */
  generateForActive(params: GenerateParams): Promise<void>;
}


// The log and gallery slices are optional so the slice can be composed without them (tests); the app's store has them.
type All = GenerationSlice &
  EngineSlice &
  Pick<EmbeddingSlice, 'ensureEmbedding'> & { profiles: Profile[]; activeProfileId?: string; noProfileChosen: boolean; refreshProfiles(): Promise<boolean> } &
  Partial<Pick<LogSlice, 'recordLog'>> &
  Partial<Pick<GallerySlice, 'keepInGallery'>>;

export function createGenerationSlice(deps: Pick<ProfileDeps, 'computePolicy'>): StateCreator<All, [], [], GenerationSlice> {
  return (set, get) => ({
    async generateForActive(params) {
      set({ guardOutcome: undefined, generationRefusal: undefined }); // they belong to the previous request
      // Who it is for, as stored now: another tab may have switched or protected the profile since this one drew.
      // (An unreadable store sets the panel's error and refuses: it never means "nobody in particular".)
      if (!(await get().refreshProfiles())) return;
      const profile = get().profiles.find((p) => p.id === get().activeProfileId);
      if (!profile && !get().noProfileChosen) {
        set({ result: undefined, generationRefusal: { code: 'NO_PROFILE_CHOSEN' } });
        return;
      }
      const label = profile ? { id: profile.id, name: profile.name, personalized: false } : { name: 'no profile', personalized: false };
      // Whom the shown picture was made for is said again only once the new one is kept (below).
      set({ resultProfile: undefined });
      // The shared flow (guarded-generation.ts): the guard before any engine work, the embedding included. Loaded
      // on the first Generate: the prompt classifier's weights (0.6 MB gzip) would otherwise triple the first
      // screen's JavaScript (issue 27's budget); the service worker precaches it with the shell, so offline works.
      const { runGuarded } = await import('./guarded-generation');
      const who = profile && { profile, policy: deps.computePolicy(profile) };
      const run = await runGuarded(params, who, get().bundle, {
        embed: () => get().ensureEmbedding(),
        async generate(p) {
          const before = get().result;
          await get().generate(p);
          const result = get().result;
          return result === before ? undefined : result;
        },
        log: async (e) => {
          await get().recordLog?.(e);
        },
        withhold: () => set({ result: undefined, resultProfile: label }),
      });
      if (run.status === 'refused' && profile) {
        set({ result: undefined, resultProfile: label, generationRefusal: { code: 'MODEL_LACKS_PARTS', profileName: profile.name, missing: run.missing } });
        return;
      }
      if (run.status === 'blocked') {
        set({ result: undefined, resultProfile: label, guardOutcome: run.outcome });
        return;
      }
      if (run.status !== 'done') return;
      const { result } = run;
      // Every picture shown is kept on the device, with the person's own request (not the steered one). It is kept
      // before `result.profile` names whom it was made for, so a reload once that shows never loses the picture.
      await get().keepInGallery?.({
        result,
        params,
        bundle: get().bundle,
        profile: profile && { id: profile.id, name: profile.name, protected: profile.protected },
        outcome: run.outcome,
      });
      set({ resultProfile: { ...label, personalized: run.personalized }, guardOutcome: run.outcome });
    },
  });
}
