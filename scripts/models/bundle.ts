// Builds every tiny model in memory and writes the two bundles: `demo` (PSA: U=1 U-Net + int8 variant, user
// projection, Qwen2-style profile encoder folder with its tokenizer and chat template, PSA's embedding template) and
// `demo-plain` (plain SD1.5 shape, U=0). Each bundle is both a psa-web bundle (manifest.json with byte sizes + sha256 of every model) and an Optimum/diffusers-looking folder
// (model_index.json, per-component config.json, scheduler/scheduler_config.json, tokenizer/).
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BUNDLE_FORMAT, BUNDLE_FORMAT_VERSION, checkManifest, type BundleManifest, type ComponentEntry, type ModelFile } from '../../src/shared/bundle';
import { CLIP_MAX_LENGTH, CLIP_VOCAB_SIZE, SD15_VAE_SCALING } from '../../src/shared/contract';
import { writeJson } from './bpe-files';
import { writeClipTokenizer } from './clip-tokenizer';
import { PSA_EMBEDDING_TEMPLATE } from '../../src/safety/embedding-text';
import { buildProfileEncoder, profileEncoderConfigJson } from './profile-encoder';
import { profileTokenizer, profileVocabRows, writeProfileTokenizer } from './profile-tokenizer';
import { quantizeWeightsInt8 } from './quantize';
import { SAFETY_CHECKER_MODEL, safetyCheckerFiles } from './safety-checker';
import { demoSemanticGuard } from './semantic-guard';
import { buildTextEncoder, TEXT_ENCODER_DEFAULTS } from './text-encoder';
import { buildUnet, UNET_DEFAULTS } from './unet';
import { buildUserProjection, USER_PROJECTION_DEFAULTS } from './user-projection';
import { buildVaeDecoder, VAE_DEFAULTS } from './vae';

export const GENERATOR_VERSION = '1.1.0';
export const IMAGE_SIZE = 64;
/**
 * The tiny models' own size rule (manifest `sizes`): small sides, so tests and the demo stay fast. SD1.5's rule
 * (256–768) would make every test picture at least 16× the pixels of today's 64×64 for nothing: these networks
 * make noise at any size.
 */
export const DEMO_SIZES = { min: 32, max: 256, step: 32 };
export const BUNDLE_NAMES = ['demo', 'demo-plain'] as const;
export type BundleName = (typeof BUNDLE_NAMES)[number];

/** SD1.5's scheduler/scheduler_config.json (runwayml/stable-diffusion-v1-5). */
export const SD15_SCHEDULER_CONFIG = {
  _class_name: 'PNDMScheduler',
  _diffusers_version: '0.6.0',
  beta_end: 0.012,
  beta_schedule: 'scaled_linear',
  beta_start: 0.00085,
  clip_sample: false,
  num_train_timesteps: 1000,
  prediction_type: 'epsilon',
  set_alpha_to_one: false,
  skip_prk_steps: true,
  steps_offset: 1,
  trained_betas: null,
};

/** The demo bundle's license text (generated weights; the project is MIT). */
export const DEMO_LICENSE_TEXT = `MIT License

Copyright (c) psa-web contributors

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files (the "Software"), to deal in the Software without restriction, including without limitation the
rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit
persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions of the
Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED.
`;

/** Where the demo bundle keeps PSA's embedding template (PSAlign's get_embeds.txt, byte for byte). */
export const EMBEDDING_TEMPLATE_PATH = 'psa/embedding_template.txt';
/** The profile encoder folder: model + tokenizer + config in the Optimum / transformers.js feature-extraction layout. */
export const PROFILE_ENCODER_DIR = 'profile_encoder';

export interface TinyModels {
  textEncoderInt32: Uint8Array;
  textEncoderInt64: Uint8Array;
  unetPsa: Uint8Array;
  unetPlain: Uint8Array;
  unetPsaInt8: Uint8Array;
  userProjection: Uint8Array;
  profileEncoder: Uint8Array;
  vaeDecoder: Uint8Array;
  /** Rows of the profile encoder's embedding table (≥ the profile tokenizer's vocabulary). */
  profileVocabRows: number;
  quantized: string[];
}

/** Builds every model in memory (deterministic). */
export function buildTinyModels(): TinyModels {
  const rows = profileVocabRows();
  const unetPsa = buildUnet({ userTokens: 1 });
  const q = quantizeWeightsInt8(unetPsa);
  return {
    textEncoderInt32: buildTextEncoder({ idsType: 'int32' }),
    textEncoderInt64: buildTextEncoder({ idsType: 'int64' }),
    unetPsa,
    unetPlain: buildUnet({ userTokens: 0 }),
    unetPsaInt8: q.bytes,
    userProjection: buildUserProjection(),
    profileEncoder: buildProfileEncoder({ vocabSize: rows }),
    vaeDecoder: buildVaeDecoder(),
    profileVocabRows: rows,
    quantized: q.report.quantized,
  };
}

export interface BuiltFile {
  path: string;
  bytes: number;
  sha256: string;
}
export interface BuiltBundle {
  name: BundleName;
  dir: string;
  manifest: BundleManifest;
  /** Every file of the bundle, sorted by path. */
  files: BuiltFile[];
}
export interface BuildOptions {
  /** Parent folder; bundles go to `<outDir>/demo` and `<outDir>/demo-plain`. */
  outDir: string;
  bundles?: readonly BundleName[];
  log?: (line: string) => void;
}

const sha256 = (b: Uint8Array | Buffer): string => createHash('sha256').update(b).digest('hex');

function listFiles(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(root, rel)).sort()) {
    const r = rel ? `${rel}/${name}` : name;
    if (statSync(join(root, r)).isDirectory()) out.push(...listFiles(root, r));
    else out.push(r);
  }
  return out;
}

function componentConfigs(models: TinyModels, psa: boolean): Record<string, unknown> {
  const te = TEXT_ENCODER_DEFAULTS, un = UNET_DEFAULTS, vae = VAE_DEFAULTS;
  const configs: Record<string, unknown> = {
    'text_encoder/config.json': {
      architectures: ['CLIPTextModel'],
      model_type: 'clip_text_model',
      hidden_act: 'quick_gelu',
      hidden_size: te.hidden,
      intermediate_size: 4 * te.hidden,
      num_attention_heads: te.heads,
      num_hidden_layers: te.layers,
      max_position_embeddings: CLIP_MAX_LENGTH,
      vocab_size: CLIP_VOCAB_SIZE,
      projection_dim: te.hidden,
      torch_dtype: 'float32',
    },
    'unet/config.json': {
      _class_name: 'UNet2DConditionModel',
      sample_size: IMAGE_SIZE / 8,
      in_channels: 4,
      out_channels: 4,
      block_out_channels: un.channels,
      down_block_types: ['CrossAttnDownBlock2D'],
      up_block_types: ['CrossAttnUpBlock2D'],
      mid_block_type: 'UNetMidBlock2DCrossAttn',
      cross_attention_dim: un.crossDim,
      attention_head_dim: un.headDim,
      norm_num_groups: un.groups,
      flip_sin_to_cos: true,
      freq_shift: 0,
      ...(psa ? { psa_user_tokens: 1 } : {}),
    },
    'vae_decoder/config.json': {
      _class_name: 'AutoencoderKL',
      latent_channels: 4,
      out_channels: 3,
      block_out_channels: vae.channels,
      norm_num_groups: vae.groups,
      sample_size: IMAGE_SIZE,
      scaling_factor: SD15_VAE_SCALING,
    },
  };
  if (psa) {
    configs['user_projection/config.json'] = { embedding_size: USER_PROJECTION_DEFAULTS.embeddingSize, user_tokens: USER_PROJECTION_DEFAULTS.userTokens, hidden_size: USER_PROJECTION_DEFAULTS.hidden };
    const [endoftext, , imEnd] = profileTokenizer().specialIds;
    configs[`${PROFILE_ENCODER_DIR}/config.json`] = profileEncoderConfigJson(models.profileVocabRows, { endoftext, imEnd });
  }
  return configs;
}

function modelIndex(): Record<string, unknown> {
  return {
    _class_name: 'StableDiffusionPipeline',
    _diffusers_version: '0.30.0',
    feature_extractor: [null, null],
    image_encoder: [null, null],
    requires_safety_checker: false,
    safety_checker: [null, null],
    scheduler: ['diffusers', 'PNDMScheduler'],
    text_encoder: ['transformers', 'CLIPTextModel'],
    tokenizer: ['transformers', 'CLIPTokenizer'],
    unet: ['diffusers', 'UNet2DConditionModel'],
    vae: ['diffusers', 'AutoencoderKL'],
  };
}

function writeBundle(name: BundleName, dir: string, models: TinyModels): BuiltBundle {
  const psa = name === 'demo';
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const write = (rel: string, bytes: Uint8Array): ModelFile => {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), bytes);
    return { path: rel, bytes: bytes.length, sha256: sha256(bytes) };
  };
  const one = (rel: string, bytes: Uint8Array): ComponentEntry => ({ variants: { fp32: write(rel, bytes) } });

  writeClipTokenizer(join(dir, 'tokenizer'));
  mkdirSync(join(dir, 'scheduler'), { recursive: true });
  writeJson(join(dir, 'scheduler', 'scheduler_config.json'), SD15_SCHEDULER_CONFIG);
  writeJson(join(dir, 'model_index.json'), modelIndex());

  const components: BundleManifest['components'] = {
    text_encoder: one('text_encoder/model.onnx', psa ? models.textEncoderInt32 : models.textEncoderInt64),
    unet: psa
      ? { variants: { fp32: write('unet/model.onnx', models.unetPsa), int8: write('unet/model.int8.onnx', models.unetPsaInt8) } }
      : one('unet/model.onnx', models.unetPlain),
    vae_decoder: one('vae_decoder/model.onnx', models.vaeDecoder),
  };
  if (psa) {
    components.user_projection = one('user_projection/model.onnx', models.userProjection);
    components.profile_encoder = one(`${PROFILE_ENCODER_DIR}/model.onnx`, models.profileEncoder);
    writeProfileTokenizer(join(dir, PROFILE_ENCODER_DIR));
    // The image stage's tiny SD1.5 safety checker (+ its CLIP preprocessing config), diffusers' layout.
    for (const [rel, bytes] of Object.entries(safetyCheckerFiles())) {
      const f = write(rel, bytes);
      if (rel === SAFETY_CHECKER_MODEL) components.safety_checker = { variants: { fp32: f } };
    }
  }
  const template = psa ? write(EMBEDDING_TEMPLATE_PATH, new TextEncoder().encode(PSA_EMBEDDING_TEMPLATE)) : undefined;
  for (const [rel, cfg] of Object.entries(componentConfigs(models, psa))) writeJson(join(dir, rel), cfg);
  // Format 2's inventory: every file written so far (manifest.json itself is not listed), with size and hash.
  const inventory = listFiles(dir).map((rel) => {
    const b = readFileSync(join(dir, rel));
    return { path: rel, bytes: b.length, sha256: sha256(b) };
  });

  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    id: psa ? 'tiny-psa-demo' : 'tiny-sd15-plain',
    version: GENERATOR_VERSION,
    name: psa ? 'Tiny PSA demo (generated test weights)' : 'Tiny SD1.5 plain (generated test weights)',
    license: { name: 'MIT', text: DEMO_LICENSE_TEXT },
    provenance: {
      createdBy: `psa-web scripts/models ${GENERATOR_VERSION}`,
      sources: ['generated test weights (seeded random), no trained model'],
      notes: 'Tiny networks with the SD1.5 + PSA interface; they make abstract noise, not pictures.',
    },
    files: inventory,
    image: { width: IMAGE_SIZE, height: IMAGE_SIZE },
    sizes: DEMO_SIZES,
    vaeScalingFactor: SD15_VAE_SCALING,
    scheduler: { ...SD15_SCHEDULER_CONFIG },
    tokenizer: { path: 'tokenizer' },
    ...(psa ? { profileTokenizer: { path: PROFILE_ENCODER_DIR } } : {}),
    components,
    ...(psa
      ? {
          psa: {
            userTokens: USER_PROJECTION_DEFAULTS.userTokens,
            embeddingSize: USER_PROJECTION_DEFAULTS.embeddingSize,
            embeddingTemplate: template,
          },
          semanticGuard: demoSemanticGuard(),
        }
      : {}),
  };
  const problems = checkManifest(manifest);
  if (problems.length) throw new Error(`generated manifest for ${name} is invalid: ${problems.join('; ')}`);
  writeJson(join(dir, 'manifest.json'), manifest);

  const files = listFiles(dir).map((rel) => {
    const b = readFileSync(join(dir, rel));
    return { path: rel, bytes: b.length, sha256: sha256(b) };
  });
  return { name, dir, manifest, files };
}

/** Builds the models once and writes the requested bundles under `outDir`. */
export function buildBundles(opts: BuildOptions): BuiltBundle[] {
  const log = opts.log ?? (() => undefined);
  const models = buildTinyModels();
  return (opts.bundles ?? BUNDLE_NAMES).map((name) => {
    const b = writeBundle(name, join(opts.outDir, name), models);
    log(`${name}: ${b.dir}`);
    for (const f of b.files) log(`  ${f.path.padEnd(42)} ${String(f.bytes).padStart(9)}  ${f.sha256.slice(0, 16)}`);
    return b;
  });
}
