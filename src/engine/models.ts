// Loading a resolved bundle into sessions: picks each role's weight variant for the backend, reads the files
// (with byte progress), creates validated sessions, and records the I/O facts the pipeline needs (ids dtype,
// timestep dtype/rank, float types, hidden size, PSA user tokens).

import { WASM_MODEL_BYTES, fitsCap, type ModelFile, type Variant } from '../shared/bundle';
import { CLIP_MAX_LENGTH, type ModelRole } from '../shared/contract';
import { AppError } from '../shared/errors';
import type { BundleReader } from './bundle-reader';
import { modelWeights } from './external-data';
import { ONNX_FLOAT16, type OnnxFacts } from './onnx-scan';
import type { ResolvedBundle } from './bundle-resolve';
import { lazyImageChecker, type LazyImageChecker } from './image-check';
import { loadClipTokenizer, type ClipTokenizer } from './clip-tokenizer';
import type { InferenceSession } from './ort-types';
import { createSession, inputMeta, outputMeta, type Runtime } from './sessions';
import type { Elem } from './tensors';
import { variantOrder } from './variant-order';

export { variantOrder } from './variant-order';

export interface ModelIOFacts {
  idsType: Elem;
  timestepType: Elem;
  /**
   * Length of the 1-D timestep: the batch when the export fixed it, else 1 ([t], as diffusers' ONNX pipeline feeds;
   * ORT reports an undeclared shape and a scalar alike, so a rank-0 export gets [t] too).
   */
  timestepBatch: number;
  unetIn: Elem;
  unetOut: Elem;
  ehsType: Elem;
  textOut: Elem;
  vaeIn: Elem;
  hasPsaScale: boolean;
  hidden: number;
  userTokens: number;
  embeddingSize: number;
  userOut: Elem;
  userIn: Elem;
}

export interface LoadedModels {
  bundle: ResolvedBundle;
  tokenizer: ClipTokenizer;
  text: InferenceSession;
  unet: InferenceSession;
  vae: InferenceSession;
  userProjection?: InferenceSession;
  /** The bundle's safety checker, loaded on the first image that asks for the image stage. */
  imageChecker?: LazyImageChecker;
  variants: Partial<Record<ModelRole, Variant>>;
  io: ModelIOFacts;
}

export type Progress = (file: string, loaded: number, total: number) => void;

/**
 * Whether a file's declared needs hold on this backend: `shader-f16` (an fp16 file, or q4 with fp16 activations)
 * binds only WebGPU — the CPU and WASM EPs compute float16 themselves.
 */
function runnable(f: Pick<ModelFile, 'requires'>, order: Variant[], backend: Runtime['backend'] | undefined): boolean {
  return backend !== 'webgpu' || order.includes('fp16') || !(f.requires ?? []).includes('shader-f16');
}

/**
 * The first variant in `order` whose file (or file set) this backend can run — the U-Net's rule, also how the
 * profile encoder's layer-group variants are picked (embedding/encoder-source.ts).
 */
export function pickVariant(variants: Partial<Record<Variant, Pick<ModelFile, 'requires'>>>, order: Variant[], backend: Runtime['backend'] | undefined): Variant | undefined {
  return order.find((v) => variants[v] && runnable(variants[v]!, order, backend));
}

function pick(bundle: ResolvedBundle, role: ModelRole, order: Variant[], wish?: Variant, backend?: Runtime['backend']): { variant: Variant; file: ModelFile } | undefined {
  const variants = bundle.files[role];
  if (!variants) return undefined;
  if (wish && role === 'unet') {
    const f = variants[wish];
    if (!f) throw new AppError('INVALID_REQUEST', `the bundle has no ${wish} U-Net (it has ${Object.keys(variants).join(', ')})`);
    if (!runnable(f, order, backend)) throw new AppError('BACKEND_INIT_FAILED', `the bundle's ${wish} U-Net needs shader-f16, which this GPU lacks`);
    return { variant: wish, file: f };
  }
  // On WASM a variant over WASM_MODEL_BYTES cannot load beside the other models (one 4 GiB wasm32 memory): a smaller
  // one is taken first when the bundle has it (a folder import or an Optimum export can hold several).
  const cap = backend === 'wasm' ? WASM_MODEL_BYTES : undefined;
  for (const pass of cap === undefined ? [undefined] : [cap, undefined]) {
    for (const v of order) if (variants[v] && runnable(variants[v]!, order, backend) && fitsCap(variants[v]!, pass)) return { variant: v, file: variants[v]! };
  }
  const any = Object.keys(variants)[0] as Variant | undefined;
  if (!any) return undefined;
  if ((any === 'fp16' && !order.includes('fp16')) || !runnable(variants[any]!, order, backend)) {
    throw new AppError('BACKEND_INIT_FAILED', `the bundle's ${role} exists only in ${any === 'fp16' ? 'fp16' : `${any} with fp16 activations`}, which this device cannot run (no shader-f16)`);
  }
  return { variant: any, file: variants[any]! };
}

/**
 * A float16 graph on WebGPU without shader-f16 is refused before its weights are read: ORT would otherwise fail
 * deep in kernel compilation, or (some adapters) run into zeros. CPU and WASM compute float16 themselves.
 */
function refuseFloat16(facts: OnnxFacts, file: string, backend: Runtime['backend'], shaderF16: boolean): void {
  if (!facts.float16 || backend !== 'webgpu' || shaderF16) return;
  const where = facts.inputs.filter((i) => i.elem === ONNX_FLOAT16).map((i) => i.name);
  throw new AppError('BACKEND_INIT_FAILED', `${file} is a float16 (fp16) model (${where.length ? `float16 inputs ${where.join(', ')}` : 'float16 weights'}); this GPU lacks shader-f16, so WebGPU cannot run it. Use a float32 export, or a psa-web bundle with an fp32/int8 U-Net`);
}

const dimNum = (d: number | string | undefined) => (typeof d === 'number' && d > 0 ? d : undefined);

export async function loadModels(
  rt: Runtime,
  reader: BundleReader,
  bundle: ResolvedBundle,
  opts: { shaderF16?: boolean; unetVariant?: Variant; onProgress?: Progress } = {},
): Promise<LoadedModels> {
  const order = variantOrder(rt.backend, !!opts.shaderF16);
  const sessions: InferenceSession[] = [];
  const variants: LoadedModels['variants'] = {};
  const open = async (role: ModelRole, gpuOutputs: boolean): Promise<InferenceSession | undefined> => {
    const chosen = pick(bundle, role, order, opts.unetVariant, rt.backend);
    if (!chosen) return undefined;
    variants[role] = chosen.variant;
    const bytes = await reader.bytes(chosen.file.path, (l, t) => opts.onProgress?.(chosen.file.path, l, t));
    const { externalData, facts } = await modelWeights(reader, chosen.file, bytes, opts.onProgress, (f) => refuseFloat16(f, chosen.file.path, rt.backend, !!opts.shaderF16));
    // A plain export says nothing of its precision but its graph: an Optimum `--dtype fp16` export is reported as fp16.
    if (bundle.layout === 'optimum' && facts?.float16) variants[role] = 'fp16';
    const s = await createSession(rt, bytes, { file: chosen.file.path, role, gpuOutputs, externalData, staticDims: bundle.staticDims?.[role] });
    sessions.push(s);
    return s;
  };
  try {
    const tokenizer = await loadClipTokenizer(reader, bundle.tokenizerPath);
    const text = await open('text_encoder', true);
    const unet = await open('unet', true);
    const vae = await open('vae_decoder', false);
    if (!text || !unet || !vae) throw new AppError('BUNDLE_INVALID', `the bundle at ${reader.label} lacks a text encoder, U-Net or VAE decoder`);
    const userProjection = bundle.psa ? await open('user_projection', true) : undefined;
    if (bundle.psa && !userProjection) throw new AppError('BUNDLE_INVALID', `the PSA bundle at ${reader.label} has no user_projection model`);
    const io = ioFacts(bundle, text, unet, vae, userProjection);
    const imageChecker = lazyImageChecker(rt, reader, bundle, order);
    return { bundle, tokenizer, text, unet, vae, userProjection, imageChecker, variants, io };
  } catch (e) {
    await Promise.all(sessions.map((s) => s.release().catch(() => undefined)));
    throw e;
  }
}

function ioFacts(bundle: ResolvedBundle, text: InferenceSession, unet: InferenceSession, vae: InferenceSession, up?: InferenceSession): ModelIOFacts {
  const ids = inputMeta(text, 'input_ids')!;
  const ts = inputMeta(unet, 'timestep')!;
  const sample = inputMeta(unet, 'sample')!;
  const ehs = inputMeta(unet, 'encoder_hidden_states')!;
  const out = outputMeta(unet, 'out_sample')!;
  const lhs = outputMeta(text, 'last_hidden_state')!;
  const vin = inputMeta(vae, 'latent_sample')!;
  const userTokens = bundle.psa?.userTokens ?? 0;
  const ehsTokens = dimNum(ehs.shape[1]);
  if (ehsTokens !== undefined && ehsTokens !== CLIP_MAX_LENGTH + userTokens) {
    throw new AppError('CONTRACT_MISMATCH', `unet input \`encoder_hidden_states\` takes ${ehsTokens} tokens; this bundle needs ${CLIP_MAX_LENGTH}+${userTokens}`);
  }
  const hidden = dimNum(ehs.shape[2]) ?? dimNum(lhs.shape[2]) ?? 768;
  const upIn = up ? inputMeta(up, 'user_embeds') : undefined;
  const upOut = up ? outputMeta(up, 'user_tokens') : undefined;
  const embeddingSize = bundle.psa?.embeddingSize ?? dimNum(upIn?.shape[1]) ?? 0;
  if (upIn && dimNum(upIn.shape[1]) !== undefined && dimNum(upIn.shape[1]) !== embeddingSize) {
    throw new AppError('CONTRACT_MISMATCH', `user_projection input \`user_embeds\` has size ${upIn.shape[1]}; the manifest says embeddingSize ${embeddingSize}`);
  }
  return {
    idsType: ids.type as Elem,
    timestepType: ts.type as Elem,
    timestepBatch: dimNum(ts.shape[0]) ?? 1,
    unetIn: sample.type as Elem,
    unetOut: out.type as Elem,
    ehsType: ehs.type as Elem,
    textOut: lhs.type as Elem,
    vaeIn: vin.type as Elem,
    hasPsaScale: !!inputMeta(unet, 'psa_scale'),
    hidden,
    userTokens,
    embeddingSize,
    userIn: (upIn?.type ?? 'float32') as Elem,
    userOut: (upOut?.type ?? 'float32') as Elem,
  };
}

export async function releaseModels(m: LoadedModels | undefined): Promise<void> {
  if (!m) return;
  for (const s of [m.text, m.unet, m.vae, m.userProjection]) await s?.release().catch(() => undefined);
  await m.imageChecker?.release();
}
