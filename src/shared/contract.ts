// The model contract: one typed description of every role's I/O. Defaults follow Optimum's SD1.5 ONNX export
// (text_encoder/unet/vae_decoder folders), so a standard export loads unchanged; PSA adds `psa_scale`, the user
// projection and the profile encoder. `validateModelIO` checks a loaded session's metadata against it.

export type ModelRole =
  | 'text_encoder'
  | 'unet'
  | 'user_projection'
  | 'profile_encoder'
  | 'vae_decoder'
  | 'safety_checker';

/** Tensor element types the contract speaks of (ORT's names). */
export type TensorType = 'float32' | 'float16' | 'int64' | 'int32' | 'bool';

export interface TensorSpec {
  name: string;
  /** Accepted element types; the first is what the project's own models use. */
  types: readonly TensorType[];
  /** Accepted ranks (e.g. timestep may be [1]/[B] = rank 1, or a scalar = rank 0). */
  ranks: readonly number[];
  /** Documented shape, symbolic names for free dims (for messages and freeDimensionOverrides). */
  shape: readonly (number | string)[];
  optional?: boolean;
  /** Known fixed sizes per axis (axis index -> size), checked when the model declares that axis as a number. */
  fixed?: Readonly<Record<number, number>>;
}

export interface RoleContract {
  role: ModelRole;
  /** Folder of the role in an Optimum-style bundle. */
  folder: string;
  inputs: readonly TensorSpec[];
  outputs: readonly TensorSpec[];
}

// CLIP / SD1.5 constants.
export const CLIP_MAX_LENGTH = 77;
export const CLIP_BOS = 49406;
export const CLIP_EOS = 49407;
export const CLIP_VOCAB_SIZE = 49408;
export const LATENT_CHANNELS = 4;
export const VAE_FACTOR = 8;
export const SD15_VAE_SCALING = 0.18215;

const f = ['float32', 'float16'] as const;

export const CONTRACT: Readonly<Record<ModelRole, RoleContract>> = {
  text_encoder: {
    role: 'text_encoder',
    folder: 'text_encoder',
    inputs: [{ name: 'input_ids', types: ['int32', 'int64'], ranks: [2], shape: ['batch', CLIP_MAX_LENGTH], fixed: { 1: CLIP_MAX_LENGTH } }],
    outputs: [
      { name: 'last_hidden_state', types: f, ranks: [3], shape: ['batch', CLIP_MAX_LENGTH, 'hidden'] },
      { name: 'pooler_output', types: f, ranks: [2], shape: ['batch', 'hidden'], optional: true },
    ],
  },
  unet: {
    role: 'unet',
    folder: 'unet',
    inputs: [
      { name: 'sample', types: f, ranks: [4], shape: ['batch', LATENT_CHANNELS, 'height', 'width'], fixed: { 1: LATENT_CHANNELS } },
      { name: 'timestep', types: ['int64', 'float32', 'float16'], ranks: [1, 0], shape: ['steps'] },
      { name: 'encoder_hidden_states', types: f, ranks: [3], shape: ['batch', '77+U', 'hidden'] },
      { name: 'psa_scale', types: ['float32'], ranks: [1], shape: [1], optional: true },
    ],
    outputs: [{ name: 'out_sample', types: f, ranks: [4], shape: ['batch', LATENT_CHANNELS, 'height', 'width'] }],
  },
  user_projection: {
    role: 'user_projection',
    folder: 'user_projection',
    inputs: [{ name: 'user_embeds', types: f, ranks: [2], shape: ['batch', 'E'] }],
    outputs: [{ name: 'user_tokens', types: f, ranks: [3], shape: ['batch', 'U', 'hidden'] }],
  },
  profile_encoder: {
    role: 'profile_encoder',
    folder: 'profile_encoder',
    inputs: [
      { name: 'input_ids', types: ['int64'], ranks: [2], shape: ['batch', 'tokens'] },
      { name: 'attention_mask', types: ['int64'], ranks: [2], shape: ['batch', 'tokens'] },
      { name: 'position_ids', types: ['int64'], ranks: [2], shape: ['batch', 'tokens'], optional: true },
    ],
    outputs: [{ name: 'last_hidden_state', types: f, ranks: [3], shape: ['batch', 'tokens', 'E'] }],
  },
  vae_decoder: {
    role: 'vae_decoder',
    folder: 'vae_decoder',
    inputs: [{ name: 'latent_sample', types: f, ranks: [4], shape: ['batch', LATENT_CHANNELS, 'height', 'width'], fixed: { 1: LATENT_CHANNELS } }],
    outputs: [{ name: 'sample', types: f, ranks: [4], shape: ['batch', 3, 'height*8', 'width*8'], fixed: { 1: 3 } }],
  },
  // SD1.5's StableDiffusionSafetyChecker as diffusers' convert script / Optimum export it (forward_onnx):
  // clip_input = CLIPImageProcessor pixels, images = the decoded images in [0,1] (flagged ones come back black).
  // psa-web also reads the graph's per-concept scores (engine/image-check/graph-scores.ts).
  safety_checker: {
    role: 'safety_checker',
    folder: 'safety_checker',
    inputs: [
      { name: 'clip_input', types: f, ranks: [4], shape: ['batch', 3, 'clip_size', 'clip_size'], fixed: { 1: 3 } },
      { name: 'images', types: f, ranks: [4], shape: ['batch', 'height', 'width', 3] },
    ],
    outputs: [
      { name: 'out_images', types: f, ranks: [4], shape: ['batch', 'height', 'width', 3] },
      { name: 'has_nsfw_concepts', types: ['bool'], ranks: [1], shape: ['batch'] },
    ],
  },
};

/** What a loaded session says about one of its values (subset of ORT's ValueMetadata). */
export interface ValueMeta {
  name: string;
  isTensor?: boolean;
  type?: string;
  shape?: readonly (number | string)[];
}

export interface ModelIO {
  inputs: readonly ValueMeta[];
  outputs: readonly ValueMeta[];
}

export interface ContractProblem {
  role: ModelRole;
  tensor: string;
  message: string;
}

/**
 * Checks names, element types and ranks of a session's inputs/outputs against the role's contract.
 * Extra optional tensors the contract doesn't know are tolerated only for outputs (exports add some).
 * Returns every problem, each phrased to name the role, the tensor and what was expected.
 */
export function validateModelIO(role: ModelRole, io: ModelIO, file?: string): ContractProblem[] {
  const c = CONTRACT[role];
  const where = file ? `${role} (${file})` : role;
  const problems: ContractProblem[] = [];
  const check = (kind: 'input' | 'output', specs: readonly TensorSpec[], have: readonly ValueMeta[]) => {
    const byName = new Map(have.map((v) => [v.name, v]));
    for (const spec of specs) {
      const v = byName.get(spec.name);
      if (!v) {
        if (!spec.optional) {
          const others = have.map((h) => `\`${h.name}\``).join(', ') || 'none';
          problems.push({ role, tensor: spec.name, message: `${where} has no ${kind} \`${spec.name}\` (it has ${others}); expected ${describe(spec)}` });
        }
        continue;
      }
      if (v.isTensor === false) {
        problems.push({ role, tensor: spec.name, message: `${where} ${kind} \`${spec.name}\` is not a tensor; expected ${describe(spec)}` });
        continue;
      }
      if (v.type && !spec.types.includes(v.type as TensorType)) {
        problems.push({ role, tensor: spec.name, message: `${where} ${kind} \`${spec.name}\` has type ${v.type}; expected ${spec.types.join(' or ')}` });
      }
      // An empty shape from ORT means "not declared": only a declared shape can be checked.
      if (v.shape && v.shape.length > 0 && !spec.ranks.includes(v.shape.length)) {
        problems.push({ role, tensor: spec.name, message: `${where} ${kind} \`${spec.name}\` has rank ${v.shape.length} [${v.shape.join(',')}]; expected rank ${spec.ranks.join(' or ')} ${fmtShape(spec.shape)}` });
      } else if (v.shape && spec.fixed) {
        for (const [axis, size] of Object.entries(spec.fixed)) {
          const d = v.shape[Number(axis)];
          if (typeof d === 'number' && d > 0 && d !== size) {
            problems.push({ role, tensor: spec.name, message: `${where} ${kind} \`${spec.name}\` has size ${d} on axis ${axis}; expected ${size} ${fmtShape(spec.shape)}` });
          }
        }
      }
    }
    if (kind === 'input') {
      const known = new Set(specs.map((s) => s.name));
      for (const v of have) {
        if (!known.has(v.name)) problems.push({ role, tensor: v.name, message: `${where} has an unexpected input \`${v.name}\`; the contract's inputs are ${specs.map((s) => `\`${s.name}\``).join(', ')}` });
      }
    }
  };
  check('input', c.inputs, io.inputs);
  check('output', c.outputs, io.outputs);
  return problems;
}

function fmtShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(',')}]`;
}

function describe(spec: TensorSpec): string {
  return `${spec.types.join('|')} ${fmtShape(spec.shape)}`;
}
