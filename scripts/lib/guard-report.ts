// What `npm run generate -- --profile` says about the safety flow it ran (src/state/guarded-generation.ts, the
// app's own): one human line per decision (text guard, semantic check, image stage) and the same facts as the
// --json report's `guard` object. Written for the person running the CLI (a parent or a researcher), so it names
// the matched words and the policy's reason even for a child-style profile; `message` is what the app would show
// that profile.
import type { Q16Explanation } from '../../src/safety/image-explain';
import type { Explanation } from '../../src/safety/guard/explain';
import type { SldParams } from '../../src/shared/types';
import type { GuardedRun } from '../../src/state/guarded-generation';
import type { LogEvent } from '../../src/state/log-slice';

export interface ReportedDecision {
  stage: 'text' | 'semantic' | 'image';
  category: string;
  action: string;
  /** Words of the prompt the text guard matched for this category (empty for the semantic and image stages). */
  matched: string[];
  /** The policy's reason for the category (parent-facing). */
  reason: string;
  /** What the app shows this profile, in its explanation style. */
  message: string;
}

export interface GuardReport {
  profile: string;
  /** The flow's final word: blocked (text or semantic), steered (text or semantic), or allowed. */
  decision: 'blocked' | 'steered' | 'allowed';
  /** Which stage blocked, when blocked. */
  blockedBy?: 'text' | 'semantic';
  decisions: ReportedDecision[];
  /** What steering the engine ran with (personalized negative prompt, Safe Latent Diffusion); absent when none. */
  steering?: { negativePrompt?: string; sld?: SldParams };
  /** The engine's semantic check: its verdict, or why it did not run. */
  semanticCheck: string;
  /** The image stage: whether it ran, the checker's verdict and whether the written picture is the blurred one. */
  imageStage: { ran: boolean; why?: string; flagged?: boolean; blurred?: boolean; maxScore?: number; q16?: { probability: number; flagged: boolean } };
  /** The parent-log events the app would record (the prompt only when the profile keeps prompts). */
  log: { stage: string; source?: string; category: string; action: string; prompt?: string }[];
}

type Guarded = Exclude<GuardedRun, { status: 'refused' } | { status: 'stopped' }>;

function decisionOf(e: Explanation | Q16Explanation, matched: string[]): ReportedDecision {
  // Q16's verdict is part of the image stage (after the safety checker), named by its source.
  const stage = e.stage === 'image' || e.stage === 'q16' ? 'image' : e.source === 'semantic' ? 'semantic' : 'text';
  return { stage, category: e.category, action: e.action, matched, reason: e.policyReason, message: e.words };
}

/** The report of a guarded run that reached a verdict (blocked or done), with the parent-log events recorded. */
export function guardReport(label: string, run: Guarded, log: readonly LogEvent[]): GuardReport {
  const guard = run.guard;
  const matchedFor = (category: string) => [...new Set((guard?.matches ?? []).filter((m) => m.category === category).map((m) => m.text))];
  const outcome = run.outcome;
  const decisions: ReportedDecision[] = (outcome?.explanations ?? []).map((e) => decisionOf(e, (e as { source?: string }).source === 'semantic' ? [] : matchedFor(e.category)));
  if (run.status === 'blocked' && run.stage === 'semantic') {
    // The semantic block's outcome holds only its own explanations; the text guard's steering came first.
    for (const e of guard?.explanations ?? []) decisions.unshift(decisionOf(e, matchedFor(e.category)));
  }
  if (outcome?.imageExplanation) decisions.push(decisionOf(outcome.imageExplanation, []));
  const ran = run.params;
  const steered = (guard?.decision === 'steered' || outcome?.decision === 'steered') && ran;
  const steering = steered ? { ...(ran.negativePrompt !== undefined ? { negativePrompt: ran.negativePrompt } : {}), ...(ran.sld ? { sld: ran.sld } : {}) } : undefined;
  const result = run.result;
  let semanticCheck: string;
  if (run.status === 'blocked' && run.stage === 'text') semanticCheck = 'not run (the text guard blocked first)';
  else if (result?.semanticGuard) semanticCheck = result.semanticGuard.decision;
  else if (ran?.semanticGuard) semanticCheck = 'not run (the bundle has no semantic concepts)';
  else semanticCheck = 'not asked (the profile bans nothing it covers)';
  let imageStage: GuardReport['imageStage'];
  if (run.status === 'blocked') imageStage = { ran: false, why: 'no picture to check (blocked)' };
  else if (result?.imageCheck) imageStage = { ran: true, flagged: result.imageCheck.flagged, blurred: result.imageCheck.blurred, maxScore: Math.max(...result.imageCheck.scores), ...(result.imageCheck.q16 ? { q16: result.imageCheck.q16 } : {}) };
  else if (ran?.imageCheck) imageStage = { ran: false, why: 'asked, but the bundle has no safety checker' };
  else imageStage = { ran: false, why: 'not asked by this profile\'s policy' };
  return {
    profile: label,
    decision: outcome?.decision ?? 'allowed',
    ...(run.status === 'blocked' ? { blockedBy: run.stage } : {}),
    decisions,
    ...(steering && (steering.negativePrompt !== undefined || steering.sld) ? { steering } : {}),
    semanticCheck,
    imageStage,
    log: log.map((e) => ({ stage: e.stage, ...(e.source ? { source: e.source } : {}), category: e.category, action: e.action, ...(e.prompt !== undefined ? { prompt: e.prompt } : {}) })),
  };
}

const quoted = (words: string[]) => words.map((w) => `"${w}"`).join(', ');

/** One line per decision, for stderr. */
export function guardLines(r: GuardReport): string[] {
  const lines: string[] = [];
  if (r.decisions.every((d) => d.stage === 'image') && r.decision === 'allowed') lines.push(`guard: the prompt is allowed for profile "${r.profile}" (text stage${r.semanticCheck === 'allowed' ? ' and semantic check' : ''})`);
  for (const d of r.decisions) {
    if (d.stage === 'image') continue;
    const what = d.stage === 'text' ? 'text stage' : 'semantic check';
    lines.push(`guard: ${d.action} by the ${what} for profile "${r.profile}" — ${d.category}${d.matched.length ? ` (matched ${quoted(d.matched)})` : ''}: ${d.reason}`);
  }
  const st = r.steering;
  if (st) {
    const parts = [st.negativePrompt !== undefined ? `negative prompt "${st.negativePrompt}"` : '', st.sld ? `Safe Latent Diffusion (concept "${st.sld.concept}", guidance ${st.sld.guidanceScale}, warm-up ${st.sld.warmupSteps} steps)` : ''];
    lines.push(`steering: ${parts.filter(Boolean).join(' + ')}`);
  }
  const img = r.imageStage;
  if (img.ran) {
    const blur = r.decisions.find((d) => d.stage === 'image');
    if (img.q16) lines.push(`image stage: Q16 ${img.q16.flagged ? 'flagged the picture as inappropriate' : 'did not flag the picture'} (probability ${img.q16.probability.toFixed(4)})`);
    const byChecker = img.flagged || !img.q16?.flagged;
    if (img.blurred && !byChecker) lines.push(`image stage: the picture was blurred for Q16's verdict${blur ? ` — ${blur.reason}` : ''}`);
    else lines.push(img.blurred ? `image stage: the safety checker flagged the picture; it was blurred (max concept score ${img.maxScore?.toFixed(4)})${blur ? ` — ${blur.category}: ${blur.reason}` : ''}` : `image stage: the safety checker ${img.flagged ? 'flagged the picture but it was not blurred' : `did not flag the picture (max concept score ${img.maxScore?.toFixed(4)})`}`);
  } else if (r.decision !== 'blocked') lines.push(`image stage: off — ${img.why}`);
  return lines;
}
