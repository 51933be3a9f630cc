// `npm run generate -- --prompt TEXT --out FILE.png [...]`: the engine's pipeline under onnxruntime-node.
// With --profile it runs the app's own safety flow (src/state/guarded-generation.ts): the prompt guard before any
// embedding or generation, steering, the semantic check and the image stage, each decision said on stderr (and in
// --json); a blocked prompt writes nothing and exits 3. Without --profile nothing is guarded, as the app's explicit
// "no profile" choice (the app's first run, with nobody chosen yet, refuses instead; a CLI call names its profile or
// none). Bad flags, a missing bundle or a contract mismatch print one line and exit non-zero (2 = usage, 1 = failure).

import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Variant } from '../src/shared/bundle';
import { LATENT_CHANNELS } from '../src/shared/contract';
import { toErrorInfo } from '../src/shared/errors';
import { SCHEDULER_NAMES, type GenerateParams, type SchedulerName } from '../src/shared/types';
import { allowedSides, sizeProblem } from '../src/shared/image-size';
import { nodeEngine } from '../src/engine/node-host';
import { runGuarded } from '../src/state/guarded-generation';
import type { LogEvent } from '../src/state/log-slice';
import { guardLines, guardReport } from './lib/guard-report';
import { ensureDemoBundles, modelsDir } from './lib/demo-bundles';
import { readNpy, writeNpy } from './lib/npy';
import { encodePng } from './lib/png';
import { describeFields, profileFromArg } from './profile/embed';
import { parseCli, UsageError } from './lib/args';
import { renderEmbeddingText } from '../src/safety/embedding-text';
import { DIFFUSERS_SAFETY_CONCEPT, isSldPresetName, SLD_PRESET_NAMES, sldParams } from '../src/safety/sld';
import { safetyConcept, steeringCategoriesFromFields } from '../src/safety/steering';

const USAGE = `usage: npm run generate -- --prompt TEXT --out FILE.png [--bundle DIR] [--negative TEXT] [--seed N] [--steps N]
  [--scheduler ${SCHEDULER_NAMES.join('|')}] [--cfg X] [--width W --height H] [--user-embedding FILE.json]
  [--psa-scale X] [--profile PRESET|FILE.json [--no-guard]] [--sld ${SLD_PRESET_NAMES.join('|')} [--safety-concept TEXT]] [--latents FILE.npy] [--save-latents FILE.npy] [--eta X] [--loop reference|kernel] [--variant fp32|fp16|int8|q4] [--json]
  --profile runs the app's safety flow for that profile: prompt guard, steering (personalized negative prompt + Safe
    Latent Diffusion; a steered prompt's SLD is the profile's, replacing --sld), semantic check, image stage (blur).
  --no-guard (research only) keeps the profile's embedding but skips its guard, steering and image stage.
exit status: 0 picture written, 1 failure, 2 usage error, 3 prompt blocked by the profile's guard (nothing written).`;

/** Exit status of a prompt the profile's guard blocked (distinct from 2 = usage and 1 = failure). */
const BLOCKED_EXIT = 3;

const VARIANTS: readonly Variant[] = ['fp32', 'fp16', 'int8', 'q4'];

function num(name: string, v: string | undefined, opts: { int?: boolean } = {}): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || (opts.int && !Number.isInteger(x))) throw new UsageError(`--${name} must be ${opts.int ? 'a whole number' : 'a number'} (got "${v}")`);
  return x;
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, {
    bundle: { type: 'string' }, prompt: { type: 'string' }, negative: { type: 'string' }, seed: { type: 'string' },
    steps: { type: 'string' }, scheduler: { type: 'string' }, cfg: { type: 'string' }, width: { type: 'string' },
    height: { type: 'string' }, 'user-embedding': { type: 'string' }, 'psa-scale': { type: 'string' },
    out: { type: 'string' }, latents: { type: 'string' }, 'save-latents': { type: 'string' }, eta: { type: 'string' },
    loop: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean' }, profile: { type: 'string' },
    sld: { type: 'string' }, 'safety-concept': { type: 'string' }, variant: { type: 'string' }, 'no-guard': { type: 'boolean' },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.prompt) throw new UsageError('--prompt is required');
  if (!values.out) throw new UsageError('--out FILE.png is required');
  if (values.scheduler && !(SCHEDULER_NAMES as readonly string[]).includes(values.scheduler)) {
    throw new UsageError(`--scheduler must be one of ${SCHEDULER_NAMES.join(', ')} (got "${values.scheduler}")`);
  }
  if (values.loop && values.loop !== 'reference' && values.loop !== 'kernel') throw new UsageError('--loop must be reference or kernel');
  // --variant picks the bundle's U-Net weights (default: the engine's choice for the CPU, fp32 first).
  if (values.variant !== undefined && !VARIANTS.includes(values.variant as Variant)) throw new UsageError(`--variant must be one of ${VARIANTS.join(', ')} (got "${values.variant}")`);
  if (values.profile && values['user-embedding']) throw new UsageError('give --profile or --user-embedding, not both');
  if (values['no-guard'] && !values.profile) throw new UsageError('--no-guard needs --profile (without a profile nothing is guarded)');
  if (values.sld !== undefined && !isSldPresetName(values.sld)) throw new UsageError(`--sld must be one of ${SLD_PRESET_NAMES.join(', ')} (got "${values.sld}")`);
  if (values['safety-concept'] !== undefined && values.sld === undefined) throw new UsageError('--safety-concept needs --sld PRESET');
  // The profile (a preset or PSA-named JSON) is checked before any model loads; its embedding is computed below.
  const profile = values.profile ? await profileFromArg(values.profile) : undefined;
  // The default bundle is the demo one, built here on first use (messages on stderr: stdout may be --json).
  if (!values.bundle) ensureDemoBundles((l) => console.error(l));
  const bundleDir = path.resolve(values.bundle ?? path.join(modelsDir(), 'demo'));
  try {
    if (!(await fs.stat(bundleDir)).isDirectory()) throw new Error();
  } catch {
    throw new Error(`bundle folder not found: ${bundleDir}`);
  }

  const engine = nodeEngine((_c, m) => console.error(m));
  if (values.loop) engine.loop = values.loop as 'reference' | 'kernel';
  const info = await engine.load({ url: bundleDir, backend: 'cpu', ...(values.variant ? { variant: values.variant as Variant } : {}) });
  const width = num('width', values.width, { int: true }) ?? info.defaultSize.width;
  const height = num('height', values.height, { int: true }) ?? info.defaultSize.height;
  // The bundle's size rule (src/shared/image-size.ts, as the engine and the app apply it), said as a usage error.
  const badSize = sizeProblem(width, height, info.sizes);
  if (badSize) throw new UsageError(`--width/--height: ${badSize}; this bundle allows ${allowedSides(info.sizes).join(', ')}`);
  const params: GenerateParams = {
    prompt: values.prompt,
    negativePrompt: values.negative,
    seed: num('seed', values.seed, { int: true }) ?? 0,
    steps: num('steps', values.steps, { int: true }) ?? 20,
    scheduler: (values.scheduler as SchedulerName | undefined) ?? info.defaultScheduler,
    guidance: num('cfg', values.cfg) ?? 7.5,
    width,
    height,
    psaScale: num('psa-scale', values['psa-scale']),
    eta: num('eta', values.eta),
  };
  if (values['user-embedding']) {
    let emb: unknown;
    try {
      emb = JSON.parse(await fs.readFile(values['user-embedding'], 'utf8'));
    } catch (e) {
      throw new Error(`cannot read the user embedding ${values['user-embedding']}: ${(e as Error).message.split('\n')[0]}`);
    }
    const arr = Array.isArray(emb) ? emb : (emb as { embedding?: unknown })?.embedding;
    if (!Array.isArray(arr) || arr.some((x) => typeof x !== 'number')) throw new Error(`${values['user-embedding']} must hold a JSON array of numbers (or {"embedding": [...]})`);
    params.userEmbedding = arr as number[];
  }
  if (values.sld !== undefined && isSldPresetName(values.sld)) {
    // Diffusers' preset values exactly (no warm-up scaling, unlike the app), so the images compare with diffusers'.
    // Concept: --safety-concept, else the profile's banned categories, else StableDiffusionPipelineSafe's default.
    const fromProfile = profile && safetyConcept(steeringCategoriesFromFields(profile.fields));
    if (profile && !fromProfile && values['safety-concept'] === undefined) console.error(`note: profile "${profile.label}" bans nothing; --sld uses diffusers' default safety concept`);
    params.sld = sldParams(values.sld, values['safety-concept'] ?? fromProfile ?? DIFFUSERS_SAFETY_CONCEPT);
    if (params.guidance <= 1) console.error('note: --sld has no effect with --cfg ≤ 1 (as in diffusers, SLD needs classifier-free guidance)');
  }
  if (values.latents) {
    const npy = readNpy(new Uint8Array(await fs.readFile(values.latents)), values.latents);
    const want = [1, LATENT_CHANNELS, height / 8, width / 8];
    const got = npy.shape.length === 3 ? [1, ...npy.shape] : npy.shape;
    if (got.length !== 4 || got.some((d, i) => d !== want[i])) {
      throw new UsageError(`--latents has shape [${npy.shape.join(',')}]; ${width}×${height} needs [${want.join(',')}] or [${want.slice(1).join(',')}]`);
    }
    params.initialNoise = npy.data;
  }
  const guarded = profile && !values['no-guard'];
  if (profile && !guarded) {
    console.error('!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!');
    console.error(`!!! WARNING --no-guard: the safety flow of profile "${profile.label}" is OFF: no prompt guard, no steering, no image`);
    console.error('!!! stage (safety checker, blur). Only the profile\'s embedding applies. For research only: the picture is unchecked.');
    console.error('!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!');
  } else if (!profile) console.error('note: no --profile: nothing is guarded (as the app\'s "no profile" choice); give --profile to run its safety flow');
  // The app's own sequence; only the hooks are the CLI's. A failed embedding stops it (never the zero embedding).
  const log: LogEvent[] = [];
  let embedError: unknown;
  const run = await runGuarded(params, guarded ? { profile: profile.profile, policy: profile.policy } : undefined, info, {
    async embed() {
      if (!profile) return undefined; // --user-embedding, if given, is already in params
      try {
        if (!info.profileEncoder) throw new Error(`the bundle at ${bundleDir} has no profile encoder, so --profile cannot be used`);
        const emb = await engine.embed('cli-embed', renderEmbeddingText(info.profileEncoder.template, profile.fields));
        console.error(`profile "${profile.label}": ${describeFields(profile.fields)} → embedding [${emb.embedding.length}] in ${Math.round(emb.ms)} ms`);
        return emb.embedding;
      } catch (e) {
        embedError = e;
        throw e;
      }
    },
    generate: (p) => engine.generate('cli', profile ? { ...p, profile: profile.label } : p),
    log: async (e) => {
      log.push(e);
    },
  });
  if (run.status === 'refused') {
    throw new Error(`profile "${profile?.label}" is protected and the bundle at ${bundleDir} lacks ${run.missing.map((m) => (m === 'imageChecker' ? 'the image checker' : 'the profile encoder / user token')).join(' and ')} its policy needs; the app refuses it too`);
  }
  if (run.status === 'stopped') throw embedError ?? new Error('the engine made no picture');
  const report = guarded ? guardReport(profile.label, run, log) : undefined;
  if (report) for (const line of guardLines(report)) console.error(line);
  if (run.status === 'blocked') {
    await engine.unload();
    if (values.json) console.log(JSON.stringify({ out: null, blocked: true, profile: profile?.label, guard: report }));
    const words = report?.decisions.filter((d) => d.action === 'blocked').map((d) => `${d.category}${d.matched.length ? ` (matched ${d.matched.map((w) => `"${w}"`).join(', ')})` : ''}`).join(', ');
    console.error(`generate: blocked by the ${run.stage === 'text' ? 'prompt guard' : 'semantic check'} of profile "${profile?.label}": ${words}; no picture was written (exit ${BLOCKED_EXIT})`);
    return BLOCKED_EXIT;
  }
  const result = run.result;
  const ran = run.params;
  if (params.sld && ran.sld && ran.sld !== params.sld) console.error(`note: the prompt was steered, so the profile's SLD preset replaced --sld ${values.sld} (as in the app)`);
  await fs.mkdir(path.dirname(path.resolve(values.out)), { recursive: true });
  await fs.writeFile(values.out, encodePng(result.rgba, result.width, result.height));
  if (values['save-latents'] && result.noise) {
    await fs.writeFile(values['save-latents'], writeNpy({ shape: [1, LATENT_CHANNELS, height / 8, width / 8], data: result.noise }));
  }
  await engine.unload();
  const summary = { out: values.out, variant: info.variants.unet, ...(result.profile !== undefined ? { profile: result.profile } : {}), width, height, seed: params.seed, scheduler: params.scheduler, steps: params.steps, truncated: result.truncated, ...(ran.sld ? { sld: ran.sld === params.sld ? values.sld : 'profile', safetyConcept: result.appliedSafetyConcept ?? null } : {}), unet: result.unet, ...(profile ? { guard: report ?? 'off' } : {}), timings: result.timings };
  console.log(values.json ? JSON.stringify(summary) : `wrote ${values.out} (${width}×${height}, ${params.scheduler}, ${params.steps} steps, seed ${params.seed}) in ${Math.round(result.timings.totalMs)} ms${result.profile !== undefined ? ` for profile "${result.profile}"` : ''}`);
  if (result.truncated.prompt) console.error(`note: the prompt was cut to 77 tokens (${result.truncated.prompt} tokens dropped)`);
  if (result.truncated.concept) console.error(`note: the safety concept was cut to 77 tokens (${result.truncated.concept} tokens dropped)`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    if (e instanceof UsageError) {
      console.error(`generate: ${e.message}`);
      process.exit(2);
    }
    const info = toErrorInfo(e);
    console.error(`generate: ${info.code === 'INTERNAL' ? '' : `${info.code}: `}${info.message.split('\n')[0]}`);
    process.exit(1);
  },
);
