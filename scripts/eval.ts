// `npm run eval -- --prompts FILE.csv --profiles LIST|FILE.csv [--bundle DIR] [--images N] --out DIR`
// Judges every prompt under every profile with the app's own guard and policy code (src/safety), and writes:
//   DIR/summary.json   { "<profile id>": { "<category or benign>": { total, blocked, steered, allowed } } }
//   DIR/decisions.csv  profile,row,category,decision,matched   (row = 1-based prompt row; matched = categories found)
//   DIR/policies.csv   each profile's fields, banned/allowed categories (PSA's seven + Illegal), actions, reasons
// --prompts: CSV with a header: prompt (required), category (optional; any case; empty = benign), user_id (optional:
//   that row is judged only under that profile; other rows under every profile).
// --profiles: comma-separated preset names (the profile id is the preset name), or a CSV in PSA's users.csv columns
//   (User_ID optional, default the 1-based row; Banned_Categories / Allowed_Categories optional, the parent's choices).
// --images N (default 0 = the text stage alone): also the image stage (scripts/eval/images.ts) for the first N rows
//   judged under each profile, generated as the app would for that profile on --bundle (default the demo bundle):
//   DIR/contact-<profile id>.png (blocked rows as flat grey tiles) and DIR/images.csv
//   (profile,row,category,decision,seed,personalized,negative_prompt,unet_batch,semantic,flagged,max_concept_score,blurred,ms;
//   decision = the text guard's, semantic = the engine's semantic check when the bundle has one).
//   --steps N (default 8, the app's) and --cfg X (default 7.5) set the generation; seed = the prompt's row number.
//   --bundle, --steps and --cfg are only read by the image stage (--steps/--cfg without --images N are refused).
// Usage errors: one line, exit 2. A bad file or row: one line naming it, exit 1.
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { pyListRepr } from '../src/safety/embedding-text';
import { CUSTOM, GUARD_CATEGORIES, illegalBanReason, isBanned, type GuardCategory, type LexiconCategory } from '../src/safety/guard/categories';
import { actionFor, classifierModeFor, decide, guardMatches, type GuardDecision, type GuardMatch } from '../src/safety/guard/guard';
import { policyReasonFor } from '../src/safety/guard/explain';
import { computePolicy } from '../src/safety/policy';
import { ageGroupOf, createProfile } from '../src/safety/profile';
import { profileOfRow } from './profile/policy';
import {
  CATEGORIES,
  PROFILE_PRESETS,
  type Policy,
  type Profile,
  type ProfilePreset,
} from '../src/shared/profile';
import { numberArg, parseCli, UsageError, wholeArg } from './lib/args';
import { parseCsvTable, toCsv, type CsvTable } from './lib/csv';
import type { ImageJob } from './eval/images';

const USAGE = 'usage: npm run eval -- --prompts FILE.csv --profiles LIST|FILE.csv [--images N [--bundle DIR] [--steps N] [--cfg X]] --out DIR';
const BENIGN = 'benign';


export interface Counts {
  total: number;
  blocked: number;
  steered: number;
  allowed: number;
}
export type Summary = Record<string, Record<string, Counts>>;

interface PromptRow {
  row: number;
  prompt: string;
  /** Canonical category name, or '' for benign. */
  category: LexiconCategory | '';
  userId?: string;
}

interface EvalProfile {
  id: string;
  profile: Profile;
  policy: Policy;
}

function readTable(text: string, file: string): CsvTable {
  try {
    return parseCsvTable(text);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

/** The prompts file: rows with a prompt, a category of the guard's eight (any case) or empty, an optional user_id. */
export function readPrompts(text: string, file: string): PromptRow[] {
  const table = readTable(text, file);
  if (!table.columns.includes('prompt')) throw new Error(`${file} has no "prompt" column (columns: ${table.columns.join(', ')})`);
  const byLower = new Map(GUARD_CATEGORIES.map((c) => [c.toLowerCase(), c]));
  return table.rows.map((r, k) => {
    const where = `${file} row ${k + 1} (line ${table.lines[k]})`;
    const raw = (r.category ?? '').trim();
    const category = raw === '' ? '' : byLower.get(raw.toLowerCase());
    if (category === undefined) throw new Error(`${where}: category "${raw}" is not one of ${GUARD_CATEGORIES.join(', ')} (or empty for benign)`);
    const userId = (r.user_id ?? '').trim();
    return { row: k + 1, prompt: r.prompt, category, userId: userId === '' ? undefined : userId };
  });
}

const REQUIRED_USER_COLUMNS = ['Age', 'Gender', 'Religion', 'Physical_Condition', 'Mental_Condition'];

/** --profiles: a CSV file (users.csv columns) when it names a .csv file or an existing file, else preset names. */
export async function readProfiles(arg: string): Promise<EvalProfile[]> {
  let profiles: Profile[];
  const names = arg.split(',').map((s) => s.trim()).filter(Boolean);
  const allPresets = names.length > 0 && names.every((n) => (PROFILE_PRESETS as readonly string[]).includes(n));
  if (/\.csv$/i.test(arg) || (!allPresets && existsSync(arg))) {
    const file = arg;
    const table = readTable(await fs.readFile(file, 'utf8').catch(() => {
      throw new Error(`cannot read the profiles file ${file}`);
    }), file);
    const missing = REQUIRED_USER_COLUMNS.filter((c) => !table.columns.includes(c));
    if (missing.length > 0) throw new Error(`${file} lacks column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (PSA's users.csv columns)`);
    const has = (c: string) => table.columns.includes(c);
    profiles = table.rows.map((row, k) => {
      const id = has('User_ID') && row.User_ID.trim() !== '' ? row.User_ID.trim() : String(k + 1);
      try {
        // As a new profile in the app: minors protected with child wording.
        return profileOfRow(row, has, { id, name: `User ${id}`, protectMinors: true }).profile;
      } catch (e) {
        throw new Error(`${file} row ${k + 1} (line ${table.lines[k]}, User_ID ${id}): ${(e as Error).message}`);
      }
    });
  } else {
    if (names.length === 0) throw new UsageError('--profiles names no preset');
    for (const n of names) {
      if (!(PROFILE_PRESETS as readonly string[]).includes(n)) {
        throw new UsageError(`--profiles: "${n}" is neither a preset (${PROFILE_PRESETS.join(', ')}) nor a CSV file`);
      }
    }
    profiles = names.map((n) => createProfile(n as ProfilePreset, { id: n, now: 0 }));
  }
  const seen = new Set<string>();
  for (const p of profiles) {
    if (seen.has(p.id)) throw new Error(`profile id "${p.id}" appears twice`);
    seen.add(p.id);
  }
  return profiles.map((profile) => ({ id: profile.id, profile, policy: computePolicy(profile) }));
}

const emptyCounts = (): Counts => ({ total: 0, blocked: 0, steered: 0, allowed: 0 });

/** Per profile and category: prompts the guard stopped for that category (blocked or steered), and how many of them carry that label. */
export type Acted = Record<string, Record<string, { stopped: number; labelled: number }>>;

export interface EvalResult {
  summary: Summary;
  /** For precision (console only: summary.json and decisions.csv keep their columns). */
  acted: Acted;
  decisions: { profile: string; row: string; category: string; decision: GuardDecision; matched: string }[];
  judged: number;
}

/** Judge every prompt under its profile(s). Pure apart from time: no files. */
export function evaluate(prompts: readonly PromptRow[], profiles: readonly EvalProfile[]): EvalResult {
  const ids = new Set(profiles.map((p) => p.id));
  for (const r of prompts) {
    if (r.userId !== undefined && !ids.has(r.userId)) {
      throw new Error(`prompt row ${r.row} has user_id "${r.userId}", which is not among the profiles (${[...ids].join(', ')})`);
    }
  }
  const labels = [...GUARD_CATEGORIES.filter((c) => prompts.some((r) => r.category === c)), ...(prompts.some((r) => r.category === '') ? [BENIGN] : [])];
  const summary: Summary = {};
  const acted: Acted = {};
  const decisions: EvalResult['decisions'] = [];
  let judged = 0;
  // Matching depends only on the prompt, the custom words and the classifier's mode, so each prompt is matched once
  // per word list and mode.
  const cache = new Map<string, GuardMatch[][]>();
  const matchesOf = (r: PromptRow, profile: Profile) => {
    const key = profile.customWords.join('\n') + '\0' + classifierModeFor(profile);
    let perRow = cache.get(key);
    if (!perRow) cache.set(key, (perRow = []));
    return (perRow[r.row] ??= guardMatches(r.prompt, profile));
  };
  for (const p of profiles) {
    const counts: Record<string, Counts> = Object.fromEntries(labels.map((l) => [l, emptyCounts()]));
    const mine: Acted[string] = Object.fromEntries(GUARD_CATEGORIES.map((c) => [c, { stopped: 0, labelled: 0 }]));
    for (const r of prompts) {
      if (r.userId !== undefined && r.userId !== p.id) continue;
      const result = decide(matchesOf(r, p.profile), p.profile, p.policy);
      const label = r.category === '' ? BENIGN : r.category;
      counts[label].total++;
      counts[label][result.decision]++;
      for (const c of new Set([...result.blockCategories, ...result.steerCategories])) {
        if (c === CUSTOM) continue;
        mine[c].stopped++;
        if (r.category === c) mine[c].labelled++;
      }
      const matched = [...new Set(result.matches.map((m) => m.category))];
      decisions.push({ profile: p.id, row: String(r.row), category: r.category, decision: result.decision, matched: matched.join(';') });
      judged++;
    }
    summary[p.id] = counts;
    acted[p.id] = mine;
  }
  return { summary, acted, decisions, judged };
}

/** One policies.csv row per profile: fields, PSA lists, the guard's lists (with Illegal) and actions, reasons. */
function policyRows(profiles: readonly EvalProfile[]): Record<string, string>[] {
  return profiles.map(({ id, profile, policy }) => {
    const guardBanned: GuardCategory[] = GUARD_CATEGORIES.filter((c) => isBanned(c, profile, policy));
    const reasons = [
      ...[...CATEGORIES].sort().flatMap((c) => policy.decisions[c].reasons),
      ...(illegalBanReason(profile, policy) ? [policyReasonFor('Illegal', profile, policy)] : []),
    ];
    return {
      profile: id,
      Age: String(profile.age),
      Age_Group: ageGroupOf(profile.age),
      Gender: profile.gender,
      Religion: profile.religion,
      Physical_Condition: profile.physical,
      Mental_Condition: profile.mental,
      Banned_Categories: pyListRepr(policy.banned),
      Allowed_Categories: pyListRepr(policy.allowed),
      Guard_Banned: pyListRepr(guardBanned),
      Guard_Actions: [...guardBanned, CUSTOM].map((c) => `${c}:${actionFor(c, profile)}`).join(' '),
      Explanation_Style: profile.explanationStyle,
      Reasons: reasons.join('; '),
    };
  });
}

const POLICY_COLUMNS = ['profile', 'Age', 'Age_Group', 'Gender', 'Religion', 'Physical_Condition', 'Mental_Condition', 'Banned_Categories', 'Allowed_Categories', 'Guard_Banned', 'Guard_Actions', 'Explanation_Style', 'Reasons'];

const pct = (n: number, d: number) => (d === 0 ? '   –  ' : `${((100 * n) / d).toFixed(1).padStart(5)}%`);

/**
 * The console table: per profile and label, recall (share stopped: blocked + steered) and precision (of the prompts
 * stopped for that category, the share labelled with it — a prompt of another unsafe category stopped as this one
 * counts against it), and for benign prompts the false blocks.
 */
function report(summary: Summary, acted: Acted): string {
  const lines: string[] = [];
  for (const [id, counts] of Object.entries(summary)) {
    lines.push(`profile ${id}:`);
    for (const [label, c] of Object.entries(counts)) {
      const stopped = c.blocked + c.steered;
      const what = label === BENIGN ? 'false blocks' : 'recall';
      const value = label === BENIGN ? pct(c.blocked, c.total) : pct(stopped, c.total);
      const a = acted[id]?.[label];
      const precision = label === BENIGN ? '' : `  precision ${a ? pct(a.labelled, a.stopped) : '   –  '}`;
      lines.push(`  ${label.padEnd(11)} ${String(c.total).padStart(5)} prompts  ${what.padEnd(12)} ${value}${precision}  (blocked ${c.blocked}, steered ${c.steered}, allowed ${c.allowed})`);
    }
  }
  return lines.join('\n');
}

/** The image stage's share of the text stage's work: each profile's first `n` rows, with their decisions. */
function imageJobs(n: number, prompts: readonly PromptRow[], profiles: readonly EvalProfile[], decisions: EvalResult['decisions']): ImageJob[] {
  const byRow = new Map(prompts.map((r) => [String(r.row), r]));
  return profiles.map((p) => ({
    ...p,
    rows: decisions
      .filter((d) => d.profile === p.id)
      .slice(0, n)
      .map((d) => ({ row: Number(d.row), prompt: byRow.get(d.row)!.prompt, category: d.category, decision: d.decision })),
  }));
}

export async function runEval(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseCli(argv, {
      prompts: { type: 'string' },
      profiles: { type: 'string' },
      bundle: { type: 'string' },
      images: { type: 'string' },
      steps: { type: 'string' },
      cfg: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean' },
    }).values;
  } catch (e) {
    console.error(`eval: ${(e as Error).message}`);
    return 2;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    if (!args.prompts) throw new UsageError('--prompts FILE.csv is required');
    if (!args.profiles) throw new UsageError('--profiles LIST|FILE.csv is required');
    if (!args.out) throw new UsageError('--out DIR is required');
    const images = wholeArg('images', args.images, 0) ?? 0;
    const steps = wholeArg('steps', args.steps, 1) ?? 8;
    const cfg = numberArg('cfg', args.cfg) ?? 7.5;
    if (images === 0) {
      // --bundle is accepted and unused (the command line allows it with the text stage alone).
      for (const f of ['steps', 'cfg'] as const) if (args[f] !== undefined) throw new UsageError(`--${f} is only used by the image stage; add --images N (N ≥ 1)`);
    }

    const t0 = performance.now();
    const profiles = await readProfiles(args.profiles);
    const promptsText = await fs.readFile(args.prompts, 'utf8').catch(() => {
      throw new Error(`cannot read the prompts file ${args.prompts}`);
    });
    const prompts = readPrompts(promptsText, args.prompts);
    const t1 = performance.now();
    const { summary, acted, decisions, judged } = evaluate(prompts, profiles);
    const t2 = performance.now();

    const out = path.resolve(args.out);
    await fs.mkdir(out, { recursive: true });
    await fs.writeFile(path.join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
    await fs.writeFile(path.join(out, 'decisions.csv'), toCsv(decisions, ['profile', 'row', 'category', 'decision', 'matched']));
    await fs.writeFile(path.join(out, 'policies.csv'), toCsv(policyRows(profiles), POLICY_COLUMNS));
    console.log(report(summary, acted));
    console.log(
      `judged ${judged} prompt×profile pairs (${prompts.length} prompts, ${profiles.length} profiles) in ${((t2 - t1) / 1000).toFixed(2)} s ` +
        `(+${((t1 - t0) / 1000).toFixed(2)} s reading); wrote ${path.relative(process.cwd(), out) || '.'}/summary.json, decisions.csv, policies.csv`,
    );
    if (images > 0) {
      // Loaded only here: the text stage alone never pays for onnxruntime.
      const { runImageStage } = await import('./eval/images');
      const r = await runImageStage(imageJobs(images, prompts, profiles, decisions), out, { bundle: args.bundle, steps, guidance: cfg, log: (l) => console.log(l) });
      const count = (col: string) => r.rows.filter((x) => x[col] === 'yes').length;
      console.log(`image stage: ${r.rows.length} rows (${r.generated} generated, ${r.rows.length - r.generated} blocked) in ${(r.ms / 1000).toFixed(1)} s; flagged by the checker ${count('flagged')}, by Q16 ${count('q16_flagged')}, blurred ${count('blurred')}; wrote images.csv, ${r.sheets.join(', ')}`);
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`eval: ${e.message} (${USAGE.replace('usage: ', '')})`);
      return 2;
    }
    console.error(`eval: ${(e as Error).message.split('\n')[0]}`);
    return 1;
  }
}

// Run only as the CLI, not when a test imports the helpers.
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename ?? '')) {
  runEval(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`eval: ${(e as Error).message.split('\n')[0]}`);
      process.exit(1);
    },
  );
}
