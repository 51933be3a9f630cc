// A public causal-LM export (Optimum `text-generation-with-past`, what onnx-community / transformers.js publish:
// `onnx/model.onnx` [+ `model.onnx_data` chunks], `model_q4.onnx`, …) turned into the feature-extraction graph the
// layer-group cut reads (cut.ts: input_ids, attention_mask → the final norm's output), by editing the model proto in
// memory — the weights stay where they are (external files are never read here; inline ones are not copied):
//   * the final norm's output (the lm_head MatMul / MatMulNBits / Gemm's activation input) becomes the one graph
//     output; `logits` and every `present.N.key/value` output go, and so does every node only they needed;
//   * the past inputs fold away as the first generation step would feed them (length 0): a Concat that joins a past
//     tensor to the new keys/values loses that input (so any batch size works); a Shape that reads it (the past
//     length, for positions and the causal mask) reads an empty initializer [1, kv_heads, 0, head_dim] instead;
//   * `position_ids` becomes arange(sequence length) computed from attention_mask's shape — what transformers uses
//     when no positions are passed (PSA's get_embeds.py passes none), and what transformers.js derives from an
//     all-ones mask;
//   * Optimum's older merged decoder (`decoder_model_merged.onnx`: an If on `use_cache_branch` holding the no-past
//     and with-past graphs) keeps its no-past branch, inlined into the main graph.
// Anything else (a past read by GroupQueryAttention or another fused op, no `logits` output, an lm_head that is not a
// MatMul) is refused with an error naming what was expected.
import { ConvertError } from '../errors';
import { num, onnx, type LoadedModel, type NodeProto, type TensorProto } from '../onnx-model';

type ValueInfo = import('onnx-proto').onnx.IValueInfoProto;
type GraphProto = import('onnx-proto').onnx.IGraphProto;

const PAST_RE = /^past_key_values\.\d+\.(key|value)$/;
const PRESENT_RE = /^present\.\d+\.(key|value)$/;
const USE_CACHE = 'use_cache_branch';
const INT64 = 7;
const FLOAT16 = 10;

export interface WithPastEdit {
  /** The tensor now output (the final norm's output, the lm_head's input). */
  output: string;
  /** Past inputs folded away. */
  past: string[];
  /** Outputs removed (logits, present.*). */
  removedOutputs: string[];
  /** position_ids replaced by arange(sequence length). */
  positionIds: boolean;
  /** The merged decoder's If was inlined (its no-past branch). */
  mergedIf: boolean;
  /** Nodes dropped because only the removed outputs needed them (the lm_head among them). */
  droppedNodes: number;
}

/** A causal-LM export with past inputs or a logits output (rather than a feature-extraction export)? */
export function isCausalLmExport(m: LoadedModel): boolean {
  const g = m.model.graph!;
  return (g.input ?? []).some((i) => PAST_RE.test(i.name ?? '') || i.name === USE_CACHE) || (g.output ?? []).some((o) => o.name === 'logits');
}

/** Rewrites `m` in place as described above. */
export function asFeatureExtraction(m: LoadedModel, label: string): WithPastEdit {
  const g = m.model.graph!;
  const mergedIf = inlineNoCacheBranch(m, label);
  const outputs = g.output ?? [];
  const logits = outputs.find((o) => o.name === 'logits');
  if (!logits) throw new ConvertError(`${label} is not a causal-LM export this converter can read: no "logits" output (outputs: ${outputs.map((o) => o.name).join(', ')}); expected Optimum's text-generation(-with-past) form (logits, present.N.key/value) or a feature-extraction export (last_hidden_state)`);
  const hidden = lmHeadInput(g, label);
  refuseHalf(m, hidden, label);
  const removedOutputs = outputs.filter((o) => o.name !== hidden).map((o) => o.name ?? '');
  const stray = removedOutputs.filter((n) => n !== 'logits' && !PRESENT_RE.test(n));
  if (stray.length) throw new ConvertError(`${label}: unexpected outputs ${stray.join(', ')} (a causal-LM export has logits and present.N.key/value only)`);
  g.output = [hiddenInfo(g, hidden, logits)];

  const past = foldPast(m, label);
  const positionIds = replacePositionIds(m, label);
  const droppedNodes = prune(m);
  return { output: hidden, past, removedOutputs, positionIds, mergedIf, droppedNodes };
}

/** The lm_head's activation input: logits ← [Cast/Identity…] ← MatMul | MatMulNBits | Gemm (hidden, weight). */
function lmHeadInput(g: GraphProto, label: string): string {
  const producer = new Map<string, NodeProto>();
  for (const n of g.node ?? []) for (const o of n.output ?? []) producer.set(o, n);
  let t = 'logits';
  for (let hops = 0; hops < 4; hops++) {
    const p = producer.get(t);
    if (!p) break;
    if (p.opType === 'MatMul' || p.opType === 'MatMulNBits' || p.opType === 'Gemm') return p.input![0];
    if (p.opType !== 'Cast' && p.opType !== 'Identity') break;
    t = p.input![0];
  }
  const p = producer.get('logits');
  throw new ConvertError(`${label}: logits are made by ${p ? `${p.opType} node ${p.name}` : 'no node'}; expected the lm_head as a MatMul, MatMulNBits or Gemm on the final norm's output`);
}

/**
 * The groups take and give float32 hidden states; a float16 export (onnx-community's model_fp16 / model_q4f16: fp16
 * lm_head weight or MatMulNBits scales) would carry float16 ones, so it is refused rather than mislabelled.
 */
function refuseHalf(m: LoadedModel, hidden: string, label: string): void {
  const head = (m.model.graph!.node ?? []).find((n) => n.input?.[0] === hidden && ['MatMul', 'MatMulNBits', 'Gemm'].includes(n.opType ?? ''));
  const weightType = (name?: string) => (name ? m.inits.get(name)?.dataType : undefined);
  const half = head && (weightType(head.input?.[1]) === FLOAT16 || (head.opType === 'MatMulNBits' && weightType(head.input?.[2]) === FLOAT16));
  if (half) throw new ConvertError(`${label} computes in float16 (its lm_head ${head!.opType} has float16 weights or scales, as in an fp16 / q4f16 export); the encoder groups need float32 hidden states: use the export's float32 model.onnx or its model_q4.onnx`);
}

function hiddenInfo(g: GraphProto, name: string, logits: ValueInfo): ValueInfo {
  const known = (g.valueInfo ?? []).find((v) => v.name === name);
  if (known?.type?.tensorType?.shape?.dim?.length === 3) return known;
  // Same element type and leading (batch, sequence) dims as logits; the width is read from the table by analyse().
  const v = onnx.ValueInfoProto.decode(onnx.ValueInfoProto.encode(logits).finish());
  v.name = name;
  const dims = v.type?.tensorType?.shape?.dim;
  if (dims?.length === 3) dims[2] = onnx.TensorShapeProto.Dimension.create({ dimParam: 'hidden_size' });
  return v;
}

/** Folds each past_key_values.N.key/value input as a length-0 past. */
function foldPast(m: LoadedModel, label: string): string[] {
  const g = m.model.graph!;
  const past = (g.input ?? []).filter((i) => PAST_RE.test(i.name ?? ''));
  const folded: string[] = [];
  for (const input of past) {
    const name = input.name!;
    const readers = (g.node ?? []).filter((n) => (n.input ?? []).includes(name));
    let needsEmpty = false;
    for (const n of readers) {
      if (n.opType === 'Concat' && (n.input ?? []).length >= 2) n.input = n.input!.filter((x) => x !== name);
      else if (n.opType === 'Shape') needsEmpty = true;
      else throw new ConvertError(`${label}: ${name} is read by ${n.opType} node ${n.name}; only exports that Concat the past onto the new keys/values (Optimum's, torch.onnx's) can be folded to an empty past — fused-attention exports (GroupQueryAttention, onnxruntime-genai) are not supported`);
    }
    if (needsEmpty) {
      const t = input.type?.tensorType;
      const dims = t?.shape?.dim ?? [];
      if (dims.length !== 4) throw new ConvertError(`${label}: ${name} has ${dims.length} dimensions; expected [batch, kv_heads, past_sequence_length, head_dim]`);
      const fixed = dims.map((d, i) => (i === 0 ? 1 : i === 2 ? 0 : d.dimValue != null ? num(d.dimValue) : NaN));
      if (fixed.some((d) => Number.isNaN(d))) throw new ConvertError(`${label}: ${name} has a symbolic kv_heads or head_dim (${dims.map((d) => d.dimParam ?? num(d.dimValue)).join(', ')}); cannot make its empty past`);
      const empty: TensorProto = onnx.TensorProto.create({ name, dims: fixed, dataType: t?.elemType ?? 1, rawData: new Uint8Array(0) });
      g.initializer = [...(g.initializer ?? []), empty];
      m.inits.set(name, empty);
    }
    folded.push(name);
  }
  g.input = (g.input ?? []).filter((i) => !PAST_RE.test(i.name ?? ''));
  return folded;
}

/** position_ids = arange(attention_mask's length)[None] (int64), computed in the graph. */
function replacePositionIds(m: LoadedModel, label: string): boolean {
  const g = m.model.graph!;
  const input = (g.input ?? []).find((i) => i.name === 'position_ids');
  if (!input) return false;
  if (!(g.input ?? []).some((i) => i.name === 'attention_mask')) throw new ConvertError(`${label} takes position_ids but no attention_mask to derive them from`);
  if ((input.type?.tensorType?.elemType ?? INT64) !== INT64) throw new ConvertError(`${label}: position_ids is not int64`);
  const P = '/psa_position_ids';
  const scalar = (name: string, v: number, dims: number[] = []): TensorProto => {
    const b = new Uint8Array(8 * Math.max(1, dims.reduce((a, x) => a * x, 1)));
    const dv = new DataView(b.buffer);
    for (let i = 0; i < b.length / 8; i++) dv.setBigInt64(i * 8, BigInt(dims.length ? [1, -1][i] : v), true);
    return onnx.TensorProto.create({ name, dims, dataType: INT64, rawData: b });
  };
  // Constant nodes, not initializers: the groups write every initializer as external data, and onnxruntime's shape
  // inference cannot read a Reshape's target shape from there.
  const node = (op: string, name: string, inputs: string[], outputs: string[], attribute: NodeProto['attribute'] = []): NodeProto =>
    onnx.NodeProto.create({ opType: op, name: `${P}/${name}`, input: inputs, output: outputs, attribute });
  const constant = (name: string, t: TensorProto): NodeProto =>
    node('Constant', name, [], [t.name!], [onnx.AttributeProto.create({ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t })]);
  const nodes = [
    constant('one', scalar(`${P}/one`, 1)),
    constant('zero', scalar(`${P}/zero`, 0)),
    constant('row', scalar(`${P}/row`, 0, [2])),
    node('Shape', 'Shape', ['attention_mask'], [`${P}/shape`]),
    node('Gather', 'Gather', [`${P}/shape`, `${P}/one`], [`${P}/length`], [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 })]),
    node('Range', 'Range', [`${P}/zero`, `${P}/length`, `${P}/one`], [`${P}/range`]),
    node('Reshape', 'Reshape', [`${P}/range`, `${P}/row`], ['position_ids']),
  ];
  g.node = [...nodes, ...(g.node ?? [])];
  g.input = (g.input ?? []).filter((i) => i.name !== 'position_ids');
  return true;
}

/**
 * Optimum's merged decoder: `If(use_cache_branch)` with then = the with-past graph, else = the no-past graph, sharing
 * the outer graph's initializers. The else branch replaces the If (its outputs renamed to the If's); the
 * use_cache_branch input goes. Returns whether there was one.
 */
function inlineNoCacheBranch(m: LoadedModel, label: string): boolean {
  const g = m.model.graph!;
  const nodes = g.node ?? [];
  const at = nodes.findIndex((n) => n.opType === 'If' && n.input?.[0] === USE_CACHE);
  if (at < 0) {
    if ((g.input ?? []).some((i) => i.name === USE_CACHE)) throw new ConvertError(`${label} has a ${USE_CACHE} input but no If node on it (expected Optimum's merged decoder)`);
    return false;
  }
  const ifNode = nodes[at];
  const branch = (ifNode.attribute ?? []).find((a) => a.name === 'else_branch')?.g;
  if (!branch) throw new ConvertError(`${label}: the If on ${USE_CACHE} has no else_branch graph (expected Optimum's merged decoder)`);
  const outs = branch.output ?? [];
  if (outs.length !== (ifNode.output ?? []).length) throw new ConvertError(`${label}: the If on ${USE_CACHE} has ${ifNode.output?.length} outputs, its no-past branch ${outs.length}`);
  const rename = new Map(outs.map((o, i) => [o.name ?? '', ifNode.output![i]]));
  const inner = (branch.node ?? []).map((n) => {
    const c = onnx.NodeProto.decode(onnx.NodeProto.encode(n).finish());
    c.output = (c.output ?? []).map((o) => rename.get(o) ?? o);
    c.input = (c.input ?? []).map((x) => rename.get(x) ?? x);
    return c;
  });
  // A branch output that is directly an outer tensor or initializer (no node makes it) becomes an Identity.
  const made = new Set(inner.flatMap((n) => n.output ?? []));
  for (const [from, to] of rename) if (!made.has(to)) inner.push(onnx.NodeProto.create({ opType: 'Identity', name: `/psa_no_cache/${to}`, input: [from], output: [to] }));
  g.node = [...nodes.slice(0, at), ...inner, ...nodes.slice(at + 1)];
  for (const t of branch.initializer ?? []) {
    g.initializer = [...(g.initializer ?? []), t];
    m.inits.set(t.name ?? '', t);
  }
  g.valueInfo = [...(g.valueInfo ?? []), ...(branch.valueInfo ?? [])];
  g.input = (g.input ?? []).filter((i) => i.name !== USE_CACHE);
  return true;
}

/** Drops nodes, initializers and inputs that no graph output needs any more (the lm_head, the present Concats' sinks). */
function prune(m: LoadedModel): number {
  const g = m.model.graph!;
  const nodes = g.node ?? [];
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => (n.output ?? []).forEach((o) => producer.set(o, i)));
  const needed = new Set<string>();
  const keep = new Set<number>();
  const todo = (g.output ?? []).map((o) => o.name ?? '');
  while (todo.length) {
    const t = todo.pop()!;
    if (!t || needed.has(t)) continue;
    needed.add(t);
    const p = producer.get(t);
    if (p === undefined || keep.has(p)) continue;
    keep.add(p);
    for (const x of nodes[p].input ?? []) todo.push(x);
    for (const a of nodes[p].attribute ?? []) if (a.g) for (const x of outerReads(a.g)) todo.push(x); // subgraphs read outer tensors
  }
  g.node = nodes.filter((_, i) => keep.has(i));
  g.initializer = (g.initializer ?? []).filter((t) => needed.has(t.name ?? ''));
  for (const k of [...m.inits.keys()]) if (!needed.has(k)) m.inits.delete(k);
  g.input = (g.input ?? []).filter((i) => needed.has(i.name ?? ''));
  return nodes.length - g.node.length;
}

function outerReads(sub: GraphProto): string[] {
  const local = new Set([...(sub.initializer ?? []).map((t) => t.name ?? ''), ...(sub.input ?? []).map((i) => i.name ?? ''), ...(sub.node ?? []).flatMap((n) => n.output ?? [])]);
  const reads = (sub.node ?? []).flatMap((n) => [...(n.input ?? []), ...(n.attribute ?? []).flatMap((a) => (a.g ? outerReads(a.g) : []))]);
  return [...reads, ...(sub.output ?? []).map((o) => o.name ?? '')].filter((x) => x && !local.has(x));
}
