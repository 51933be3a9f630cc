// Cutting a decoder-only LLM export (Qwen2 as Optimum / torch.onnx export it: `input_ids`, `attention_mask` →
// `last_hidden_state`) into layer-group graphs. Layers are found by node names carrying `layers.N` (transformers'
// module paths); everything else is sorted into the token-embedding Gather, the shared prefix (causal mask, rotary
// tables: recomputed inside every group, they are cheap) and the tail (the final norm). At each layer boundary the
// residual stream must be exactly one tensor; a group's graph is the backward slice from its output tensor, stopped
// at its input tensor, so any graph structure that keeps that property cuts correctly, and one that does not
// (a skip over a layer, a fused skip-norm carrying two tensors, a layer's tensor read outside its group) is refused
// with an error naming the boundary.
import { ConvertError } from '../errors';
import { onnx, tensorBytes, externalRef, type LoadedModel, type NodeProto, type TensorProto } from '../onnx-model';

type ValueInfo = import('onnx-proto').onnx.IValueInfoProto;

export const HIDDEN_IN = 'hidden_states';
export const HIDDEN_OUT = 'next_hidden_states';
export const LAST_OUT = 'last_hidden_state';

const LAYER_RE = /(?:^|[/.])layers[./](\d+)(?=[/.]|$)/;

export interface EncoderStructure {
  layers: number;
  hiddenSize: number;
  /** The embedding table initializer ([vocab, hidden]). */
  table: TensorProto;
  /** The embedding Gather's output (the residual stream entering layer 0). */
  embeds: string;
  /** crossing[i]: the residual-stream tensor entering layer i (crossing[0] = embeds, crossing[L] = into the tail). */
  crossing: string[];
  /** The graph output taken after the final norm. */
  output: string;
  /** Initializer bytes per unit (layers 0..L-1, then the tail), for balancing groups. */
  unitBytes: number[];
  /**
   * Tensors whose values depend on the token embeddings (Shape outputs do not). Anything else that a layer node makes
   * (e.g. the rotary cos/sin unsqueezed once in layers.0 and reused by every layer) is recomputed where needed.
   */
  streamDependent: Set<string>;
}

/** Unit index of a node: its layer, or -1 for non-layer nodes. */
function layerOf(n: NodeProto): number {
  const m = LAYER_RE.exec(n.name ?? '');
  return m ? Number(m[1]) : -1;
}

export function analyse(src: LoadedModel, label: string): EncoderStructure {
  const g = src.model.graph!;
  const nodes = g.node ?? [];
  const inputs = new Set((g.input ?? []).map((i) => i.name ?? ''));
  const producer = new Map<string, number>();
  const consumers = new Map<string, number[]>();
  nodes.forEach((n, i) => {
    for (const o of n.output ?? []) producer.set(o, i);
    for (const x of n.input ?? []) if (x) (consumers.get(x) ?? consumers.set(x, []).get(x)!).push(i);
  });
  const layer = nodes.map(layerOf);
  const L = Math.max(-1, ...layer) + 1;
  if (L === 0) throw new ConvertError(`${label} cannot be cut into layer groups: no node name carries "layers.N" (expected transformers' module paths, e.g. /model/layers.0/self_attn/...)`);
  for (let i = 0; i < L; i++) if (!layer.includes(i)) throw new ConvertError(`${label} cannot be cut into layer groups: no node belongs to layers.${i} (layers 0..${L - 1} expected)`);
  const outName = (g.output ?? []).find((o) => o.name === LAST_OUT)?.name ?? (g.output?.length === 1 ? g.output[0].name! : undefined);
  if (!outName) throw new ConvertError(`${label} has no ${LAST_OUT} output (outputs: ${(g.output ?? []).map((o) => o.name).join(', ')})`);

  // The token-embedding Gather: data = a 2-D initializer, indices = the input_ids graph input.
  const gi = nodes.findIndex((n) => n.opType === 'Gather' && inputs.has(n.input?.[1] ?? '') && src.inits.get(n.input?.[0] ?? '')?.dims?.length === 2);
  if (gi < 0) {
    const hint = inputs.has('inputs_embeds') ? ' (it takes inputs_embeds: an export without its embedding table, such as onnxruntime-genai\'s exclude_embeds, needs the table from elsewhere; export with Optimum --task feature-extraction instead)' : '';
    throw new ConvertError(`${label} cannot be cut into layer groups: no token-embedding Gather on input_ids was found${hint}`);
  }
  const table = src.inits.get(nodes[gi].input![0])!;
  const embeds = nodes[gi].output![0];
  const hiddenSize = Number(table.dims![1]);

  // Tail = non-layer nodes downstream of a layer node; prefix = the other non-layer nodes (mask, rotary tables).
  const tail = new Set<number>();
  const stack: number[] = [];
  nodes.forEach((_, i) => layer[i] >= 0 && stack.push(i));
  const seen = new Set<number>(stack);
  while (stack.length) {
    const i = stack.pop()!;
    for (const o of nodes[i].output ?? []) for (const c of consumers.get(o) ?? []) {
      if (seen.has(c)) continue;
      seen.add(c);
      if (layer[c] < 0) tail.add(c);
      stack.push(c);
    }
  }
  const unitOf = (i: number): number | undefined => (i === gi ? -1 : layer[i] >= 0 ? layer[i] : tail.has(i) ? L : undefined); // undefined = prefix
  // The prefix may read the embeddings only for their shape (a group feeds its own hidden_states there instead).
  for (const c of consumers.get(embeds) ?? []) {
    if (unitOf(c) === undefined && nodes[c].opType !== 'Shape') {
      throw new ConvertError(`${label} cannot be cut into layer groups: ${nodes[c].opType} node ${nodes[c].name} outside the layers reads the token embeddings' values (only their shape may be read there)`);
    }
  }
  // Value dependence on the embeddings (Shape breaks it: only the size is read).
  const streamDependent = new Set<string>([embeds]);
  nodes.forEach((n) => {
    if (n.opType !== 'Shape' && (n.input ?? []).some((x) => streamDependent.has(x))) for (const o of n.output ?? []) streamDependent.add(o);
  });
  // crossing[b] for b = 1..L: stream-dependent tensors made in units < b and read in units ≥ b.
  const crossing: string[] = [embeds];
  for (let b = 1; b <= L; b++) {
    const cross = new Set<string>();
    nodes.forEach((n, i) => {
      const u = unitOf(i);
      if (u === undefined || u >= b) return;
      for (const o of n.output ?? []) if (streamDependent.has(o) && (consumers.get(o) ?? []).some((c) => (unitOf(c) ?? -2) >= b)) cross.add(o);
    });
    const where = b < L ? `layers.${b - 1} and layers.${b}` : `layers.${L - 1} and the final norm`;
    if (cross.size !== 1) {
      throw new ConvertError(`${label} cannot be cut between ${where}: ${cross.size} tensors cross that boundary (${[...cross].slice(0, 4).join(', ')}); a layer-group cut needs exactly one residual-stream tensor (fused skip-norm exports carry two)`);
    }
    const t = [...cross][0];
    const pu = unitOf(producer.get(t)!);
    if (pu !== b - 1) throw new ConvertError(`${label} cannot be cut between ${where}: the tensor crossing it (${t}) is made before layers.${b - 1} (a connection skipping a layer)`);
    crossing.push(t);
  }
  // Initializer bytes per unit (the embedding table is excluded: it goes to the CPU table).
  const unitBytes = new Array<number>(L + 1).fill(0);
  nodes.forEach((n, i) => {
    const u = unitOf(i);
    if (u === undefined || u < 0) return;
    for (const x of n.input ?? []) {
      const t = src.inits.get(x);
      if (t && t !== table) unitBytes[u] += externalRef(t)?.length ?? tensorBytes(t);
    }
  });
  return { layers: L, hiddenSize, table, embeds, crossing, output: outName, unitBytes, streamDependent };
}

/** Splits units 0..L (L layers + the tail) into `n` contiguous groups; returns the unit boundaries [0, …, L+1]. */
export function planGroups(s: EncoderStructure, n: number): number[] {
  const units = s.layers + 1;
  if (!Number.isInteger(n) || n < 1 || n > units) throw new ConvertError(`cannot make ${n} layer groups from ${s.layers} layers + the final norm (1..${units})`);
  const cuts = [0];
  for (let k = 1; k < n; k++) cuts.push(Math.floor((k * units) / n));
  cuts.push(units);
  return cuts;
}

/**
 * The graph of one group (units [a, b)): input `hidden_states` (+ whatever graph inputs the slice reads, normally
 * attention_mask), output `next_hidden_states`, or `last_hidden_state` for the group ending with the tail.
 * Initializers are deep copies (writeModel rewrites their external references per group).
 */
export function groupGraph(src: LoadedModel, s: EncoderStructure, a: number, b: number, label: string): LoadedModel {
  const g = src.model.graph!;
  const nodes = g.node ?? [];
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => (n.output ?? []).forEach((o) => producer.set(o, i)));
  const L = s.layers;
  const start = s.crossing[a];
  const end = b > L ? s.output : s.crossing[b];
  const inputNames = new Set((g.input ?? []).map((i) => i.name ?? ''));
  const keep = new Set<number>();
  const usedInputs = new Set<string>();
  const usedInits = new Set<string>();
  const todo = [end];
  const visited = new Set<string>();
  while (todo.length) {
    const t = todo.pop()!;
    if (!t || visited.has(t)) continue;
    visited.add(t);
    if (t === start || t === s.embeds) continue; // becomes hidden_states (the embeddings: shape only, checked in analyse)
    if (src.inits.has(t)) {
      usedInits.add(t);
      continue;
    }
    if (inputNames.has(t)) {
      usedInputs.add(t);
      continue;
    }
    const p = producer.get(t);
    if (p === undefined) throw new ConvertError(`${label}: tensor ${t} has no producer`);
    const u = layerOf(nodes[p]);
    if (u >= 0 && (u < a || u >= b) && (nodes[p].output ?? []).some((o) => s.streamDependent.has(o))) throw new ConvertError(`${label} cannot be cut: ${nodes[p].name} (layers.${u}) is needed by the group of units ${a}..${b - 1}`);
    keep.add(p);
    for (const x of nodes[p].input ?? []) todo.push(x);
  }
  if (usedInputs.has('input_ids')) throw new ConvertError(`${label} cannot be cut: a group other than the embedding lookup reads input_ids`);
  const outName = b > L ? LAST_OUT : HIDDEN_OUT;
  const rename = (x: string) => (x === start || x === s.embeds ? HIDDEN_IN : x === end ? outName : x);
  const groupNodes = nodes.filter((_, i) => keep.has(i)).map((n) => {
    const c = onnx.NodeProto.decode(onnx.NodeProto.encode(n).finish());
    c.input = (c.input ?? []).map(rename);
    c.output = (c.output ?? []).map(rename);
    return c;
  });
  const outInfo = (g.output ?? []).find((o) => o.name === s.output)!;
  const hiddenType = (name: string): ValueInfo => {
    const v = onnx.ValueInfoProto.decode(onnx.ValueInfoProto.encode(outInfo).finish());
    v.name = name;
    const dims = v.type?.tensorType?.shape?.dim;
    if (dims?.length === 3) dims[2] = onnx.TensorShapeProto.Dimension.create({ dimValue: s.hiddenSize });
    return v;
  };
  const initializer = (g.initializer ?? []).filter((t) => usedInits.has(t.name ?? '')).map((t) => onnx.TensorProto.decode(onnx.TensorProto.encode(t).finish()));
  const produced = new Set(groupNodes.flatMap((n) => n.output ?? []));
  const graph = onnx.GraphProto.create({
    name: `${g.name ?? 'encoder'}_units_${a}_${b - 1}`,
    node: groupNodes,
    initializer,
    input: [hiddenType(HIDDEN_IN), ...(g.input ?? []).filter((i) => usedInputs.has(i.name ?? ''))],
    output: [hiddenType(outName)],
    valueInfo: (g.valueInfo ?? []).filter((v) => produced.has(v.name ?? '') && v.name !== outName),
  });
  const model = onnx.ModelProto.create({ ...src.model, graph });
  return { path: src.path, dir: src.dir, model, inits: new Map(initializer.map((t) => [t.name ?? '', t])), externalFiles: src.externalFiles };
}
