// The engine's helper graphs, built for the loaded bundle's shapes and types:
// - the step kernel: classifier-free-guidance combine (with Safe Latent Diffusion's guidance and momentum at batch 3)
//   + one scheduler update as a 5×6 linear map applied on the device, so latents never leave the GPU during the loop
//   (the scheduler supplies the coefficients per step);
// - the conditioning concat: [text tokens ; user tokens] → encoder_hidden_states, on the device as well.

import { writeModel, type GraphDef, type OnnxElem } from './onnx-writer';

/** Rows of the coefficient matrix: what the step kernel outputs (besides next_input). */
export const STEP_ROWS = ['next', 'h0', 'h1', 'h2', 'scaled'] as const;
/** Columns: what each row combines. */
export const STEP_COLS = ['sample', 'eps', 'h0', 'h1', 'h2', 'noise'] as const;

export interface StepKernelSpec {
  /** U-Net batch: 2 with CFG (uncond first, as diffusers), 1 without, 3 with CFG + SLD ([uncond, cond, safety]). */
  batch: 1 | 2 | 3;
  channels: number;
  height: number;
  width: number;
  /** Element type of the U-Net's out_sample (input of the kernel). */
  unetOut: OnnxElem;
  /** Element type of the U-Net's sample input (the kernel's next_input). */
  unetIn: OnnxElem;
}

/**
 * Inputs: unet_out [B,C,H,W], sample/h0/h1/h2/noise [1,C,H,W] float32, coef [5,6] float32, guidance [1] float32.
 * Outputs: next, h0_out, h1_out, h2_out, scaled [1,C,H,W] float32 and next_input [B,C,H,W] (U-Net input type):
 *   eps = u + g·(c − u)          (CFG, diffusers' order of operations)
 *   rows = coef · [sample; eps; h0; h1; h2; noise]
 *   next_input = [scaled; scaled] (or [scaled] without CFG)
 * Batch 3 (SLD, diffusers' StableDiffusionPipelineSafe loop; pipeline/sld.ts is the CPU form) adds inputs
 * nu [1,C,H,W] float32 (momentum, zeros at step 0) and sld [6] float32 = [s_S, λ, s_m, β, 1−β, applies], and the
 * output nu_out:
 *   μ = where(c − s ≥ λ, 0, clip(|c − s|·s_S, ·, 1));  γ = (s − u)·μ + s_m·ν;  ν' = β·ν + (1−β)·γ
 *   eps = u + G·((c − u) − applies·γ)       (applies ∈ {0,1}: 0·γ = ±0 leaves c − u exact, so one graph serves
 *                                            warm-up and after without a branch)
 */
export function buildStepKernel(s: StepKernelSpec): Uint8Array {
  const lat = [1, s.channels, s.height, s.width];
  const n = s.channels * s.height * s.width;
  const f32 = 'float32' as const;
  const nodes: GraphDef['nodes'] = [];
  let out = 'unet_out';
  if (s.unetOut !== f32) {
    nodes.push({ op: 'Cast', inputs: ['unet_out'], outputs: ['unet_out_f32'], attrs: { to: 1 } });
    out = 'unet_out_f32';
  }
  if (s.batch === 3) {
    nodes.push(
      { op: 'Slice', inputs: [out, 'zero', 'one', 'axis0'], outputs: ['u'] },
      { op: 'Slice', inputs: [out, 'one', 'two', 'axis0'], outputs: ['c'] },
      { op: 'Slice', inputs: [out, 'two', 'three', 'axis0'], outputs: ['s'] },
      { op: 'Split', inputs: ['sld', 'ones6'], outputs: ['sld_scale', 'sld_threshold', 'sld_mom_scale', 'sld_beta', 'sld_one_minus_beta', 'sld_applies'], attrs: { axis: 0 } },
      { op: 'Sub', inputs: ['c', 'u'], outputs: ['c_minus_u'] },
      { op: 'Sub', inputs: ['c', 's'], outputs: ['c_minus_s'] },
      { op: 'Abs', inputs: ['c_minus_s'], outputs: ['abs_c_minus_s'] },
      { op: 'Mul', inputs: ['abs_c_minus_s', 'sld_scale'], outputs: ['scale_raw'] },
      // clamp(max=1); the 0 floor changes nothing (|c − s|·s_S ≥ 0) and keeps to Clip, which every EP has
      { op: 'Clip', inputs: ['scale_raw', 'f_zero', 'f_one'], outputs: ['scale'] },
      { op: 'GreaterOrEqual', inputs: ['c_minus_s', 'sld_threshold'], outputs: ['above'] },
      { op: 'Where', inputs: ['above', 'f_zero', 'scale'], outputs: ['mu'] },
      { op: 'Sub', inputs: ['s', 'u'], outputs: ['s_minus_u'] },
      { op: 'Mul', inputs: ['s_minus_u', 'mu'], outputs: ['gamma_raw'] },
      { op: 'Mul', inputs: ['sld_mom_scale', 'nu'], outputs: ['momentum'] },
      { op: 'Add', inputs: ['gamma_raw', 'momentum'], outputs: ['gamma'] },
      { op: 'Mul', inputs: ['sld_beta', 'nu'], outputs: ['nu_kept'] },
      { op: 'Mul', inputs: ['sld_one_minus_beta', 'gamma'], outputs: ['nu_new'] },
      { op: 'Add', inputs: ['nu_kept', 'nu_new'], outputs: ['nu_out'] },
      { op: 'Mul', inputs: ['sld_applies', 'gamma'], outputs: ['gamma_applied'] },
      { op: 'Sub', inputs: ['c_minus_u', 'gamma_applied'], outputs: ['guide'] },
      { op: 'Mul', inputs: ['guidance', 'guide'], outputs: ['g_diff'] },
      { op: 'Add', inputs: ['u', 'g_diff'], outputs: ['eps'] },
    );
  } else if (s.batch === 2) {
    nodes.push(
      { op: 'Slice', inputs: [out, 'zero', 'one', 'axis0'], outputs: ['u'] },
      { op: 'Slice', inputs: [out, 'one', 'two', 'axis0'], outputs: ['c'] },
      { op: 'Sub', inputs: ['c', 'u'], outputs: ['c_minus_u'] },
      { op: 'Mul', inputs: ['guidance', 'c_minus_u'], outputs: ['g_diff'] },
      { op: 'Add', inputs: ['u', 'g_diff'], outputs: ['eps'] },
    );
  } else {
    nodes.push({ op: 'Identity', inputs: [out], outputs: ['eps'] });
  }
  nodes.push(
    { op: 'Concat', inputs: ['sample', 'eps', 'h0', 'h1', 'h2', 'noise'], outputs: ['stack'], attrs: { axis: 0 } },
    { op: 'Reshape', inputs: ['stack', 'flat6'], outputs: ['stack_flat'] },
    { op: 'MatMul', inputs: ['coef', 'stack_flat'], outputs: ['rows_flat'] },
    { op: 'Reshape', inputs: ['rows_flat', 'shape5'], outputs: ['rows'] },
    { op: 'Split', inputs: ['rows', 'ones5'], outputs: ['next', 'h0_out', 'h1_out', 'h2_out', 'scaled'], attrs: { axis: 0 } },
  );
  const scaledIn = s.unetIn === f32 ? 'scaled' : 'scaled_cast';
  if (s.unetIn !== f32) nodes.push({ op: 'Cast', inputs: ['scaled'], outputs: ['scaled_cast'], attrs: { to: 10 } });
  nodes.push(
    s.batch > 1
      ? { op: 'Concat', inputs: Array<string>(s.batch).fill(scaledIn), outputs: ['next_input'], attrs: { axis: 0 } }
      : { op: 'Identity', inputs: [scaledIn], outputs: ['next_input'] },
  );
  const latIn = (name: string) => ({ name, type: f32, shape: lat });
  const sld = s.batch === 3;
  return writeModel({
    name: 'psa_web_step',
    inputs: [
      { name: 'unet_out', type: s.unetOut, shape: [s.batch, s.channels, s.height, s.width] },
      latIn('sample'), latIn('h0'), latIn('h1'), latIn('h2'), latIn('noise'),
      { name: 'coef', type: f32, shape: [STEP_ROWS.length, STEP_COLS.length] },
      { name: 'guidance', type: f32, shape: [1] },
      ...(sld ? [latIn('nu'), { name: 'sld', type: f32, shape: [6] }] : []),
    ],
    outputs: [
      latIn('next'), latIn('h0_out'), latIn('h1_out'), latIn('h2_out'), latIn('scaled'),
      { name: 'next_input', type: s.unetIn, shape: [s.batch, s.channels, s.height, s.width] },
      ...(sld ? [latIn('nu_out')] : []),
    ],
    initializers: [
      { name: 'zero', type: 'int64', dims: [1], values: [0] },
      { name: 'one', type: 'int64', dims: [1], values: [1] },
      { name: 'two', type: 'int64', dims: [1], values: [2] },
      { name: 'three', type: 'int64', dims: [1], values: [3] },
      { name: 'ones6', type: 'int64', dims: [6], values: [1, 1, 1, 1, 1, 1] },
      { name: 'f_zero', type: f32, dims: [], values: [0] },
      { name: 'f_one', type: f32, dims: [], values: [1] },
      { name: 'axis0', type: 'int64', dims: [1], values: [0] },
      { name: 'flat6', type: 'int64', dims: [2], values: [STEP_COLS.length, n] },
      { name: 'shape5', type: 'int64', dims: [4], values: [STEP_ROWS.length, s.channels, s.height, s.width] },
      { name: 'ones5', type: 'int64', dims: [5], values: [1, 1, 1, 1, 1] },
    ],
    nodes,
  });
}

export interface ConcatKernelSpec {
  batch: number;
  textTokens: number;
  userTokens: number;
  hidden: number;
  text: OnnxElem;
  user: OnnxElem;
  out: OnnxElem;
}

/** [B,77,D] text tokens ; [B,U,D] user tokens → encoder_hidden_states [B,77+U,D] in the U-Net's type. */
export function buildConcatKernel(s: ConcatKernelSpec): Uint8Array {
  const nodes: GraphDef['nodes'] = [];
  const cast = (name: string, from: OnnxElem): string => {
    if (from === s.out) return name;
    nodes.push({ op: 'Cast', inputs: [name], outputs: [`${name}_cast`], attrs: { to: s.out === 'float16' ? 10 : 1 } });
    return `${name}_cast`;
  };
  const t = cast('text', s.text);
  const u = cast('user', s.user);
  nodes.push({ op: 'Concat', inputs: [t, u], outputs: ['encoder_hidden_states'], attrs: { axis: 1 } });
  return writeModel({
    name: 'psa_web_concat',
    inputs: [
      { name: 'text', type: s.text, shape: [s.batch, s.textTokens, s.hidden] },
      { name: 'user', type: s.user, shape: [s.batch, s.userTokens, s.hidden] },
    ],
    outputs: [{ name: 'encoder_hidden_states', type: s.out, shape: [s.batch, s.textTokens + s.userTokens, s.hidden] }],
    nodes,
  });
}
