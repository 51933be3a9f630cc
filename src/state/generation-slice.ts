// Generation slice: Generate for the active profile — fail closed first (nobody chosen; a protected profile on a
// model lacking a part its policy needs), then the prompt guard and steering (guard-flow.ts) before any engine work,
// the profile's embedding, the engine, the semantic and image stages after it, each intervention logged, and every
// picture shown kept in the gallery. Which profile it is for is re-read from storage first (another tab may have
// switched or protected it).
import type { StateCreator } from 'zustand';
import type { Policy, Profile } from '../shared/profile';
import type { GenerateParams, LoadedBundleInfo } from '../shared/types';
import type { EmbeddingSlice } from './embedding-slice';
import type { EngineSlice } from './engine-slice';
import type { GallerySlice } from './gallery-slice';
import { imageStage, planGeneration, q16Stage, textLogEvents, withSemantic, type GuardOutcome } from './guard-flow';
import { q16Categories } from '../safety/image-explain';
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

/**
 * What a protected profile's policy needs that the loaded model lacks (the parent may allow it per profile): the
 * image checker when Sexuality or any category Q16 stands for is banned, and the parts that carry its embedding (PSA's user token and the profile
 * encoder — a removed encoder still counts when the embedding is cached; ensureEmbedding refuses otherwise).
 */
export function missingParts(profile: Profile, policy: Policy, bundle: LoadedBundleInfo | undefined): ('imageChecker' | 'embedding')[] {
  if (!profile.protected || profile.allowIncompleteModel || !bundle) return [];
  const missing: ('imageChecker' | 'embedding')[] = [];
  if ((policy.banned.includes('Sexuality') || q16Categories(policy).length > 0) && !bundle.imageChecker) missing.push('imageChecker');
  if (!bundle.psa || !bundle.profileEncoder) missing.push('embedding');
  return missing;
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
      const q16 = profile && policy ? q16Stage(profile, policy, result, params.prompt) : undefined;
      if (q16) await get().recordLog?.(q16.log);
      set({
        resultProfile: { ...label, personalized: !!userEmbedding },
        guardOutcome: semantic && { ...semantic.outcome, imageExplanation: image?.explanation ?? q16?.explanation },
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
  });
}
