// Float16 rewrite of a graph's computation, planned before any weight is read (like onnxconverter-common's
// float16 converter, with its keep-io-types choice): every float32 value becomes float16 — initializers, Constant
// and ConstantOfShape values, Cast(to=float) targets — except
// - the graph inputs and outputs, which stay float32 (a Cast at each boundary): the engine's contract keeps
//   `psa_scale` float32 and feeds float32 everywhere, so every variant takes the same feeds;
// - the timestep embedding: Sin/Cos and everything that computes their argument stay float32 (t · freq reaches
//   ~1000 rad, where float16's spacing of 0.5 would make the sinusoids noise — diffusers computes it in float32
//   too, then casts);
// - Resize's roi/scales inputs, which ONNX requires in float32;
// - DequantizeLinear below opset 19 (float32 scales only there): its output is cast to float16 (q4f16's int8 convs).
// Casts are inserted exactly where a value's type differs from what its consumer needs.
import { onnx, type NodeProto } from '../onnx-model';
import { consumers, FLOAT, FLOAT16, intAttr, node, producers, valueTypes, type Graph } from './graph';

const ANY_FLOAT_INPUT = new Set(['Cast', 'Shape', 'Size']);

export interface Fp16Plan {
  /** Float32 initializers whose data is to be written as float16. */
  toHalf: Set<string>;
  /** Nodes kept in float32 (the timestep-embedding island). */
  keptNodes: number;
  casts: number;
}

export function planFp16(g: Graph, opset: number, toHalfValue: (x: number) => number): Fp16Plan {
  const types = valueTypes(g);
  const isFloat = (v: string) => types.get(v) === FLOAT;
  const prod = producers(g);
  const uses = consumers(g);
  const graphInputs = new Set((g.input ?? []).map((i) => i.name ?? ''));
  const initNames = new Set((g.initializer ?? []).map((t) => t.name ?? ''));

  // 1. The float32 island: Sin/Cos and the producers of their float inputs, transitively; Resize roi/scales producers.
  const kept = new Set<NodeProto>();
  const visit = (v: string) => {
    const p = prod.get(v);
    if (!p || kept.has(p) || !isFloat(v)) return;
    kept.add(p);
    for (const i of p.input ?? []) if (i) visit(i);
  };
  for (const n of g.node ?? []) {
    if (n.opType === 'Sin' || n.opType === 'Cos') {
      kept.add(n);
      for (const i of n.input ?? []) if (i) visit(i);
    }
    if (n.opType === 'Resize') for (const i of (n.input ?? []).slice(1, 3)) if (i) visit(i);
    // DequantizeLinear takes a float16 scale only from opset 19: below, it dequantizes in float32 and a Cast follows.
    if (n.opType === 'DequantizeLinear' && opset < 19) kept.add(n);
  }

  // 2. What each consumer needs: float32 in the island and at Resize roi/scales, float16 elsewhere.
  const needs = (n: NodeProto, index: number): number | undefined => {
    if (ANY_FLOAT_INPUT.has(n.opType ?? '')) return undefined;
    if (n.opType === 'Resize' && (index === 1 || index === 2)) return FLOAT;
    return kept.has(n) ? FLOAT : FLOAT16;
  };
  // Constants (initializers, Constant nodes) follow their consumers: float32 only if every consumer needs float32.
  const constantStaysF32 = (v: string) => {
    const u = uses.get(v) ?? [];
    return u.length > 0 && u.every((x) => needs(x.node, x.index) !== FLOAT16);
  };
  const toHalf = new Set<string>();
  for (const v of initNames) if (isFloat(v) && !constantStaysF32(v)) toHalf.add(v);

  // 3. Rewrite float-producing nodes outside the island, and note each value's actual type.
  const actual = new Map<string, number>();
  for (const v of graphInputs) if (isFloat(v)) actual.set(v, FLOAT);
  for (const v of initNames) if (isFloat(v)) actual.set(v, toHalf.has(v) ? FLOAT16 : FLOAT);
  for (const n of g.node ?? []) {
    const outs = (n.output ?? []).filter((o) => o && isFloat(o));
    if (!outs.length) continue;
    let t = kept.has(n) ? FLOAT : FLOAT16;
    if (n.opType === 'Constant') {
      if (constantStaysF32(outs[0])) t = FLOAT;
      else halveTensorAttr(n, toHalfValue);
    } else if (t === FLOAT16 && n.opType === 'Cast') {
      n.attribute = [intAttr('to', FLOAT16)];
    } else if (t === FLOAT16 && n.opType === 'ConstantOfShape') {
      halveTensorAttr(n, toHalfValue);
    }
    for (const o of outs) actual.set(o, t);
  }

  // 4. Casts where actual ≠ needed (memoized per value and target), inserted before the first consumer.
  const made = new Map<string, string>();
  let casts = 0;
  const nodes: NodeProto[] = [];
  for (const n of g.node ?? []) {
    (n.input ?? []).forEach((v, index) => {
      if (!v || !actual.has(v)) return;
      const want = needs(n, index);
      if (want === undefined || want === actual.get(v)) return;
      const key = `${v}\u0000${want}`;
      let c = made.get(key);
      if (!c) {
        c = `${v}_to_${want === FLOAT16 ? 'fp16' : 'fp32'}`;
        made.set(key, c);
        nodes.push(node('Cast', `${c}_Cast`, [v], [c], [intAttr('to', want)]));
        casts++;
      }
      n.input![index] = c;
    });
    nodes.push(n);
  }
  // 5. Float outputs computed in float16 get a final Cast back to float32 under their own name.
  for (const o of g.output ?? []) {
    const name = o.name ?? '';
    if (actual.get(name) !== FLOAT16) continue;
    const inner = `${name}_fp16`;
    for (const n of nodes) {
      n.input = (n.input ?? []).map((v) => (v === name ? inner : v));
      n.output = (n.output ?? []).map((v) => (v === name ? inner : v));
    }
    nodes.push(node('Cast', `${name}_to_fp32_Cast`, [inner], [name], [intAttr('to', FLOAT)]));
    casts++;
  }
  g.node = nodes;
  g.valueInfo = []; // intermediate types changed; ORT infers them again
  return { toHalf, keptNodes: kept.size, casts };
}

/** A Constant / ConstantOfShape float32 `value` attribute in float16. */
function halveTensorAttr(n: NodeProto, toHalfValue: (x: number) => number): void {
  const a = n.attribute?.find((x) => x.name === 'value' || x.name === 'value_float' || x.name === 'value_floats');
  if (!a) {
    if (n.opType === 'ConstantOfShape') n.attribute = [...(n.attribute ?? []), tensorAttr(new Uint16Array([0]), [1])];
    return;
  }
  let values: Float32Array, dims: number[];
  if (a.name === 'value_float') [values, dims] = [Float32Array.of(a.f ?? 0), []];
  else if (a.name === 'value_floats') [values, dims] = [Float32Array.from(a.floats ?? []), [(a.floats ?? []).length]];
  else {
    const t = a.t!;
    dims = (t.dims ?? []).map(Number);
    values = t.rawData?.length ? new Float32Array(Uint8Array.from(t.rawData).buffer) : Float32Array.from(t.floatData ?? []);
  }
  const half = Uint16Array.from(values, toHalfValue);
  n.attribute = [...(n.attribute ?? []).filter((x) => x !== a), tensorAttr(half, dims)];
}

function tensorAttr(half: Uint16Array, dims: number[]): NonNullable<NodeProto['attribute']>[number] {
  const t = onnx.TensorProto.create({ dataType: FLOAT16, dims, rawData: new Uint8Array(half.buffer) });
  return onnx.AttributeProto.create({ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t });
}
