// Turns a bundle folder into one resolved description, whichever layout it has:
// - psa-web layout: `manifest.json` (src/shared/bundle.ts);
// - Optimum/diffusers ONNX export: `model_index.json` + text_encoder/ unet/ vae_decoder/ scheduler/ tokenizer/,
//   loaded unchanged (VAE scaling factor and image size read from the configs when present).
// Problems name the file at fault.

import { checkManifest, migrateManifest, type BundleManifest, type BundleManifestV1, type EncoderGroupsEntry, type EncoderGroupsVariants, type ModelFile, type PsaSettings, type SemanticGuardEntry, type Variant } from '../shared/bundle';
import { SD15_VAE_SCALING, VAE_FACTOR, type ModelRole } from '../shared/contract';
import { AppError } from '../shared/errors';
import { sizeRuleFor, type SizeRule } from '../shared/image-size';
import type { SchedulerName } from '../shared/types';
import { readJson, readJsonIfPresent, type BundleReader } from './bundle-reader';

export interface ResolvedBundle {
  layout: 'manifest' | 'optimum';
  id: string;
  name: string;
  version: string;
  files: Partial<Record<ModelRole, Partial<Record<Variant, ModelFile>>>>;
  tokenizerPath: string;
  profileTokenizerPath?: string;
  /** The profile encoder as layer groups (manifest.profileEncoderGroups). */
  profileEncoderGroups?: EncoderGroupsEntry | EncoderGroupsVariants;
  schedulerConfig: Record<string, unknown>;
  defaultScheduler: SchedulerName;
  vaeScalingFactor: number;
  image: { width: number; height: number };
  /** The sizes the model accepts (the manifest's `sizes`, else image-size.ts's rule for its size). */
  sizes: SizeRule;
  psa?: PsaSettings;
  /** Manifest format 2: per role, static sizes for symbolic dimensions (ORT freeDimensionOverrides). */
  staticDims?: Partial<Record<ModelRole, Record<string, number>>>;
  /** The semantic prompt check's concepts and thresholds (manifest.semanticGuard); absent → the check is skipped. */
  semanticGuard?: SemanticGuardEntry;
}

const CLASS_TO_SCHEDULER: Record<string, SchedulerName> = {
  PNDMScheduler: 'pndm',
  DDIMScheduler: 'ddim',
  EulerDiscreteScheduler: 'euler',
  EulerAncestralDiscreteScheduler: 'euler-ancestral',
  DPMSolverMultistepScheduler: 'dpmpp-2m',
  LCMScheduler: 'lcm',
};

export function schedulerFromConfig(cfg: Record<string, unknown>): SchedulerName {
  const name = CLASS_TO_SCHEDULER[String(cfg._class_name ?? '')] ?? 'pndm';
  return name === 'dpmpp-2m' && cfg.use_karras_sigmas === true ? 'dpmpp-2m-karras' : name;
}

export async function resolveBundle(r: BundleReader): Promise<ResolvedBundle> {
  if (await r.exists('manifest.json')) return resolveManifest(r);
  if (await r.exists('model_index.json')) return resolveOptimum(r);
  throw new AppError('BUNDLE_NOT_FOUND', `no bundle at ${r.label}: neither manifest.json nor model_index.json is there`);
}

async function resolveManifest(r: BundleReader): Promise<ResolvedBundle> {
  const raw = await readJson<BundleManifest | BundleManifestV1>(r, 'manifest.json');
  const problems = checkManifest(raw);
  if (problems.length) throw new AppError('BUNDLE_INVALID', `manifest.json in ${r.label}: ${problems.join('; ')}`);
  const m = migrateManifest(raw);
  const files: ResolvedBundle['files'] = {};
  const staticDims: ResolvedBundle['staticDims'] = {};
  for (const [role, entry] of Object.entries(m.components)) {
    if (!entry) continue;
    files[role as ModelRole] = entry.variants;
    if (entry.staticDims) staticDims[role as ModelRole] = entry.staticDims;
  }
  const schedulerConfig = m.scheduler && Object.keys(m.scheduler).length
    ? m.scheduler
    : await readJsonIfPresent(r, 'scheduler/scheduler_config.json');
  return {
    layout: 'manifest',
    id: m.id,
    name: m.name,
    version: m.version,
    files,
    tokenizerPath: m.tokenizer.path,
    profileTokenizerPath: m.profileTokenizer?.path,
    ...(m.profileEncoderGroups ? { profileEncoderGroups: m.profileEncoderGroups } : {}),
    schedulerConfig,
    defaultScheduler: schedulerFromConfig(schedulerConfig),
    vaeScalingFactor: m.vaeScalingFactor ?? SD15_VAE_SCALING,
    image: m.image,
    sizes: sizeRuleFor(m.image, m.sizes),
    psa: m.psa,
    staticDims,
    ...(m.semanticGuard ? { semanticGuard: m.semanticGuard } : {}),
  };
}

async function resolveOptimum(r: BundleReader): Promise<ResolvedBundle> {
  const index = await readJson<Record<string, unknown>>(r, 'model_index.json');
  const files: ResolvedBundle['files'] = {};
  const roles: [ModelRole, string][] = [['text_encoder', 'text_encoder'], ['unet', 'unet'], ['vae_decoder', 'vae_decoder']];
  for (const [role, folder] of roles) {
    const path = `${folder}/model.onnx`;
    if (!(await r.exists(path))) throw new AppError('MODEL_FILE_MISSING', `${path} is missing from the bundle at ${r.label} (model_index.json lists ${folder})`);
    // No external-data list: the .onnx names its own weight files (`model.onnx_data`, `weights.pb`, any name), which
    // the loader reads from it (external-data.ts modelWeights). The variant is fp32 until the graph says float16.
    const file: ModelFile = { path };
    files[role] = { fp32: file };
  }
  for (const p of ['tokenizer/vocab.json', 'tokenizer/merges.txt']) {
    if (!(await r.exists(p)) && !(await r.exists('tokenizer/tokenizer.json'))) {
      throw new AppError('MODEL_FILE_MISSING', `${p} is missing from the bundle at ${r.label} (needed to build the CLIP tokenizer)`);
    }
  }
  const schedulerConfig = await readJsonIfPresent(r, 'scheduler/scheduler_config.json');
  const vaeCfg = await readJsonIfPresent(r, 'vae_decoder/config.json');
  const unetCfg = await readJsonIfPresent(r, 'unet/config.json');
  const sampleSize = typeof unetCfg.sample_size === 'number' ? unetCfg.sample_size : 64;
  const side = sampleSize * VAE_FACTOR;
  return {
    layout: 'optimum',
    id: String(index._name_or_path ?? r.label),
    name: String(index._class_name ?? 'Stable Diffusion (ONNX export)'),
    version: String(index._diffusers_version ?? ''),
    files,
    tokenizerPath: 'tokenizer',
    schedulerConfig,
    defaultScheduler: schedulerFromConfig(schedulerConfig),
    vaeScalingFactor: typeof vaeCfg.scaling_factor === 'number' ? vaeCfg.scaling_factor : SD15_VAE_SCALING,
    image: { width: side, height: side },
    sizes: sizeRuleFor({ width: side, height: side }),
  };
}
