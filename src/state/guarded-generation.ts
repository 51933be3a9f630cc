// One generation through the safety flow, the same sequence for the app (generation-slice.ts) and the Node CLI
// (scripts/generate.ts): fail closed on a model lacking what a protected profile's policy needs; the prompt guard
// before any engine work, the embedding included; the steering, semantic request and image stage that guard-flow's
// plan adds; the engine; then the semantic and image stages (safety checker, then Q16); each intervention a parent-log event, in that order.
// The caller passes in the engine calls and the log (a zustand slice, or onnxruntime-node and a list) and decides
// what to show or write from the answer. Without a profile nothing is guarded: the caller decides when that may be.
import type { Policy, Profile } from '../shared/profile';
import type { GenerateParams, GenerateResult, LoadedBundleInfo } from '../shared/types';
import type { GuardResult } from '../safety/guard/guard';
import type { Explanation } from '../safety/guard/explain';
import { q16Categories, type Q16Explanation } from '../safety/image-explain';
import { imageStage, planGeneration, q16Stage, textLogEvents, withSemantic, type GuardOutcome } from './guard-flow';
import type { LogEvent } from './log-slice';

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

export interface GuardedHooks {
  /** The profile's embedding (undefined = none for this model). Throwing stops the run: never the zero embedding. */
  embed(): Promise<Float32Array | undefined>;
  /** Runs the engine; undefined when it made no new result (failed, cancelled, superseded). */
  generate(params: GenerateParams): Promise<GenerateResult | undefined>;
  /** Records one parent-log event; awaited in order. */
  log(event: LogEvent): Promise<void>;
  /** The engine's picture must not be shown (a semantic block): called before that block is logged. */
  withhold?(): void;
}

export type GuardedRun =
  /** A protected profile on a model lacking what its policy needs: nothing ran, nothing logged. */
  | { status: 'refused'; missing: ('imageChecker' | 'embedding')[] }
  /** The text guard (before any engine work) or the engine's semantic check blocked: no picture to show. */
  | { status: 'blocked'; stage: 'text' | 'semantic'; guard: GuardResult; outcome: GuardOutcome; params?: GenerateParams; result?: GenerateResult }
  /** The embedding failed or the engine made no new result: nothing to show beyond what the hooks reported. */
  | { status: 'stopped'; guard?: GuardResult; params: GenerateParams }
  /**
   * A picture to show: `result.rgba` is already blurred when the image stage said so. `outcome` is undefined
   * without a profile; `image` is set when the image stage ran.
   */
  | {
      status: 'done';
      result: GenerateResult;
      params: GenerateParams;
      personalized: boolean;
      guard?: GuardResult;
      outcome?: GuardOutcome;
      image?: { log: LogEvent; explanation?: Explanation };
      /** Set when Q16 (the image stage's check for the non-sexual bans) ran. */
      q16?: { log: LogEvent; explanation?: Q16Explanation };
    };

/**
 * Runs `params` for `who` (undefined = no profile: no guard, no log) through the flow. `params` is the person's own
 * request; the one the engine ran (steering, semantic request, image stage added) comes back as `params`.
 */
export async function runGuarded(
  params: GenerateParams,
  who: { profile: Profile; policy: Policy } | undefined,
  bundle: LoadedBundleInfo | undefined,
  hooks: GuardedHooks,
): Promise<GuardedRun> {
  const missing = who ? missingParts(who.profile, who.policy, bundle) : [];
  if (missing.length) return { status: 'refused', missing };
  const plan = who && planGeneration(params, who.profile, who.policy);
  if (who && plan) for (const e of textLogEvents(who.profile, plan.guard, params.prompt)) await hooks.log(e);
  if (plan?.decision === 'blocked') return { status: 'blocked', stage: 'text', guard: plan.guard, outcome: { decision: 'blocked', explanations: plan.guard.explanations } };
  const planned = plan ? plan.params : params;
  let userEmbedding: Float32Array | undefined;
  try {
    userEmbedding = await hooks.embed();
  } catch {
    // Never fall back to the zero embedding for a profile: its safety would silently not apply.
    return { status: 'stopped', guard: plan?.guard, params: planned };
  }
  const toRun = userEmbedding ? { ...planned, userEmbedding } : planned;
  const result = await hooks.generate(toRun);
  if (!result) return { status: 'stopped', guard: plan?.guard, params: toRun };
  if (!who || !plan) return { status: 'done', result, params: toRun, personalized: !!userEmbedding };
  const { profile, policy } = who;
  // The engine's semantic check may have blocked (a blank result: never shown) or steered on top of the guard.
  const semantic = withSemantic({ decision: plan.decision, explanations: plan.guard.explanations }, result, profile, policy, params.prompt);
  if (semantic.outcome.decision === 'blocked') hooks.withhold?.();
  for (const e of semantic.log) await hooks.log(e);
  if (semantic.outcome.decision === 'blocked') return { status: 'blocked', stage: 'semantic', guard: plan.guard, outcome: semantic.outcome, params: toRun, result };
  const image = imageStage(profile, policy, result, params.prompt);
  if (image) await hooks.log(image.log);
  const q16 = q16Stage(profile, policy, result, params.prompt);
  if (q16) await hooks.log(q16.log);
  return {
    status: 'done',
    result,
    params: toRun,
    personalized: !!userEmbedding,
    guard: plan.guard,
    outcome: { ...semantic.outcome, imageExplanation: image?.explanation ?? q16?.explanation },
    ...(image ? { image } : {}),
    ...(q16 ? { q16 } : {}),
  };
}
