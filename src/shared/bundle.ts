// The model bundle manifest (`manifest.json` at a bundle's root): which files play which role, in which variants,
// plus PSA settings. A plain Optimum/diffusers export folder has no manifest; the engine derives the same shape from
// its `model_index.json` (see engine/bundle-resolve). Format 2 adds what a verified download needs: a license text,
// provenance, the complete file inventory with byte sizes + SHA-256, the device feature each variant needs and static
// dimensions for `freeDimensionOverrides`. The JSON Schema is bundle.schema.json; `checkManifest` is the validator the
// code runs (no schema engine at run time); `migrateManifest` lifts a format-1 manifest to format 2.
// File paths must stay inside the bundle's folder wherever it is (isSafeBundlePath), and every file URL is made by
// `bundleFileUrl`, which checks the resolved URL too: a manifest cannot point at another host, scheme or folder.

import type { ModelRole } from './contract';
import { AppError } from './errors';
import { sizeProblem, sizeRuleProblem, type SizeRule } from './image-size';

export const BUNDLE_FORMAT = 'psa-web-bundle';
export const BUNDLE_FORMAT_VERSION = 2;

/** Weight variants; each needs a device feature (fp16 → WebGPU with shader-f16). */
export type Variant = 'fp32' | 'fp16' | 'int8' | 'q4';

/** Device features a variant can need. */
export type DeviceFeature = 'webgpu' | 'shader-f16';

/** What each variant needs when the manifest does not say (`ModelFile.requires`). */
export const VARIANT_NEEDS: Readonly<Record<Variant, readonly DeviceFeature[]>> = { fp32: [], int8: [], fp16: ['shader-f16'], q4: [] };

/** One file of a bundle. Format 2 requires `bytes` and `sha256` (lower-case hex) on every file. */
export interface FileRef {
  /** Path relative to the bundle root, '/'-separated. */
  path: string;
  bytes?: number;
  sha256?: string;
}

export interface ModelFile extends FileRef {
  /** External-data files next to the .onnx (path as named inside the model). */
  externalData?: FileRef[];
  /** Device features this variant needs (default: VARIANT_NEEDS[variant]). */
  requires?: DeviceFeature[];
}

export interface ComponentEntry {
  /** Variant → file. At least one variant. */
  variants: Partial<Record<Variant, ModelFile>>;
  /** Static sizes of the model's symbolic dimensions (ORT `freeDimensionOverrides`), e.g. {"batch_size": 2}. */
  staticDims?: Record<string, number>;
}

export interface License {
  /** SPDX id or a short name ("CreativeML OpenRAIL-M"). */
  name: string;
  /** The full license text shown before download (may be long). */
  text: string;
  url?: string;
}

export interface Provenance {
  /** Who or what made the bundle ("psa-web scripts/models 1.2.0", "converted from runwayml/stable-diffusion-v1-5"). */
  createdBy: string;
  /** ISO date. */
  createdAt?: string;
  /** Models the weights come from (hub ids, URLs, papers). */
  sources?: string[];
  notes?: string;
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

/**
 * A profile encoder cut into layer groups (`npm run convert -- --profile-encoder`): the engine gathers token rows
 * from the CPU table, then creates, runs and releases one group graph at a time (hidden_states → next_hidden_states;
 * the last ends with the final norm → last_hidden_state).
 */
export interface EncoderGroupsEntry {
  /** encoder_groups.json: the groups in run order and the table's description (the engine's entry point). */
  index: FileRef;
  /** The group graphs in run order, each with its external data. */
  groups: ModelFile[];
  /** The raw little-endian token-embedding table [vocab, hidden]. */
  table: FileRef;
  /** The table's description (embed_tokens.json: file, dtype, shape); listed so a variant's set is complete. */
  tableInfo?: FileRef;
  /** Device features this set needs (default: VARIANT_NEEDS of its variant; q4 with float16 activations: shader-f16). */
  requires?: DeviceFeature[];
}

/**
 * Several weight variants of the layer-group encoder (`--encoder-quantize q4,fp32,…`), each a complete set in a
 * folder of its own; a device downloads and runs one, picked like the U-Net's (chooseVariants, engine/models).
 * A manifest with a single float32 set may give it directly (the older form, still written for `none` alone).
 */
export interface EncoderGroupsVariants {
  variants: Partial<Record<Variant, EncoderGroupsEntry>>;
}

/** The layer-group encoder's sets by variant, whichever form the manifest uses ({} when it has none). */
export function encoderGroupVariants(eg: EncoderGroupsEntry | EncoderGroupsVariants | undefined): Partial<Record<Variant, EncoderGroupsEntry>> {
  if (!eg) return {};
  return 'variants' in eg ? eg.variants : { fp32: eg };
}

/** Every file of one layer-group set (index, table, groups and their external data). */
export function encoderGroupFiles(e: EncoderGroupsEntry): FileRef[] {
  return [e.index, e.table, ...(e.tableInfo ? [e.tableInfo] : []), ...e.groups.flatMap((g) => [g, ...(g.externalData ?? [])])];
}

export interface BundleManifest {
  format: typeof BUNDLE_FORMAT;
  formatVersion: number;
  id: string;
  version: string;
  name: string;
  license: License;
  provenance: Provenance;
  /**
   * Every file of the bundle except manifest.json (tokenizer, configs, models, external data, templates) with its
   * size and hash: what a download fetches and verifies. Model files of variants the device cannot run are skipped.
   */
  files: FileRef[];
  /** Default image size in pixels (multiples of 8; within `sizes` when that is declared). */
  image: { width: number; height: number };
  /**
   * The sizes this model accepts (image-size.ts). Absent: SD1.5's rule for a 512×512 model, else multiples of 8
   * up to 2048. The tiny test models declare their own.
   */
  sizes?: SizeRule;
  vaeScalingFactor: number;
  /** diffusers scheduler_config.json content (class name + keys). */
  scheduler: Record<string, unknown>;
  tokenizer: TokenizerEntry;
  profileTokenizer?: TokenizerEntry;
  /** The profile encoder as layer groups (instead of, or besides, components.profile_encoder), one set or several variants. */
  profileEncoderGroups?: EncoderGroupsEntry | EncoderGroupsVariants;
  components: Partial<Record<ModelRole, ComponentEntry>> & { text_encoder: ComponentEntry; unet: ComponentEntry; vae_decoder: ComponentEntry };
  /** Present for PSA bundles (U-Net with user tokens); absent for plain SD1.5. */
  psa?: PsaSettings;
  /** The semantic prompt check's concepts and thresholds for this bundle's text encoder (optional). */
  semanticGuard?: SemanticGuardEntry;
}

/**
 * The optional semantic prompt check (issue 16, item 1): the prompt's pooled CLIP text embedding is compared by cosine
 * with concept phrases embedded by the same text encoder; a category fires when its best cosine reaches its
 * threshold. Thresholds are calibrated per text encoder (they mean nothing across models), so they live here, with
 * the weights they were measured on. Absent → the check is skipped.
 */
export interface SemanticGuardEntry {
  /** How the [77, D] hidden state becomes one vector: 'eos' = the state at the first EOS (CLIP's pooled output), 'mean' = mean over BOS..EOS. */
  pooling: 'eos' | 'mean';
  /** Category name (the guard's: PSA's seven or 'Illegal') → its concept phrases and cosine threshold. */
  concepts: Record<string, { phrases: string[]; threshold: number }>;
}

/** A format-1 manifest (license was a plain string; no inventory, no provenance). */
export type BundleManifestV1 = Omit<BundleManifest, 'formatVersion' | 'license' | 'provenance' | 'files'> & { formatVersion: 1; license: string };

const SHA256_HEX = /^[0-9a-f]{64}$/;
const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isSize = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const VARIANTS: readonly Variant[] = ['fp32', 'fp16', 'int8', 'q4'];
const FEATURES: readonly DeviceFeature[] = ['webgpu', 'shader-f16'];

/**
 * A URL-form that would leave the bundle's folder once resolved against it: a scheme ('http:other.host/x', 'data:',
 * 'blob:', 'javascript:' — `new URL` treats 'x:' as absolute), a leading '/' or '\\' (host root), backslashes (the
 * URL parser reads them as '/'), '?' or '#' (the path would end there), control characters and surrounding spaces
 * (the URL parser drops them, so '.\t.' becomes '..' and ' /x' becomes '/x'), and '.', '..' or empty segments.
 */
function unsafeForm(p: string): boolean {
  if (p !== p.trim() || /[\u0000-\u001f\u007f\\?#]/.test(p) || p.startsWith('/')) return true;
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(p)) return true;
  return !p.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

/**
 * A safe relative path inside a bundle: none of the forms above, neither as written nor after percent-decoding
 * (the URL parser takes '%2e%2e' for '..' and a server may decode '%2f' to '/'; decoded repeatedly, so a
 * double-encoded '%252e' is caught too). A malformed '%' escape is refused rather than guessed at.
 */
export function isSafeBundlePath(p: unknown): p is string {
  if (typeof p !== 'string' || p.length === 0 || p.length >= 512) return false;
  let cur = p;
  for (let round = 0; round < 4; round++) {
    if (unsafeForm(cur)) return false;
    let next: string;
    try {
      next = decodeURIComponent(cur);
    } catch {
      return false;
    }
    if (next === cur) return true;
    cur = next;
  }
  // Still changing after four decodings: nobody names a model file like that.
  return false;
}

/** Whether `url` lies inside the folder `base` (same scheme, host and port, path under the base's path). */
export function isWithinBundle(url: string | URL, base: string | URL): boolean {
  let u: URL;
  let b: URL;
  try {
    u = new URL(url);
    b = new URL(base);
  } catch {
    return false;
  }
  // Compared part by part, not by `origin`: opfs: and file: URLs have the origin "null", equal for any two of them.
  return u.protocol === b.protocol && u.host === b.host && u.username === b.username && u.password === b.password
    && u.pathname.startsWith(b.pathname.endsWith('/') ? b.pathname : `${b.pathname}/`);
}

/**
 * The one way a bundle file's URL is made: `path` (relative, '/'-separated, as a manifest names it) resolved
 * against the bundle folder `base`. Throws BUNDLE_INVALID when the path is not a safe relative path or the result
 * would not lie inside the folder, so a manifest cannot point a download or a model load at another host or folder.
 */
export function bundleFileUrl(base: string, path: string): string {
  const folder = base.endsWith('/') ? base : `${base}/`;
  if (!isSafeBundlePath(path)) throw new AppError('BUNDLE_INVALID', `${JSON.stringify(path)} is not a relative path inside the bundle at ${folder}`);
  const url = new URL(path, folder);
  // The path check above should make this impossible; kept so a gap in it cannot become an escape.
  if (!isWithinBundle(url, folder) || url.search || url.hash) throw new AppError('BUNDLE_INVALID', `${JSON.stringify(path)} resolves to ${url.href}, outside the bundle at ${folder}`);
  return url.href;
}

function checkFileRef(f: unknown, where: string, needHash: boolean, p: string[]): void {
  if (!isObj(f)) return void p.push(`${where} must be an object with a path`);
  if (!isSafeBundlePath(f.path)) p.push(`${where}.path must be a relative path inside the bundle (got ${JSON.stringify(f.path)})`);
  if (f.bytes !== undefined || needHash) if (!isSize(f.bytes)) p.push(`${where}.bytes must be a byte count`);
  if (f.sha256 !== undefined || needHash) if (typeof f.sha256 !== 'string' || !SHA256_HEX.test(f.sha256)) p.push(`${where}.sha256 must be 64 lower-case hex digits`);
}

/**
 * Structural check of a parsed manifest of any supported format; returns problems in plain words, each naming the
 * field. Format 2 additionally requires the license text, provenance, and size + hash on every file, and every model
 * file to be listed in `files`.
 */
export function checkManifest(m: unknown): string[] {
  const p: string[] = [];
  if (!isObj(m)) return ['manifest is not a JSON object'];
  const o = m;
  if (o.format !== BUNDLE_FORMAT) p.push(`manifest.format must be "${BUNDLE_FORMAT}"`);
  const v2 = o.formatVersion === 2;
  if (o.formatVersion !== 1 && !v2) p.push(`manifest.formatVersion must be 1 or 2 (this app reads up to ${BUNDLE_FORMAT_VERSION}; got ${JSON.stringify(o.formatVersion)})`);
  for (const k of ['id', 'version', 'name'] as const) if (typeof o[k] !== 'string' || !o[k]) p.push(`manifest.${k} must be a non-empty string`);
  if (typeof o.id === 'string' && !/^[A-Za-z0-9._-]{1,100}$/.test(o.id)) p.push('manifest.id may hold only letters, digits, ".", "_" and "-" (it names a storage folder)');
  if (typeof o.version === 'string' && !/^[A-Za-z0-9._+-]{1,50}$/.test(o.version)) p.push('manifest.version may hold only letters, digits, ".", "_", "+" and "-"');
  const img = o.image as { width?: unknown; height?: unknown } | undefined;
  if (!img || typeof img.width !== 'number' || typeof img.height !== 'number' || img.width % 8 || img.height % 8) p.push('manifest.image needs width and height, multiples of 8');
  if (o.sizes !== undefined) {
    const problem = sizeRuleProblem(o.sizes);
    if (problem) p.push(`manifest.${problem}`);
    else if (img && sizeProblem(img.width, img.height, o.sizes as SizeRule)) p.push(`manifest.image (the default size) must be one of manifest.sizes: ${sizeProblem(img.width, img.height, o.sizes as SizeRule)}`);
  }
  if (v2) {
    if (typeof o.vaeScalingFactor !== 'number' || !(o.vaeScalingFactor > 0)) p.push('manifest.vaeScalingFactor must be a positive number');
    if (!isObj(o.scheduler)) p.push('manifest.scheduler must be an object (diffusers scheduler_config.json content)');
    const lic = o.license;
    if (!isObj(lic) || typeof lic.name !== 'string' || !lic.name || typeof lic.text !== 'string' || !lic.text) p.push('manifest.license needs a name and the license text');
    const prov = o.provenance;
    if (!isObj(prov) || typeof prov.createdBy !== 'string' || !prov.createdBy) p.push('manifest.provenance.createdBy must be a non-empty string');
    else if (prov.sources !== undefined && !(Array.isArray(prov.sources) && prov.sources.every((x) => typeof x === 'string'))) p.push('manifest.provenance.sources must be a list of strings');
    if (!Array.isArray(o.files) || !o.files.length) p.push('manifest.files must list every file of the bundle with bytes and sha256');
    else {
      const seen = new Set<string>();
      o.files.forEach((f, i) => {
        checkFileRef(f, `manifest.files[${i}]`, true, p);
        const path = (f as FileRef)?.path;
        if (seen.has(path)) p.push(`manifest.files lists ${path} twice`);
        seen.add(path);
      });
    }
  } else if (typeof o.license !== 'string') p.push('manifest.license must be a string (format 1)');
  const listed = new Map<string, FileRef>((Array.isArray(o.files) ? (o.files as FileRef[]) : []).filter(isObj).map((f) => [f.path, f]));
  const comps = o.components;
  if (!isObj(comps)) p.push('manifest.components is missing');
  else {
    for (const role of ['text_encoder', 'unet', 'vae_decoder']) if (!isObj(comps[role])) p.push(`manifest.components.${role} needs at least one variant`);
    for (const [role, entry] of Object.entries(comps)) {
      const variants = isObj(entry) ? entry.variants : undefined;
      if (!isObj(variants) || !Object.keys(variants).length) {
        p.push(`manifest.components.${role} needs at least one variant`);
        continue;
      }
      if (isObj(entry) && entry.staticDims !== undefined) {
        const sd = entry.staticDims;
        if (!isObj(sd) || !Object.values(sd).every((n) => Number.isInteger(n) && (n as number) > 0)) p.push(`manifest.components.${role}.staticDims must map dimension names to positive integers`);
      }
      for (const [name, file] of Object.entries(variants)) {
        const where = `manifest.components.${role}.variants.${name}`;
        if (!VARIANTS.includes(name as Variant)) p.push(`${where}: unknown variant (known: ${VARIANTS.join(', ')})`);
        if (!isObj(file) || typeof file.path !== 'string') {
          p.push(`${where}.path must be a string`);
          continue;
        }
        checkFileRef(file, where, v2, p);
        if (file.requires !== undefined && !(Array.isArray(file.requires) && file.requires.every((x) => FEATURES.includes(x as DeviceFeature)))) {
          p.push(`${where}.requires must list device features (${FEATURES.join(', ')})`);
        }
        const ext = file.externalData;
        if (ext !== undefined) {
          if (!Array.isArray(ext)) p.push(`${where}.externalData must be a list`);
          else ext.forEach((x, i) => checkFileRef(x, `${where}.externalData[${i}]`, v2, p));
        }
        if (v2) {
          for (const ref of [file, ...(Array.isArray(ext) ? ext : [])] as FileRef[]) {
            const inv = listed.get(ref.path);
            if (!inv) p.push(`${ref.path} (${where}) is not listed in manifest.files`);
            else if (inv.sha256 !== ref.sha256 || inv.bytes !== ref.bytes) p.push(`${ref.path}: size/hash in ${where} differ from manifest.files`);
          }
        }
      }
    }
  }
  const eg = o.profileEncoderGroups;
  if (eg !== undefined) {
    const many = isObj(eg) && 'variants' in eg;
    const sets: [unknown, string][] = many
      ? (isObj(eg.variants) && Object.keys(eg.variants).length ? Object.entries(eg.variants).map(([v, x]) => [x, `manifest.profileEncoderGroups.variants.${v}`] as [unknown, string]) : [])
      : [[eg, 'manifest.profileEncoderGroups']];
    if (many && !sets.length) p.push('manifest.profileEncoderGroups.variants must hold at least one variant');
    if (many) for (const v of Object.keys((eg as { variants: object }).variants ?? {})) if (!VARIANTS.includes(v as Variant)) p.push(`manifest.profileEncoderGroups.variants.${v}: unknown variant (${VARIANTS.join(', ')})`);
    if (many && isObj(comps) && comps.profile_encoder) p.push('a manifest with components.profile_encoder cannot also list profileEncoderGroups variants (one profile encoder is chosen per device)');
    for (const [set, at] of sets) {
      if (!isObj(set) || !Array.isArray(set.groups) || !set.groups.length) {
        p.push(`${at} needs index, table and a non-empty groups list`);
        continue;
      }
      if (set.requires !== undefined && !(Array.isArray(set.requires) && set.requires.every((x) => FEATURES.includes(x as DeviceFeature)))) p.push(`${at}.requires must list device features (${FEATURES.join(', ')})`);
      const refs: [unknown, string][] = [[set.index, `${at}.index`], [set.table, `${at}.table`], ...(set.tableInfo !== undefined ? [[set.tableInfo, `${at}.tableInfo`] as [unknown, string]] : [])];
      set.groups.forEach((g, i) => {
        refs.push([g, `${at}.groups[${i}]`]);
        if (isObj(g) && Array.isArray(g.externalData)) g.externalData.forEach((x, j) => refs.push([x, `${at}.groups[${i}].externalData[${j}]`]));
      });
      for (const [f, where] of refs) {
        checkFileRef(f, where, v2, p);
        if (v2 && isObj(f) && !listed.has(f.path as string)) p.push(`${String(f.path)} (${where}) is not listed in manifest.files`);
      }
    }
  }
  const tok = o.tokenizer as { path?: unknown } | undefined;
  if (!tok || !isSafeBundlePath(tok.path)) p.push('manifest.tokenizer.path must be a relative path');
  const psa = o.psa as Partial<PsaSettings> | undefined;
  if (psa !== undefined) {
    if (typeof psa.userTokens !== 'number' || psa.userTokens < 1) p.push('manifest.psa.userTokens must be ≥ 1');
    if (typeof psa.embeddingSize !== 'number' || psa.embeddingSize < 1) p.push('manifest.psa.embeddingSize must be ≥ 1');
    if (!isObj(comps) || !comps.user_projection) p.push('a PSA bundle needs components.user_projection');
    if (psa.embeddingTemplate !== undefined) {
      if (typeof psa.embeddingTemplate?.path !== 'string') p.push('manifest.psa.embeddingTemplate.path must be a string');
      else if (v2 && !listed.has(psa.embeddingTemplate.path)) p.push(`${psa.embeddingTemplate.path} (manifest.psa.embeddingTemplate) is not listed in manifest.files`);
    }
  }
  if (o.semanticGuard !== undefined) checkSemanticGuard(o.semanticGuard, p);
  return p;
}

/** Checks manifest.semanticGuard (see SemanticGuardEntry), naming the field at fault. */
function checkSemanticGuard(sg: unknown, p: string[]): void {
  const at = 'manifest.semanticGuard';
  if (!isObj(sg)) return void p.push(`${at} must be an object with pooling and concepts`);
  if (sg.pooling !== 'eos' && sg.pooling !== 'mean') p.push(`${at}.pooling must be "eos" or "mean" (got ${JSON.stringify(sg.pooling)})`);
  if (!isObj(sg.concepts) || !Object.keys(sg.concepts).length) return void p.push(`${at}.concepts must map at least one category to its phrases and threshold`);
  for (const [category, c] of Object.entries(sg.concepts)) {
    const where = `${at}.concepts.${category}`;
    if (!isObj(c)) {
      p.push(`${where} must be an object with phrases and threshold`);
      continue;
    }
    if (!Array.isArray(c.phrases) || !c.phrases.length || !c.phrases.every((x) => typeof x === 'string' && x.trim() !== '')) p.push(`${where}.phrases must be a non-empty list of non-empty strings`);
    if (typeof c.threshold !== 'number' || !(c.threshold >= -1 && c.threshold <= 1)) p.push(`${where}.threshold must be a cosine between -1 and 1 (got ${JSON.stringify(c.threshold)})`);
  }
}

/**
 * Lifts a checked format-1 manifest to format 2. Format 1 had no inventory, so `files` holds only the model files the
 * components name (with whatever sizes/hashes they carried); `license.text` says the original had only a name.
 * The result is for reading; it does not pass the format-2 check (no hashes), which only new manifests must.
 */
export function migrateManifest(m: BundleManifestV1 | BundleManifest): BundleManifest {
  if (m.formatVersion === 2) return m as BundleManifest;
  const v1 = m as BundleManifestV1;
  const files: FileRef[] = [];
  const add = (f: FileRef | undefined) => {
    if (f && !files.some((x) => x.path === f.path)) files.push({ path: f.path, ...(f.bytes !== undefined ? { bytes: f.bytes } : {}), ...(f.sha256 ? { sha256: f.sha256 } : {}) });
  };
  for (const entry of Object.values(v1.components)) {
    for (const file of Object.values(entry?.variants ?? {})) {
      add(file);
      for (const x of file?.externalData ?? []) add(x);
    }
  }
  add(v1.psa?.embeddingTemplate);
  return {
    ...v1,
    formatVersion: 2,
    license: { name: v1.license, text: `(format-1 manifest: license named "${v1.license}", no text included)` },
    provenance: { createdBy: 'unknown (format-1 manifest)' },
    files,
  };
}

/** The files a device needs from a manifest: everything except model files of variants other than the chosen ones. */
export function filesToFetch(m: BundleManifest, chosen: Partial<Record<ModelRole, Variant>>): FileRef[] {
  const skip = new Set<string>();
  const keep = new Set<string>();
  for (const [role, entry] of Object.entries(m.components)) {
    for (const [variant, file] of Object.entries(entry?.variants ?? {})) {
      const paths = [file!.path, ...(file!.externalData ?? []).map((x) => x.path)];
      for (const path of paths) (chosen[role as ModelRole] === variant ? keep : skip).add(path);
    }
  }
  // Layer-group encoder variants: the chosen one's files (chosen.profile_encoder), not the others'.
  if (m.profileEncoderGroups && 'variants' in m.profileEncoderGroups) {
    for (const [variant, set] of Object.entries(m.profileEncoderGroups.variants)) for (const f of encoderGroupFiles(set!)) (chosen.profile_encoder === variant ? keep : skip).add(f.path);
  }
  return m.files.filter((f) => keep.has(f.path) || !skip.has(f.path));
}

/** Whether a device with `features` can run a variant file. */
export function canRun(variant: Variant, file: Pick<ModelFile, 'requires'>, features: ReadonlySet<DeviceFeature>): boolean {
  return (file.requires ?? VARIANT_NEEDS[variant]).every((f) => features.has(f));
}

/**
 * Largest model (its .onnx plus external data) the WASM backend is given: onnxruntime-web's WASM build is wasm32, so
 * every weight the session holds, the other models' weights and the activations share one 4 GiB memory. SD1.5's fp32
 * U-Net alone is 3.44 GB (its 512×512 attention another ~1 GB at batch 2), so on WASM it cannot load: measured at full
 * size (e2e/measure/full-size.spec.ts), where int8 (0.86 GB) and q4 fit beside the text encoder and VAE.
 */
export const WASM_MODEL_BYTES = 2 * 1024 ** 3;

/** A model file's bytes with its external data, or undefined when the manifest does not give every size. */
export function modelBytes(file: ModelFile): number | undefined {
  let n = file.bytes;
  for (const x of file.externalData ?? []) n = n === undefined || x.bytes === undefined ? undefined : n + x.bytes;
  return n;
}

/** Whether a variant fits a byte cap (`maxModelBytes`, the WASM backend's); unknown sizes are let through. */
export const fitsCap = (file: ModelFile, maxModelBytes?: number): boolean => {
  const n = maxModelBytes === undefined ? undefined : modelBytes(file);
  return n === undefined || n <= maxModelBytes!;
};

/**
 * Picks one variant per role: the first in `order` the device can run and that fits `maxModelBytes` (the WASM
 * backend's cap, WASM_MODEL_BYTES; none on WebGPU, where weights live in GPU buffers). A role with no variant the
 * device can run, or none that fits, is an error that names the cap and the fix.
 */
export function chooseVariants(
  m: BundleManifest, order: readonly Variant[], features: ReadonlySet<DeviceFeature>, maxModelBytes?: number,
): Partial<Record<ModelRole, Variant>> {
  const out: Partial<Record<ModelRole, Variant>> = {};
  for (const [role, entry] of Object.entries(m.components)) {
    const runs = order.filter((name) => entry?.variants[name] && canRun(name, entry.variants[name]!, features));
    if (!runs.length) throw new Error(`this device can run none of the ${role} variants (${Object.keys(entry?.variants ?? {}).join(', ')})`);
    const v = runs.find((name) => fitsCap(entry!.variants[name]!, maxModelBytes));
    if (!v) {
      const sizes = runs.map((name) => `${name} ${(modelBytes(entry!.variants[name]!)! / 1e9).toFixed(2)} GB`).join(', ');
      throw new Error(`every ${role} variant this device can run is larger than the ${(maxModelBytes! / 2 ** 30).toFixed(0)} GiB that WebAssembly's memory leaves a model (${sizes}): `
        + 'use a bundle with an int8 or q4 U-Net (npm run convert -- --quantize int8,q4), or a device with WebGPU');
    }
    out[role as ModelRole] = v;
  }
  // The layer-group encoder's variants (checkManifest refuses them beside a profile_encoder component).
  if (m.profileEncoderGroups && 'variants' in m.profileEncoderGroups) {
    const sets = m.profileEncoderGroups.variants;
    const v = order.find((name) => sets[name] && canRun(name, sets[name]!, features));
    if (!v) throw new Error(`this device can run none of the profile encoder's variants (${Object.keys(sets).join(', ')})`);
    out.profile_encoder = v;
  }
  return out;
}

/** Keeps only the chosen variant of each role (the manifest stored next to a partial download). */
export function restrictVariants(m: BundleManifest, chosen: Partial<Record<ModelRole, Variant>>): BundleManifest {
  const components = Object.fromEntries(Object.entries(m.components).map(([role, entry]) => {
    const v = chosen[role as ModelRole]!;
    return [role, { ...entry!, variants: { [v]: entry!.variants[v] } }];
  })) as BundleManifest['components'];
  const eg = m.profileEncoderGroups;
  const v = chosen.profile_encoder;
  const groups = eg && 'variants' in eg && v && eg.variants[v] ? { profileEncoderGroups: { variants: { [v]: eg.variants[v] } } } : {};
  return { ...m, components, ...groups, files: filesToFetch(m, chosen) };
}
