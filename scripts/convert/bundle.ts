// `npm run convert`: SD1.5 ONNX export + PSA's adapter checkpoint (+ a profile encoder) → a psa-web bundle.
// Everything is checked before the first byte is written; the bundle is built in a sibling temp folder and renamed
// to --out only when complete, so a failed run leaves nothing behind.
import { existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { BUNDLE_FORMAT, BUNDLE_FORMAT_VERSION, checkManifest, type BundleManifest, type ComponentEntry, type EncoderGroupsEntry, type ModelFile, type Variant } from '../../src/shared/bundle';
import { PSA_EMBEDDING_TEMPLATE } from '../../src/safety/embedding-text';
import { ConvertError } from './errors';
import { hashFile, HashLedger, listFiles, type HashedFile } from './files';
import { findAttn2Layers, graftPsa, matchCheckpoint, type GraftForm, type GraftReport } from './graft';
import { loadOnnx } from './onnx-model';
import { checkGroupSource, copyEncoderFiles, writeLayerGroups } from './encoder/index';
import { checkProfileEncoder, type ProfileEncoderSource } from './profile-encoder';
import { loadPsaCheckpoint, type PsaCheckpoint } from './psa-checkpoint';
import { bundleReadme, licenseText, SD15_LICENSE_URL } from './readme';
import { checkSd15, COPIED_MODELS, headsFromConfig, type Sd15Layout } from './sd15-layout';
import { buildUserProjection } from './user-projection';
import { writeUnetVariants } from './quantize/unet-variants';
import { parseQuantize, REQUIRES, VARIANT_OF, type QuantizeOption } from './variants';

export const CONVERTER_VERSION = '1.0.0';
export const EMBEDDING_TEMPLATE_PATH = 'psa/embedding_template.txt';
export const PROFILE_ENCODER_DIR = 'profile_encoder';
/**
 * The profile encoder variant written when `--encoder-quantize` is not given: int8, not q4, because measured
 * (README, "Which variant"), q4's error is of the size of the difference between two PSA profiles' embeddings — on
 * the tiny encoder a profile's q4 embedding lies nearer another profile's float32 one, at 28 layers the margin
 * shrinks to a third — while int8 keeps every profile nearest its own with the margin intact. q4 (≈ 4.6 GB for
 * Qwen2.5-7B against int8's ≈ 7.1 GB) stays one flag away.
 */
export const DEFAULT_ENCODER_VARIANT: QuantizeOption = 'int8';

export interface ConvertOptions {
  sd15: string;
  psa: string;
  out: string;
  profileEncoder?: string;
  /** `--quantize` list (default "none"). */
  quantize?: string;
  /** 'auto' = broadcast when every PSA group is one token (always, for PSA's checkpoints). */
  graft?: GraftForm | 'auto';
  /** Max size of one external-data chunk (default 1 GiB). */
  chunkBytes?: number;
  /** Force external data for the U-Net even when the source is inline. */
  externalData?: boolean;
  /** Profile encoder: number of layer groups (default: ≥ 3, enough to keep each under encoderGroupBytes). */
  encoderGroups?: number;
  /** Profile encoder: largest external-data file of a group (default 1 GiB; tests cut it to KBs). */
  encoderGroupBytes?: number;
  /** Profile encoder: CPU embedding table element type (default: int8 rows for q4 / int8 weights, else float16). */
  encoderTable?: 'float16' | 'float32' | 'int8';
  /** Profile encoder: `--encoder-quantize` list of weight variants (default DEFAULT_ENCODER_VARIANT). */
  encoderQuantize?: string;
  /** Profile encoder: `--encoder-model`, the graph file inside profileEncoder (default: encoder/source.ts's candidates). */
  encoderModel?: string;
  id?: string;
  name?: string;
  log?: (line: string) => void;
}

export interface ConvertResult {
  dir: string;
  manifest: BundleManifest;
  files: HashedFile[];
  graft: GraftReport;
  checkpoint: { format: string; dtypes: string[]; embeddingSize: number; userTokens: number; processors: number };
}

interface Checked {
  layout: Sd15Layout;
  ck: PsaCheckpoint;
  unet: ReturnType<typeof loadOnnx>;
  layers: ReturnType<typeof findAttn2Layers>;
  quantize: QuantizeOption[];
  encoderQuantize: QuantizeOption[];
  profile?: ProfileEncoderSource;
  form: GraftForm;
}

function check(o: ConvertOptions): Checked {
  const out = resolve(o.out);
  if (existsSync(out)) throw new ConvertError(`--out ${o.out} already exists; choose a new folder (nothing is overwritten)`);
  if (!existsSync(dirname(out)) || !statSync(dirname(out)).isDirectory()) throw new ConvertError(`--out ${o.out}: the parent folder ${dirname(out)} does not exist`);
  const quantize = parseQuantize(o.quantize);
  const encoderQuantize = parseQuantize(o.encoderQuantize, 'encoder-quantize', DEFAULT_ENCODER_VARIANT);
  const layout = checkSd15(o.sd15);
  const ck = loadPsaCheckpoint(o.psa);
  const unetPath = join(o.sd15, 'unet', 'model.onnx');
  const unet = loadOnnx(unetPath, join(o.sd15, 'unet'), 'unet/model.onnx');
  const layers = findAttn2Layers(unet, 'unet/model.onnx');
  matchCheckpoint(layers, ck, 'unet/model.onnx');
  // PSAlign slices user[:, g:g+1]: every group is a single key, so 'auto' is always the broadcast form.
  const form: GraftForm = !o.graft || o.graft === 'auto' ? 'broadcast' : o.graft;
  if (o.encoderModel && !o.profileEncoder) throw new ConvertError('--encoder-model needs --profile-encoder');
  const profile = o.profileEncoder ? checkProfileEncoder(o.profileEncoder, ck.embeddingSize, o.encoderModel) : undefined;
  if (o.profileEncoder) checkGroupSource(o.profileEncoder, o.encoderModel); // cuttable into layer groups, before anything is written
  return { layout, ck, unet, layers, quantize, encoderQuantize, profile, form };
}

function modelFile(ledger: HashLedger, root: string, path: string, externalNames: string[]): ModelFile {
  const h = ledger.hash(join(root, path));
  const folder = path.split('/').slice(0, -1).join('/');
  const ext = externalNames.map((n) => {
    const p = folder ? `${folder}/${n}` : n;
    const x = ledger.hash(join(root, p));
    return { path: p, bytes: x.bytes, sha256: x.sha256 };
  });
  return { path, bytes: h.bytes, sha256: h.sha256, ...(ext.length ? { externalData: ext } : {}) };
}

/** Copies a component folder; the model's external data = every file that is not model.onnx or JSON. */
function copyModelFolder(ledger: HashLedger, src: string, dst: string, root: string, folder: string): ComponentEntry {
  const files = listFiles(src);
  for (const f of files) ledger.copy(join(src, f), join(dst, f));
  const external = files.filter((f) => f !== 'model.onnx' && !f.endsWith('.json') && !f.includes('/'));
  return { variants: { fp32: modelFile(ledger, root, `${folder}/model.onnx`, external) } };
}

function writeJson(path: string, v: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, JSON.stringify(v, null, 2) + '\n');
}

function build(o: ConvertOptions, c: Checked, tmp: string): { manifest: BundleManifest; graft: GraftReport; files: HashedFile[] } {
  const log = o.log ?? (() => undefined);
  const ledger = new HashLedger();
  const { layout, ck } = c;
  const components: Partial<BundleManifest['components']> = {};

  // --- U-Net: graft, then write per requested variant ---
  log(`grafting PSA into ${c.layers.length} cross-attention layers (${c.form} form)`);
  const graft = graftPsa(c.unet, c.layers, ck, { form: c.form, heads: headsFromConfig(layout.unetConfig) }, 'unet/model.onnx');
  mkdirSync(join(tmp, 'unet'), { recursive: true });
  const external = o.externalData || c.unet.externalFiles.size > 0;
  // The float32 U-Net, then each --quantize variant streamed from it (scripts/convert/quantize/).
  const { variants: unetVariants } = writeUnetVariants(c.unet, { dir: join(tmp, 'unet'), external, chunkBytes: o.chunkBytes, quantize: c.quantize, ledger, log });
  components.unet = { variants: unetVariants };
  const unetConfig = { ...(layout.unetConfig ?? { _class_name: 'UNet2DConditionModel' }), psa_user_tokens: ck.userTokens, psa_graft: c.form };
  writeJson(join(tmp, 'unet', 'config.json'), unetConfig);

  // --- user projection ---
  const proj = buildUserProjection(ck);
  mkdirSync(join(tmp, 'user_projection'), { recursive: true });
  writeFileSync(join(tmp, 'user_projection', 'model.onnx'), proj);
  writeJson(join(tmp, 'user_projection', 'config.json'), { embedding_size: ck.embeddingSize, user_tokens: ck.userTokens, hidden_size: ck.crossDim, layer_norm_eps: 1e-5 });
  components.user_projection = { variants: { fp32: modelFile(ledger, tmp, 'user_projection/model.onnx', []) } };

  // --- copied components ---
  for (const m of COPIED_MODELS) {
    log(`copying ${m}/`);
    components[m] = copyModelFolder(ledger, join(layout.dir, m), join(tmp, m), tmp, m);
  }
  for (const f of ['tokenizer', 'scheduler', ...layout.optional]) for (const x of listFiles(join(layout.dir, f))) ledger.copy(join(layout.dir, f, x), join(tmp, f, x));
  ledger.copy(join(layout.dir, 'model_index.json'), join(tmp, 'model_index.json'));
  let encoderGroups: BundleManifest['profileEncoderGroups'];
  if (c.profile) {
    // The profile encoder as layer groups + a CPU embedding table (scripts/convert/encoder/): `none` (float32) in
    // profile_encoder/ itself, as before; every other --encoder-quantize variant in profile_encoder/<variant>/.
    // The tokenizer and chat template are copied once, into profile_encoder/ (the manifest's profileTokenizer).
    const at = (sub: string) => (f: { name: string; bytes: number; sha256: string }) => {
      const path = `${PROFILE_ENCODER_DIR}/${sub}${f.name}`;
      ledger.record(join(tmp, path), { bytes: f.bytes, sha256: f.sha256 });
      return { path, bytes: f.bytes, sha256: f.sha256 };
    };
    const sets: Partial<Record<Variant, EncoderGroupsEntry>> = {};
    for (const q of c.encoderQuantize) {
      const sub = q === 'none' ? '' : `${q}/`;
      const w = writeLayerGroups(c.profile.dir, join(tmp, PROFILE_ENCODER_DIR, sub), { groups: o.encoderGroups, groupBytes: o.encoderGroupBytes, tableDtype: o.encoderTable, quantize: q, model: o.encoderModel, copyTokenizer: q === 'none', log });
      const ref = at(sub);
      const tableInfo = ref(w.tableJson);
      sets[VARIANT_OF[q]] = {
        index: ref(w.groupsJson),
        table: ref(w.table),
        groups: w.groups.map((g) => ({ ...ref(g.model), ...(g.externalData.length ? { externalData: g.externalData.map(ref) } : {}) })),
        // The older single-set form (none alone) stays as it was; variant sets list their table description too.
        ...(q !== 'none' || c.encoderQuantize.length > 1 ? { tableInfo } : {}),
        ...(REQUIRES[q] ? { requires: REQUIRES[q] } : {}),
      };
    }
    if (!c.encoderQuantize.includes('none')) copyEncoderFiles(c.profile.dir, join(tmp, PROFILE_ENCODER_DIR));
    // float32 alone keeps the single-set form older readers know; several variants list each with what it needs.
    encoderGroups = c.encoderQuantize.length === 1 && c.encoderQuantize[0] === 'none' ? sets.fp32 : { variants: sets };
  }

  // --- PSA's embedding template ---
  mkdirSync(join(tmp, 'psa'), { recursive: true });
  writeFileSync(join(tmp, EMBEDDING_TEMPLATE_PATH), PSA_EMBEDDING_TEMPLATE);
  const template = ledger.hash(join(tmp, EMBEDDING_TEMPLATE_PATH));

  const psaSha256 = hashFile(o.psa).sha256;
  const readmeFiles = listFiles(tmp).map((p) => ({ path: p, ...ledger.hash(join(tmp, p)) }));
  writeFileSync(join(tmp, 'README.md'), bundleReadme({ options: o, ck, graft, files: readmeFiles, profile: !!c.profile, optional: layout.optional, converterVersion: CONVERTER_VERSION, psaSha256 }));
  const inventory = listFiles(tmp).map((p) => ({ path: p, ...ledger.hash(join(tmp, p)) }));

  const sample = Number(layout.unetConfig?.sample_size ?? 64);
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    id: o.id ?? 'sd15-psa',
    version: CONVERTER_VERSION,
    name: o.name ?? `SD1.5 + PSA (${basename(o.psa)})`,
    license: { name: 'CreativeML OpenRAIL-M + MIT', text: licenseText(), url: SD15_LICENSE_URL },
    provenance: {
      createdBy: `psa-web npm run convert ${CONVERTER_VERSION}`,
      sources: [
        `SD1.5 ONNX export: ${basename(resolve(o.sd15))}`,
        `PSA adapter: ${basename(o.psa)} (${ck.format}, sha256 ${psaSha256})`,
        'PSA: arXiv 2508.01151, https://github.com/M-E-AGI-Lab/PSAlign',
        ...(c.profile ? [`profile encoder: ${basename(resolve(o.profileEncoder!))}`] : []),
      ],
      notes: `PSA grafted into ${graft.layers.length} cross-attention layers (${graft.form} form); see README.md`,
    },
    files: inventory,
    image: { width: sample * 8, height: sample * 8 },
    vaeScalingFactor: Number(layout.vaeConfig?.scaling_factor ?? 0.18215),
    scheduler: layout.scheduler,
    tokenizer: { path: 'tokenizer' },
    ...(c.profile ? { profileTokenizer: { path: PROFILE_ENCODER_DIR }, profileEncoderGroups: encoderGroups } : {}),
    components: components as BundleManifest['components'],
    psa: {
      userTokens: ck.userTokens,
      embeddingSize: ck.embeddingSize,
      embeddingTemplate: { path: EMBEDDING_TEMPLATE_PATH, bytes: template.bytes, sha256: template.sha256 },
    },
  };
  const problems = checkManifest(manifest);
  if (problems.length) throw new ConvertError(`the converted manifest is invalid: ${problems.join('; ')}`);
  writeJson(join(tmp, 'manifest.json'), manifest);
  const files = [...inventory, { path: 'manifest.json', ...hashFile(join(tmp, 'manifest.json')) }].sort((a, b) => (a.path < b.path ? -1 : 1));
  return { manifest, graft, files };
}

export function convert(o: ConvertOptions): ConvertResult {
  const c = check(o);
  const out = resolve(o.out);
  const tmp = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp);
  activeTemp = tmp;
  try {
    const { manifest, graft, files } = build(o, c, tmp);
    renameSync(tmp, out);
    return {
      dir: out,
      manifest,
      files,
      graft,
      checkpoint: { format: c.ck.format, dtypes: c.ck.dtypes, embeddingSize: c.ck.embeddingSize, userTokens: c.ck.userTokens, processors: c.ck.processors.length },
    };
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    activeTemp = undefined;
  }
}

let activeTemp: string | undefined;
/** For the CLI's signal handler: removes a half-written bundle. */
export function removeActiveTemp(): void {
  if (activeTemp) rmSync(activeTemp, { recursive: true, force: true });
}
