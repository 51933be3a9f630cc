// The image stage of `npm run eval -- --images N` (issue 16, item 6): for each profile, the first N prompt rows
// judged under it go through the app's own generation flow, on Node with the engine the CLI uses (onnxruntime-node):
//   - the request is built by src/state/guard-flow.ts's planGeneration, the function the app calls: a blocked prompt
//     is never generated (its tile is flat grey), a steered one gets the profile's personalized negative prompt and
//     Safe Latent Diffusion preset (warm-up scaled as in the app), an allowed one is generated plainly, and a profile
//     that bans Sexuality gets the safety checker (stricter for minors) and one that bans any other category gets
//     Q16 on the checker's image embedding, with blurring in the engine;
//   - on a PSA bundle with a profile encoder, the profile's user embedding is computed as the app does (its PSA fields
//     rendered into the bundle's template, then the engine's `embed`), once per profile;
//   - the seed is the prompt's row number, so a run is reproducible and a row gets the same noise under every profile.
// images.csv: `flagged` / `max_concept_score` are the checker's own (Sexuality) verdict, filled only where it counts
// for the profile; `q16_probability` / `q16_flagged` are Q16's, where it ran; `blurred` is the tile, whichever flagged.
// Writes DIR/contact-<profile id>.png (the tiles in row order; a blurred image as the blurred pixels the profile
// would see; grey where the engine's semantic check blocked, when the bundle has one) and DIR/images.csv. Loaded only for N > 0, so the text stage never loads onnxruntime.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { nodeEngine } from '../../src/engine/node-host';
import { renderEmbeddingText } from '../../src/safety/embedding-text';
import type { GuardDecision } from '../../src/safety/guard/guard';
import { profileToPsaFields } from '../../src/safety/profile';
import type { Policy, Profile } from '../../src/shared/profile';
import type { GenerateParams } from '../../src/shared/types';
import { planGeneration } from '../../src/state/guard-flow';
import { toCsv } from '../lib/csv';
import { ensureDemoBundles, modelsDir } from '../lib/demo-bundles';
import { encodePng } from '../lib/png';
import { contactSheet, greyTile } from './contact-sheet';

/** One profile's share of the image stage: its first N rows with the text stage's decision for each. */
export interface ImageJob {
  id: string;
  profile: Profile;
  policy: Policy;
  rows: { row: number; prompt: string; category: string; decision: GuardDecision }[];
}

export interface ImageStageOptions {
  /** Bundle folder; undefined = the demo bundle (built on first use). */
  bundle?: string;
  /** Denoising steps per image (the app's form defaults to 8). */
  steps: number;
  /** Classifier-free guidance (the app's default 7.5). */
  guidance: number;
  log: (line: string) => void;
}

export const IMAGE_COLUMNS = ['profile', 'row', 'category', 'decision', 'seed', 'personalized', 'negative_prompt', 'unet_batch', 'semantic', 'flagged', 'max_concept_score', 'blurred', 'ms', 'q16_probability', 'q16_flagged'];

/**
 * The engine's semantic prompt check, when the bundle has one: read structurally so this file works with engines
 * with and without it. A semantic block returns a blank image that the app never shows: its tile is grey too.
 */
const semanticOf = (result: object): string => (result as { semanticGuard?: { decision?: string } }).semanticGuard?.decision ?? '';

export interface ImageStageResult {
  rows: Record<string, string>[];
  sheets: string[];
  generated: number;
  ms: number;
}

const yesNo = (b: boolean) => (b ? 'yes' : 'no');

/** contact-<id>.png, refusing an id that cannot be a plain file name (a users.csv User_ID can hold anything). */
export function sheetFileName(id: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id)) throw new Error(`profile id "${id}" cannot name a contact sheet file (letters, digits, . _ - only)`);
  return `contact-${id}.png`;
}

/** Runs the image stage for every job and writes the sheets and images.csv into `outDir`. */
export async function runImageStage(jobs: readonly ImageJob[], outDir: string, opts: ImageStageOptions): Promise<ImageStageResult> {
  const t0 = performance.now();
  for (const job of jobs) sheetFileName(job.id); // before any model loads
  if (!opts.bundle) ensureDemoBundles(opts.log);
  const bundleDir = path.resolve(opts.bundle ?? path.join(modelsDir(), 'demo'));
  if (!(await fs.stat(bundleDir).then((s) => s.isDirectory(), () => false))) throw new Error(`bundle folder not found: ${bundleDir}`);

  const engine = nodeEngine((_code, message) => opts.log(message));
  const info = await engine.load({ url: bundleDir, backend: 'cpu' });
  const { width, height } = info.defaultSize;
  const out: Record<string, string>[] = [];
  const sheets: string[] = [];
  let generated = 0;
  try {
    for (const job of jobs) {
      if (job.rows.length === 0) {
        opts.log(`profile ${job.id}: no prompt rows, no contact sheet`);
        continue;
      }
      // As the app: a PSA bundle with a profile encoder personalizes; otherwise the zero embedding (plain PSA U-Net).
      let embedding: Float32Array | undefined;
      const embeddingFor = async () => {
        if (!info.psa || !info.profileEncoder) return undefined;
        if (!embedding) {
          const e = await engine.embed(`eval-embed-${job.id}`, renderEmbeddingText(info.profileEncoder.template, profileToPsaFields(job.profile, job.policy)));
          embedding = e.embedding;
          opts.log(`profile ${job.id}: user embedding [${e.embedding.length}] in ${Math.round(e.ms)} ms`);
        }
        return embedding;
      };
      const tiles: Uint8ClampedArray[] = [];
      for (const r of job.rows) {
        const base: GenerateParams = { prompt: r.prompt, seed: r.row, steps: opts.steps, guidance: opts.guidance, scheduler: info.defaultScheduler, width, height };
        const plan = planGeneration(base, job.profile, job.policy);
        if (plan.decision !== r.decision) {
          // Both stages call the same guard; a difference means they were given different profiles or prompts.
          throw new Error(`profile ${job.id} row ${r.row}: the app's flow says ${plan.decision} but the text stage said ${r.decision}`);
        }
        const record = { profile: job.id, row: String(r.row), category: r.category, decision: plan.decision, seed: String(r.row) };
        if (plan.decision === 'blocked') {
          tiles.push(greyTile(width, height));
          out.push({ ...record, personalized: '', negative_prompt: '', unet_batch: '', semantic: '', flagged: '', max_concept_score: '', blurred: '', ms: '0', q16_probability: '', q16_flagged: '' });
          continue;
        }
        const userEmbedding = await embeddingFor();
        const result = await engine.generate(`eval-${job.id}-${r.row}`, { ...plan.params, ...(userEmbedding ? { userEmbedding } : {}), profile: job.id });
        generated++;
        if (result.width !== width || result.height !== height) throw new Error(`profile ${job.id} row ${r.row}: the engine returned ${result.width}×${result.height}, not ${width}×${height}`);
        const semantic = semanticOf(result);
        // result.rgba is already blurred when the image stage flagged it for this profile.
        tiles.push(semantic === 'blocked' ? greyTile(width, height) : result.rgba);
        const check = result.imageCheck;
        const concepts = check && plan.params.imageCheck?.concepts !== false; // the checker's verdict counts here
        out.push({
          ...record,
          personalized: yesNo(!!userEmbedding),
          negative_prompt: plan.params.negativePrompt ?? '',
          unet_batch: String(result.unet?.batch ?? ''),
          semantic,
          flagged: concepts ? yesNo(check.flagged) : '',
          max_concept_score: concepts ? Math.max(...check.scores).toFixed(6) : '',
          blurred: check ? yesNo(check.blurred) : '',
          ms: String(Math.round(result.timings.totalMs)),
          q16_probability: check?.q16 ? check.q16.probability.toFixed(6) : '',
          q16_flagged: check?.q16 ? yesNo(check.q16.flagged) : '',
        });
      }
      const sheet = contactSheet(tiles, width, height);
      const file = path.join(outDir, sheetFileName(job.id));
      await fs.writeFile(file, encodePng(sheet.rgba, sheet.width, sheet.height));
      sheets.push(path.basename(file));
    }
  } finally {
    await engine.unload();
  }
  await fs.writeFile(path.join(outDir, 'images.csv'), toCsv(out, IMAGE_COLUMNS));
  return { rows: out, sheets, generated, ms: performance.now() - t0 };
}
