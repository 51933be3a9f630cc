// Rewrites a U-Net graph for weight-only quantization, before any weight is read: decides per float32 weight what
// it becomes, rewires the nodes, and leaves placeholders (name, type, shape) where the new initializers go; the
// data is computed later, one weight at a time (see stream.ts). Activations stay float.
// - int8: a weight feeding input 1 of Conv / MatMul / Gemm becomes int8 + per-output-channel scale + zero point,
//   read back by DequantizeLinear(axis) in front of its consumers. Output channel: Conv [O,I,kh,kw] → 0; MatMul
//   [K,N] → 1; Gemm → 0 with transB = 1 ([N,K]), else 1.
// - q4: a MatMul weight [K,N], or a Gemm weight (transA 0, alpha 1, beta 1), with K a multiple of 32 becomes
//   com.microsoft MatMulNBits (bits 4, block 32; a Gemm's bias C follows as an Add); any other Conv / MatMul / Gemm
//   weight falls back to int8 as above.
// A weight that also feeds anything else (or two consumers that disagree on the axis) stays float32.
import { ConvertError } from '../errors';
import { num, type NodeProto, type TensorProto } from '../onnx-model';
import { attrFloat, attrInt, consumers, count, FLOAT, INT8, intAttr, node, placeholder, UINT8, type Graph } from './graph';

export type WeightScheme = 'int8' | 'q4';
export const Q4_BLOCK = 32;

/** What to compute for one source weight (by name); `outputs` are the new initializers it becomes, in order. */
export type WeightJob =
  | { kind: 'int8'; dims: number[]; axis: number; outputs: [string, string, string] }
  | { kind: 'q4'; K: number; N: number; kMajor: boolean; outputs: [string, string] };

export interface WeightPlan {
  jobs: Map<string, WeightJob>;
  /** Counts for the report. */
  int8: number;
  q4: number;
  /** Weights q4 could not take (K not a multiple of 32, Gemm options), written as int8 instead. */
  q4Fallbacks: string[];
}

const WEIGHT_OPS = new Set(['Conv', 'MatMul', 'Gemm']);

function int8Axis(n: NodeProto, rank: number): number | undefined {
  if (n.opType === 'Conv') return 0;
  if (rank !== 2) return undefined;
  if (n.opType === 'MatMul') return 1;
  if (n.opType === 'Gemm') return attrInt(n, 'transB', 0) === 1 ? 0 : 1;
  return undefined;
}

/** [K, N, kMajor] when the node can become MatMulNBits with this 2-D weight, else undefined. */
function q4Shape(n: NodeProto, dims: number[]): [number, number, boolean] | undefined {
  if (dims.length !== 2) return undefined;
  let K: number, N: number, kMajor: boolean;
  if (n.opType === 'MatMul') [K, N, kMajor] = [dims[0], dims[1], true];
  else if (n.opType === 'Gemm') {
    if (attrInt(n, 'transA', 0) !== 0 || attrFloat(n, 'alpha', 1) !== 1) return undefined;
    if ((n.input?.[2] ?? '') !== '' && attrFloat(n, 'beta', 1) !== 1) return undefined;
    kMajor = attrInt(n, 'transB', 0) !== 1;
    [K, N] = kMajor ? [dims[0], dims[1]] : [dims[1], dims[0]];
  } else return undefined;
  return K % Q4_BLOCK === 0 ? [K, N, kMajor] : undefined;
}

export function planWeights(g: Graph, scheme: WeightScheme, opts: { minElements?: number; label?: string; allowEmpty?: boolean } = {}): WeightPlan {
  const minElements = opts.minElements ?? 256;
  const uses = consumers(g);
  const plan: WeightPlan = { jobs: new Map(), int8: 0, q4: 0, q4Fallbacks: [] };
  const before = new Map<NodeProto, NodeProto[]>();
  const replace = new Map<NodeProto, NodeProto[]>();
  const inits: TensorProto[] = [];
  for (const t of g.initializer ?? []) {
    inits.push(t);
    const name = t.name ?? '';
    const dims = (t.dims ?? []).map(num);
    const u = uses.get(name) ?? [];
    if (t.dataType !== FLOAT || dims.length < 2 || count(dims) < minElements || !u.length) continue;
    if (!u.every((x) => x.index === 1 && WEIGHT_OPS.has(x.node.opType ?? ''))) continue;
    const q4 = scheme === 'q4' && u.length === 1 ? q4Shape(u[0].node, dims) : undefined;
    if (q4) {
      const [K, N, kMajor] = q4;
      const n = u[0].node;
      const outputs: [string, string] = [`${name}_Q4`, `${name}_Q4_scales`];
      inits.push(placeholder(outputs[0], UINT8, [N, K / Q4_BLOCK, Q4_BLOCK / 2]), placeholder(outputs[1], FLOAT, [N * (K / Q4_BLOCK)]));
      plan.jobs.set(name, { kind: 'q4', K, N, kMajor, outputs });
      const out = n.output![0];
      const bias = n.opType === 'Gemm' ? n.input?.[2] ?? '' : '';
      const mm = node('MatMulNBits', `${n.name ?? name}_Q4`, [n.input![0], outputs[0], outputs[1]], [bias ? `${out}_nobias` : out],
        [intAttr('K', K), intAttr('N', N), intAttr('bits', 4), intAttr('block_size', Q4_BLOCK)], 'com.microsoft');
      replace.set(n, bias ? [mm, node('Add', `${n.name ?? name}_Q4_bias`, [`${out}_nobias`, bias], [out])] : [mm]);
      plan.q4++;
      continue;
    }
    const axes = new Set(u.map((x) => int8Axis(x.node, dims.length)));
    if (axes.size !== 1 || axes.has(undefined)) continue;
    const axis = [...axes][0]!;
    if (scheme === 'q4' && u.some((x) => x.node.opType !== 'Conv')) plan.q4Fallbacks.push(name);
    const outputs: [string, string, string] = [`${name}_quantized`, `${name}_scale`, `${name}_zero_point`];
    inits.push(placeholder(outputs[0], INT8, dims), placeholder(outputs[1], FLOAT, [dims[axis]]), placeholder(outputs[2], INT8, [dims[axis]]));
    plan.jobs.set(name, { kind: 'int8', dims, axis, outputs });
    const dq = node('DequantizeLinear', `${name}_DequantizeLinear`, outputs, [`${name}_dequantized`], [intAttr('axis', axis)]);
    for (const x of u) x.node.input![1] = `${name}_dequantized`;
    // Before the first consumer in node order, so the graph stays topologically sorted.
    const first = (g.node ?? []).find((n) => u.some((x) => x.node === n))!;
    before.set(first, [...(before.get(first) ?? []), dq]);
    plan.int8++;
  }
  // Source weights that became something else leave the initializer list (their placeholders follow them).
  g.initializer = inits.filter((t) => !plan.jobs.has(t.name ?? ''));
  const nodes: NodeProto[] = [];
  for (const n of g.node ?? []) nodes.push(...(before.get(n) ?? []), ...(replace.get(n) ?? [n]));
  g.node = nodes;
  if (!plan.int8 && !plan.q4 && !opts.allowEmpty) throw new ConvertError(`${opts.label ?? 'the U-Net'} has no Conv/MatMul/Gemm float32 weight to quantize`);
  return plan;
}
