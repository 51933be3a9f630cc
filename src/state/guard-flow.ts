// The safety flow around one generation for the active profile (issue "guards", items 1–5 wired together): the
// prompt guard runs before any engine work (a blocked prompt never reaches the engine, not even the embedding), a
// steered one gets the personalized negative prompt and Safe Latent Diffusion with the profile's preset, a profile
// that bans Sexuality gets the image stage, the engine's semantic prompt check is asked for the banned categories
// (it runs when the bundle has concepts), and each intervention becomes a parent-log event. A profile that bans any
// other category gets Q16 in the same image stage (one checker run: its image embedding; stage 'q16'). Pure
// functions: the profiles slice calls them and owns the state and the engine calls.
import type { Policy, Profile } from '../shared/profile';
import type { GenerateParams, GenerateResult } from '../shared/types';
import { MINOR_AGE } from '../safety/guard/categories';
import { explain, type Explanation } from '../safety/guard/explain';
import type { DecisionSource } from '../safety/guard/stages';
import { actionFor, checkPrompt, type GuardDecision, type GuardResult } from '../safety/guard/guard';
import { explainQ16, q16Categories, type Q16Explanation } from '../safety/image-explain';
import { explainSemantic } from '../safety/semantic';
import { scaleWarmup } from '../safety/sld';
import { steeringCategories, steeringFor } from '../safety/steering';
import type { LogEvent, LogTextSource } from './log-slice';

/** What the result area shows about the safety layers for the latest generation. */
export interface GuardOutcome {
  decision: GuardDecision;
  /** One per category the text stage acted on (empty when allowed). */
  explanations: Explanation[];
  /** Set when the image stage blurred the picture (the checker's Sexuality verdict first, else Q16's). */
  imageExplanation?: Explanation | Q16Explanation;
}

/** The image checker's stricter threshold for minors (diffusers' `adjustment`; 0 = the checker's own thresholds). */
export const MINOR_IMAGE_ADJUSTMENT = 0.01;

/** Q16's own decision rule: argmax of its two classes, i.e. P(inappropriate) > 0.5 (src/engine/image-check/q16.ts). */
export const Q16_IMAGE_THRESHOLD = 0.5;

export type GuardPlan =
  | { decision: 'blocked'; guard: GuardResult }
  | { decision: 'steered' | 'allowed'; guard: GuardResult; params: GenerateParams };

/** The guard's verdict and, unless blocked, the parameters to generate with (steering and image stage added). */
export function planGeneration(params: GenerateParams, profile: Profile, policy: Policy): GuardPlan {
  // The guard reads the prompt only: the negative prompt names what the user does NOT want.
  const guard = checkPrompt(params.prompt, profile, policy);
  if (guard.decision === 'blocked') return { decision: 'blocked', guard };
  let next: GenerateParams = params;
  if (guard.decision === 'steered') next = withSteering(next, profile, policy);
  const imageCheck = imageCheckFor(profile, policy);
  // No live previews when the picture will be checked: a late preview is nearly the picture, shown before the check.
  if (imageCheck) next = { ...next, imageCheck, previewEveryMs: undefined };
  const semanticGuard = semanticGuardFor(params, guard.decision, profile, policy);
  if (semanticGuard) next = { ...next, semanticGuard };
  return { decision: guard.decision, guard, params: next };
}

/**
 * The semantic check's request (the engine runs it when the bundle has concepts): every category steering covers,
 * with the action the text guard would take; a prompt the text guard did not steer carries the steering to apply
 * on a 'steer' hit. Undefined when the profile bans nothing.
 */
export function semanticGuardFor(params: GenerateParams, decision: GuardDecision, profile: Profile, policy: Policy): GenerateParams['semanticGuard'] {
  const cats = steeringCategories(profile, policy);
  if (cats.length === 0) return undefined;
  const categories = Object.fromEntries(cats.map((c) => [c, actionFor(c, profile)]));
  if (decision === 'steered') return { categories }; // already steered: a hit only adds its explanation
  const steered = withSteering(params, profile, policy);
  return { categories, steer: { negativePrompt: steered.negativePrompt, ...(steered.sld ? { sld: steered.sld } : {}) } };
}

/**
 * The outcome once the engine answered, with what the semantic check did on top of the text guard's: a semantic
 * block replaces the picture by its explanation; a semantic steer marks the picture adjusted. Log events for both.
 */
export function withSemantic(outcome: GuardOutcome, result: GenerateResult, profile: Profile, policy: Policy, prompt: string): { outcome: GuardOutcome; log: LogEvent[] } {
  const sg = result.semanticGuard;
  if (!sg || sg.decision === 'allowed') return { outcome, log: [] };
  const explanations = explainSemantic(sg, profile, policy);
  const log: LogEvent[] = explanations.map((e) => ({ profile, stage: 'text', source: 'semantic', category: e.category, action: e.action, ...(profile.logPrompts ? { prompt } : {}) }));
  if (sg.decision === 'blocked') return { outcome: { decision: 'blocked', explanations }, log };
  return { outcome: { ...outcome, decision: outcome.decision === 'allowed' ? 'steered' : outcome.decision, explanations: [...outcome.explanations, ...explanations] }, log };
}

/** The personalized negative prompt (after the user's own) and SLD with the profile's preset, warm-up scaled. */
export function withSteering(params: GenerateParams, profile: Profile, policy: Policy): GenerateParams {
  const s = steeringFor(profile, policy, params.negativePrompt);
  const next: GenerateParams = { ...params, negativePrompt: s.negative.text || undefined };
  // The presets are tuned for 50 steps; without scaling, a short run would spend all of it in the warm-up.
  if (s.settings && s.concept) next.sld = { ...scaleWarmup(s.settings, params.steps), concept: s.concept };
  return next;
}

/**
 * The image stage's request: the checker's own verdict for a profile that bans Sexuality (stricter for minors), Q16
 * for one that bans any other category, both for one that bans both; undefined when it bans nothing.
 */
export function imageCheckFor(profile: Profile, policy: Policy): GenerateParams['imageCheck'] {
  const sexual = policy.banned.includes('Sexuality');
  const q16 = q16Categories(policy).length > 0;
  if (!sexual && !q16) return undefined;
  return {
    adjustment: profile.age < MINOR_AGE ? MINOR_IMAGE_ADJUSTMENT : 0,
    blur: true,
    ...(sexual ? {} : { concepts: false }),
    ...(q16 ? { q16: { threshold: Q16_IMAGE_THRESHOLD } } : {}),
  };
}

/** The log's name for the prompt check that decided (the pure guard's explanations come from its text stages). */
function textSource(source: DecisionSource): LogTextSource {
  if (source === 'lexicon' || source === 'classifier' || source === 'semantic') return source;
  throw new Error(`a prompt-guard explanation from the ${source} stage: only the text stages decide before the image exists`);
}

/** Parent-log events for what the text stage did (none when allowed); the prompt only if the parent turned it on. */
export function textLogEvents(profile: Profile, guard: GuardResult, prompt: string): LogEvent[] {
  return guard.explanations.map((e) => ({
    profile,
    stage: 'text',
    source: textSource(e.source),
    category: e.category,
    action: e.action,
    ...(profile.logPrompts ? { prompt } : {}),
  }));
}

/**
 * What the checker's Sexuality verdict did, or undefined when it did not count (not asked, no checker in the bundle,
 * or a profile that does not ban Sexuality: then only Q16 decides, see q16Stage).
 */
export function imageStage(profile: Profile, policy: Policy, result: GenerateResult, prompt: string): { log: LogEvent; explanation?: Explanation } | undefined {
  if (!result.imageCheck || !policy.banned.includes('Sexuality')) return undefined;
  const blurred = result.imageCheck.flagged && result.imageCheck.blurred; // a Q16 flag may have blurred it too
  const log: LogEvent = { profile, stage: 'image', category: 'Sexuality', action: blurred ? 'blurred' : 'allowed', ...(profile.logPrompts ? { prompt } : {}) };
  return blurred ? { log, explanation: explain({ stage: 'image', category: 'Sexuality', action: 'blurred' }, profile, policy) } : { log };
}

/** What Q16 did (stage 'q16'), or undefined when it did not run (not asked, or the bundle has no checker). */
export function q16Stage(profile: Profile, policy: Policy, result: GenerateResult, prompt: string): { log: LogEvent; explanation?: Q16Explanation } | undefined {
  const q16 = result.imageCheck?.q16;
  if (!q16) return undefined;
  const blurred = q16.flagged && result.imageCheck!.blurred;
  const log: LogEvent = { profile, stage: 'q16', category: 'Inappropriate', action: blurred ? 'blurred' : 'allowed', ...(profile.logPrompts ? { prompt } : {}) };
  return blurred ? { log, explanation: explainQ16(profile, policy, q16.probability) } : { log };
}
