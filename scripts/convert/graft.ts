// Grafts PSA into a plain SD1.5 U-Net graph (torch.onnx / Optimum export, node names carrying diffusers' module
// paths). PSA (PSAlign psa_adapter/attention_processor.py) changes only the cross-attention layers (attn2):
//   text, user = encoder_hidden_states[:, :-U], encoder_hidden_states[:, -U:]
//   h = Attention(to_q(x), to_k(text), to_v(text)) + Σ_g psa_scale · Attention(to_q(x), to_k_user[g](u_g), to_v_user[g](u_g))
//   out = to_out(h)
// with one user token per group g (PSA's processors slice user[:, g:g+1]). So every consumer of the graph input
// encoder_hidden_states reads the text slice instead, and each attn2 gets the user term added to to_out.0's input.
// Forms:
// - 'broadcast' (default when every group is one token, i.e. always for PSA's checkpoints): softmax over a single
//   key is exactly 1, so the term is to_v_user[g](u_g), [B,1,inner], broadcast over all N queries by the Add —
//   one small MatMul per layer, no second attention; to_k_user is mathematically unused and not emitted.
// - 'attention': the literal attention (heads, q·kᵀ/√d, Softmax, ·v), kept to check the shortcut and as the form
//   a future multi-token group would need.
// Layer matching: the i-th processor of the checkpoint belongs to the i-th attn2 in `unet.attn_processors` order,
// which follows module registration in diffusers' UNet2DConditionModel: down_blocks, then up_blocks, then
// mid_block (not execution order). A checkpoint that does not fit fails naming the first layer that differs.
import { ConvertError } from './errors';
import { num, onnx, type LoadedModel, type NodeProto, type TensorProto } from './onnx-model';
import type { PsaCheckpoint } from './psa-checkpoint';
import { shapeText } from './tensor';

export type GraftForm = 'broadcast' | 'attention';

export interface Attn2Layer {
  /** diffusers module path, e.g. down_blocks.0.attentions.0.transformer_blocks.0.attn2 */
  module: string;
  toQ?: NodeProto;
  toK?: NodeProto;
  toV?: NodeProto;
  toOut?: NodeProto;
  /** attention width (to_out.0 input features). */
  inner: number;
  /** cross-attention width (to_k input features). */
  cross: number;
}

const ATTN2 = /(?:^|\/)((?:down_blocks\.\d+|up_blocks\.\d+|mid_block)\/attentions\.\d+\/transformer_blocks\.\d+\/attn2)\/(to_q|to_k|to_v|to_out\.0)\/(MatMul|Gemm)$/;
const GROUP_RANK: Record<string, number> = { down_blocks: 0, up_blocks: 1, mid_block: 2 };

/** Sort key in diffusers' registration order: down_blocks, up_blocks, mid_block; indices numerically. */
function moduleKey(module: string): number[] {
  const parts = module.split('.');
  const key = [GROUP_RANK[parts[0]]];
  for (const p of parts) if (/^\d+$/.test(p)) key.push(Number(p));
  return key;
}
function compareKeys(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? -1) !== (b[i] ?? -1)) return (a[i] ?? -1) - (b[i] ?? -1);
  return 0;
}

function weightDims(m: LoadedModel, node: NodeProto, label: string, module: string): number[] {
  const w = m.inits.get(node.input?.[1] ?? '');
  if (!w) throw new ConvertError(`${label}: ${module} ${node.name} has no initializer weight (unsupported export)`);
  const dims = (w.dims ?? []).map(num);
  // MatMul stores Linear weights as [in, out]; Gemm (2-D) as [out, in] with transB=1.
  const transB = node.opType === 'Gemm' && (node.attribute ?? []).some((a) => a.name === 'transB' && num(a.i) === 1);
  return transB ? [dims[1], dims[0]] : dims;
}

/** The U-Net's attn2 layers in diffusers' attn_processors order. */
export function findAttn2Layers(m: LoadedModel, label: string): Attn2Layer[] {
  const by = new Map<string, Partial<Record<'to_q' | 'to_k' | 'to_v' | 'to_out.0', NodeProto>>>();
  for (const n of m.model.graph!.node ?? []) {
    const hit = ATTN2.exec(n.name ?? '');
    if (!hit) continue;
    const module = hit[1].replace(/\//g, '.');
    if (!by.has(module)) by.set(module, {});
    by.get(module)![hit[2] as 'to_q'] = n;
  }
  if (!by.size) throw new ConvertError(`${label} has no cross-attention layers (no …/attn2/to_out.0 node): PSA needs an SD1.5 U-Net with text cross-attention`);
  const layers: Attn2Layer[] = [];
  for (const module of [...by.keys()].sort((a, b) => compareKeys(moduleKey(a), moduleKey(b)))) {
    const n = by.get(module)!;
    for (const part of ['to_q', 'to_k', 'to_v', 'to_out.0'] as const) if (!n[part]) throw new ConvertError(`${label}: ${module} has no ${part} MatMul/Gemm node (unsupported export)`);
    const wOut = m.inits.get(n['to_out.0']!.input?.[1] ?? '');
    if (wOut && wOut.dataType !== 1) throw new ConvertError(`${label}: ${module} weights are not float32 (ONNX type ${wOut.dataType}); convert an fp32 export — the fp16/int8/q4 variants are made from it`);
    const out = weightDims(m, n['to_out.0']!, label, module);
    const k = weightDims(m, n.to_k!, label, module);
    layers.push({ module, toQ: n.to_q, toK: n.to_k, toV: n.to_v, toOut: n['to_out.0'], inner: out[0], cross: k[0] });
  }
  return layers;
}

/** Fails naming the first layer where checkpoint and U-Net differ (width, cross width, or count). */
export function matchCheckpoint(layers: Attn2Layer[], ck: PsaCheckpoint, label: string): void {
  const ckName = ck.file.split('/').pop();
  const hint = ' (a checkpoint for another model, e.g. SDXL?)';
  for (let i = 0; i < Math.min(layers.length, ck.processors.length); i++) {
    const l = layers[i];
    for (let g = 0; g < ck.processors[i].toV.length; g++) {
      const s = ck.processors[i].toV[g].shape;
      if (s[0] !== l.inner || s[1] !== l.cross) {
        throw new ConvertError(`${ckName} does not fit ${label} at layer ${i} (${l.module}): to_v_user.${g}.weight is ${shapeText(s)}, the layer needs ${shapeText([l.inner, l.cross])}${hint}`);
      }
    }
  }
  if (ck.crossDim !== layers[0].cross) {
    throw new ConvertError(`${ckName} does not fit ${label}: user_proj makes ${ck.crossDim}-wide tokens, the U-Net's cross-attention is ${layers[0].cross} wide${hint}`);
  }
  if (ck.processors.length > layers.length) {
    throw new ConvertError(`${ckName} does not fit ${label} at layer ${layers.length}: the checkpoint has ${ck.processors.length} PSA processors, the U-Net only ${layers.length} cross-attention layers${hint}`);
  }
  if (ck.processors.length < layers.length) {
    throw new ConvertError(`${ckName} does not fit ${label} at layer ${ck.processors.length} (${layers[ck.processors.length].module}): the checkpoint has only ${ck.processors.length} PSA processors for ${layers.length} cross-attention layers`);
  }
}

export interface GraftOptions {
  form: GraftForm;
  /** Attention heads per layer (needed by the 'attention' form only). */
  heads?: (module: string) => number | undefined;
}

export interface GraftReport {
  layers: { module: string; inner: number; groups: number }[];
  form: GraftForm;
  userTokens: number;
}

class Emitter {
  private count = 0;
  /** Where new nodes go (swapped per layer so each layer's nodes can be placed before its to_out.0). */
  nodes: NodeProto[] = [];
  constructor(private readonly inits: TensorProto[]) {}
  op(scope: string, opType: string, inputs: string[], attrs: InstanceType<typeof onnx.AttributeProto>[] = []): string {
    const name = `/psa/${scope}/${opType}_${this.count++}`;
    const out = `${name}_output_0`;
    this.nodes.push(onnx.NodeProto.create({ name, opType, input: inputs, output: [out], attribute: attrs }));
    return out;
  }
  i64(name: string, values: number[]): string {
    const data = BigInt64Array.from(values.map(BigInt));
    this.inits.push(onnx.TensorProto.create({ name, dims: [values.length], dataType: 7, rawData: new Uint8Array(data.buffer) }));
    return name;
  }
  f32(name: string, dims: number[], data: Float32Array): string {
    this.inits.push(onnx.TensorProto.create({ name, dims, dataType: 1, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) }));
    return name;
  }
}
const intAttr = (name: string, v: number) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: v });
const intsAttr = (name: string, v: number[]) => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });

/** Linear weight [out, in] → MatMul weight [in, out]. */
function transpose2(t: { shape: number[]; data: Float32Array }): Float32Array {
  const [o, i] = t.shape;
  const out = new Float32Array(o * i);
  for (let r = 0; r < o; r++) for (let c = 0; c < i; c++) out[c * o + r] = t.data[r * i + c];
  return out;
}

/**
 * Rewrites `m` in place: new input `psa_scale` [1], text/user slices of encoder_hidden_states, and the user term
 * before each attn2's to_out.0. The PSA weights become inline initializers (the writer may move them out).
 */
export function graftPsa(m: LoadedModel, layers: Attn2Layer[], ck: PsaCheckpoint, opts: GraftOptions, label: string): GraftReport {
  const graph = m.model.graph!;
  const EHS = 'encoder_hidden_states';
  if (!(graph.input ?? []).some((i) => i.name === EHS)) throw new ConvertError(`${label} has no input named ${EHS}`);
  if ((graph.input ?? []).some((i) => i.name === 'psa_scale')) throw new ConvertError(`${label} already has a psa_scale input (already converted?)`);
  const U = ck.userTokens;
  const newInits: TensorProto[] = [];
  const e = new Emitter(newInits);
  const head: NodeProto[] = (e.nodes = []);

  const text = e.op('encoder_hidden_states', 'Slice', [EHS, e.i64('psa.text.starts', [0]), e.i64('psa.text.ends', [-U]), e.i64('psa.axes1', [1])]);
  const user = e.op('encoder_hidden_states', 'Slice', [EHS, e.i64('psa.user.starts', [-U]), e.i64('psa.user.ends', [Number.MAX_SAFE_INTEGER]), 'psa.axes1']);
  for (const n of graph.node ?? []) n.input = (n.input ?? []).map((x) => (x === EHS ? text : x));
  for (const l of layers) {
    if (l.toK!.input?.[0] !== text || l.toV!.input?.[0] !== text) throw new ConvertError(`${label}: ${l.module} to_k/to_v do not read encoder_hidden_states directly (unsupported export)`);
  }
  const scale = 'psa_scale';
  graph.input!.push(onnx.ValueInfoProto.create({
    name: scale,
    type: onnx.TypeProto.create({ tensorType: onnx.TypeProto.Tensor.create({ elemType: 1, shape: onnx.TensorShapeProto.create({ dim: [onnx.TensorShapeProto.Dimension.create({ dimValue: 1 })] }) }) }),
  }));

  const userSlices: string[] = [];
  const groupsMax = Math.max(...ck.processors.map((p) => p.toV.length));
  for (let g = 0; g < Math.min(groupsMax, U); g++) {
    userSlices.push(U === 1 ? user : e.op('encoder_hidden_states', 'Slice', [user, e.i64(`psa.user${g}.starts`, [g]), e.i64(`psa.user${g}.ends`, [g + 1]), 'psa.axes1']));
  }

  const report: GraftReport = { layers: [], form: opts.form, userTokens: U };
  const before = new Map<NodeProto, NodeProto[]>();
  layers.forEach((l, i) => {
    const p = ck.processors[i];
    e.nodes = [];
    const scope = l.module;
    const terms: string[] = [];
    const groups = Math.min(p.toV.length, U); // PSA skips groups past the user tokens present
    for (let g = 0; g < groups; g++) {
      const base = `${l.module}.psa.${i}`;
      const v = e.op(scope, 'MatMul', [userSlices[g], e.f32(`${base}.to_v_user.${g}.weight_t`, [l.cross, l.inner], transpose2(p.toV[g]))]);
      if (opts.form === 'broadcast') {
        terms.push(v);
        continue;
      }
      const H = opts.heads?.(l.module);
      if (!H || l.inner % H) throw new ConvertError(`the attention graft form needs the head count of ${l.module} (from unet/config.json); got ${H ?? 'none'}`);
      const hd = l.inner / H;
      const k = e.op(scope, 'MatMul', [userSlices[g], e.f32(`${base}.to_k_user.${g}.weight_t`, [l.cross, l.inner], transpose2(p.toK[g]))]);
      const split = e.i64(`${base}.heads_shape.${g}`, [0, 0, H, hd]);
      const qh = e.op(scope, 'Transpose', [e.op(scope, 'Reshape', [l.toQ!.output![0], split])], [intsAttr('perm', [0, 2, 1, 3])]);
      const kh = e.op(scope, 'Transpose', [e.op(scope, 'Reshape', [k, split])], [intsAttr('perm', [0, 2, 3, 1])]);
      const vh = e.op(scope, 'Transpose', [e.op(scope, 'Reshape', [v, split])], [intsAttr('perm', [0, 2, 1, 3])]);
      const s = e.op(scope, 'Mul', [e.op(scope, 'MatMul', [qh, kh]), e.f32(`${base}.inv_sqrt_d.${g}`, [], Float32Array.of(1 / Math.sqrt(hd)))]);
      const o = e.op(scope, 'MatMul', [e.op(scope, 'Softmax', [s], [intAttr('axis', -1)]), vh]);
      terms.push(e.op(scope, 'Reshape', [e.op(scope, 'Transpose', [o], [intsAttr('perm', [0, 2, 1, 3])]), e.i64(`${base}.merge_shape.${g}`, [0, 0, l.inner])]));
    }
    if (terms.length) {
      let sum = terms[0];
      for (const t of terms.slice(1)) sum = e.op(scope, 'Add', [sum, t]);
      const y = e.op(scope, 'Add', [l.toOut!.input![0], e.op(scope, 'Mul', [sum, scale])]);
      l.toOut!.input![0] = y;
      before.set(l.toOut!, e.nodes);
    }
    report.layers.push({ module: l.module, inner: l.inner, groups });
  });
  // Keep the node list topologically sorted: slices first, each layer's nodes right before its to_out.0.
  const nodes: NodeProto[] = [...head];
  for (const n of graph.node ?? []) nodes.push(...(before.get(n) ?? []), n);
  graph.node = nodes;
  graph.initializer = [...(graph.initializer ?? []), ...newInits];
  for (const t of newInits) m.inits.set(t.name ?? '', t);
  return report;
}
