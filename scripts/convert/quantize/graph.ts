// Graph bookkeeping the quantizers share: the element type of every value (propagated through the node list with
// per-op rules, enough for the SD1.5 U-Net's op set), who produces and who consumes each value, and small node
// builders. Types come from the graph inputs, the initializers and the ops themselves, never from value_info
// (exports leave most intermediate values untyped).
import { onnx, type NodeProto, type TensorProto } from '../onnx-model';

export const FLOAT = 1;
export const UINT8 = 2;
export const INT8 = 3;
export const INT64 = 7;
export const BOOL = 9;
export const FLOAT16 = 10;

export type Graph = NonNullable<InstanceType<typeof onnx.ModelProto>['graph']>;
export type Attr = NonNullable<NodeProto['attribute']>[number];

export const attr = (n: NodeProto, name: string): Attr | undefined => n.attribute?.find((a) => a.name === name);
export const attrInt = (n: NodeProto, name: string, dflt: number): number => {
  const a = attr(n, name);
  return a ? Number(a.i) : dflt;
};
export const attrFloat = (n: NodeProto, name: string, dflt: number): number => {
  const a = attr(n, name);
  return a ? Number(a.f) : dflt;
};

const BOOL_OPS = new Set(['Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'IsNaN', 'IsInf']);
const INT64_OPS = new Set(['Shape', 'Size', 'NonZero', 'ArgMax', 'ArgMin']);

function constantType(n: NodeProto): number | undefined {
  const a = n.attribute?.[0];
  if (!a) return undefined;
  if (a.name === 'value') return a.t?.dataType ?? undefined;
  if (a.name === 'value_float' || a.name === 'value_floats') return FLOAT;
  if (a.name === 'value_int' || a.name === 'value_ints') return INT64;
  return undefined;
}

/** Element type of a node's outputs, from its inputs' types and its attributes. */
function outputType(n: NodeProto, inT: (i: number) => number | undefined): number | undefined {
  const op = n.opType ?? '';
  if (op === 'Constant') return constantType(n);
  if (op === 'Cast') return attrInt(n, 'to', 0);
  if (INT64_OPS.has(op)) return INT64;
  if (BOOL_OPS.has(op)) return BOOL;
  if (op === 'ConstantOfShape') return attr(n, 'value')?.t?.dataType ?? FLOAT;
  if (op === 'Where' || op === 'DequantizeLinear') return inT(1);
  return inT(0); // elementwise, shape-preserving, Conv/MatMul/Gemm/MatMulNBits, norms, Concat, Gather, Resize, …
}

/** Element type of every value of the graph (undefined where the rules cannot tell). */
export function valueTypes(g: Graph): Map<string, number> {
  const t = new Map<string, number>();
  for (const i of g.input ?? []) if (i.type?.tensorType?.elemType) t.set(i.name ?? '', i.type.tensorType.elemType);
  for (const i of g.initializer ?? []) t.set(i.name ?? '', i.dataType ?? 0);
  for (const n of g.node ?? []) {
    const ty = outputType(n, (k) => t.get(n.input?.[k] ?? ''));
    if (ty !== undefined) for (const o of n.output ?? []) if (o) t.set(o, ty);
  }
  return t;
}

export interface Use {
  node: NodeProto;
  index: number;
}

/** value → the nodes reading it (with the input position). */
export function consumers(g: Graph): Map<string, Use[]> {
  const m = new Map<string, Use[]>();
  for (const node of g.node ?? []) {
    (node.input ?? []).forEach((v, index) => {
      if (!v) return;
      let l = m.get(v);
      if (!l) m.set(v, (l = []));
      l.push({ node, index });
    });
  }
  return m;
}

/** value → the node writing it. */
export function producers(g: Graph): Map<string, NodeProto> {
  const m = new Map<string, NodeProto>();
  for (const n of g.node ?? []) for (const o of n.output ?? []) if (o) m.set(o, n);
  return m;
}

export function node(opType: string, name: string, input: string[], output: string[], attrs: Attr[] = [], domain = ''): NodeProto {
  return onnx.NodeProto.create({ opType, name, input, output, attribute: attrs, domain });
}
export const intAttr = (name: string, i: number): Attr => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i });

/** An initializer described by name, type and shape only: the data is produced later, while streaming. */
export function placeholder(name: string, dataType: number, dims: number[]): TensorProto {
  return onnx.TensorProto.create({ name, dataType, dims });
}

export const count = (dims: readonly number[]): number => dims.reduce((a, b) => a * b, 1);
