// The model bundle manifest (`manifest.json` at a bundle's root): which files play which role, in which variants,
// plus PSA settings. A plain Optimum/diffusers export folder has no manifest; the engine derives the same shape from
// its `model_index.json` (see engine/bundle-loader). Issue "model bundles" extends this (hashes, downloads).

import type { ModelRole } from './contract';

export const BUNDLE_FORMAT = 'psa-web-bundle';
export const BUNDLE_FORMAT_VERSION = 1;

/** Weight variants; each needs a device feature (fp16 → WebGPU with shader-f16). */
export type Variant = 'fp32' | 'fp16' | 'int8' | 'q4';

export interface ModelFile {
  /** Path relative to the bundle root, '/'-separated. */
  path: string;
  bytes?: number;
  sha256?: string;
  /** External-data files next to the .onnx (path as named inside the model). */
  externalData?: { path: string; bytes?: number; sha256?: string }[];
}

export interface ComponentEntry {
  /** Variant → file. At least one variant. */
  variants: Partial<Record<Variant, ModelFile>>;
}

export interface TokenizerEntry {
  /** Folder holding tokenizer.json (+ tokenizer_config.json) or vocab.json + merges.txt. */
  path: string;
}

export interface PsaSettings {
  /** Number of user tokens appended after the 77 text tokens (1 in PSA). */
  userTokens: number;
  /** Size of the user embedding (hidden size of the profile encoder; 3584 for Qwen2.5-7B). */
  embeddingSize: number;
  /**
   * PSA's embedding template as a text file in the bundle (placeholders <<AGE>> <<AGE_GROUP>> <<GENDER>> <<RELIGION>>
   * <<MENTAL>> <<PHYSICAL>> <<BANNED>> <<ALLOWED>>); absent → PSA's own get_embeds.txt.
   */
  embeddingTemplate?: ModelFile;
  /** Older manifests carried the template inline; read when `embeddingTemplate` is absent. */
  promptTemplate?: string;
  // `psa_scale` is one global strength (default 1.0, PSA evaluates at 1.0); older manifests' `scaleByLevel` is ignored.
}

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  formatVersion: number;
  id: string;
  version: string;
  name: string;
  license: string;
  /** Default image size in pixels (multiples of 8). */
  image: { width: number; height: number };
  vaeScalingFactor: number;
  /** diffusers scheduler_config.json content (class name + keys). */
  scheduler: Record<string, unknown>;
  tokenizer: TokenizerEntry;
  profileTokenizer?: TokenizerEntry;
  components: Partial<Record<ModelRole, ComponentEntry>> & { text_encoder: ComponentEntry; unet: ComponentEntry; vae_decoder: ComponentEntry };
  /** Present for PSA bundles (U-Net with user tokens); absent for plain SD1.5. */
  psa?: PsaSettings;
}

/** Loose structural check of a parsed manifest; returns problems in plain words. */
export function checkManifest(m: unknown): string[] {
  const p: string[] = [];
  if (!m || typeof m !== 'object') return ['manifest is not a JSON object'];
  const o = m as Record<string, unknown>;
  if (o.format !== BUNDLE_FORMAT) p.push(`manifest.format must be "${BUNDLE_FORMAT}"`);
  if (typeof o.formatVersion !== 'number' || o.formatVersion > BUNDLE_FORMAT_VERSION) p.push(`manifest.formatVersion must be ≤ ${BUNDLE_FORMAT_VERSION}`);
  for (const k of ['id', 'version', 'name'] as const) if (typeof o[k] !== 'string' || !o[k]) p.push(`manifest.${k} must be a non-empty string`);
  const img = o.image as { width?: unknown; height?: unknown } | undefined;
  if (!img || typeof img.width !== 'number' || typeof img.height !== 'number' || img.width % 8 || img.height % 8) p.push('manifest.image needs width and height, multiples of 8');
  const comps = o.components as Record<string, { variants?: Record<string, { path?: unknown }> }> | undefined;
  if (!comps || typeof comps !== 'object') p.push('manifest.components is missing');
  else {
    for (const role of ['text_encoder', 'unet', 'vae_decoder']) {
      const v = comps[role]?.variants;
      if (!v || !Object.keys(v).length) p.push(`manifest.components.${role} needs at least one variant`);
      else for (const [name, file] of Object.entries(v)) if (typeof file?.path !== 'string') p.push(`manifest.components.${role}.variants.${name}.path must be a string`);
    }
  }
  const tok = o.tokenizer as { path?: unknown } | undefined;
  if (!tok || typeof tok.path !== 'string') p.push('manifest.tokenizer.path must be a string');
  const psa = o.psa as Partial<PsaSettings> | undefined;
  if (psa !== undefined) {
    if (typeof psa.userTokens !== 'number' || psa.userTokens < 1) p.push('manifest.psa.userTokens must be ≥ 1');
    if (typeof psa.embeddingSize !== 'number' || psa.embeddingSize < 1) p.push('manifest.psa.embeddingSize must be ≥ 1');
    if (!comps?.user_projection) p.push('a PSA bundle needs components.user_projection');
    if (psa.embeddingTemplate !== undefined && typeof psa.embeddingTemplate?.path !== 'string') p.push('manifest.psa.embeddingTemplate.path must be a string');
  }
  return p;
}
