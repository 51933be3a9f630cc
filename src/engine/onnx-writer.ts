// A minimal ONNX ModelProto writer (protobuf wire format by hand) for the engine's own helper graphs: the
// GPU step kernel and the text/user-token concat. They are built at run time for the loaded bundle's tensor types
// (fp32/fp16), so they cannot be static assets, and a full protobuf library in the worker would cost more than
// these ~100 lines. Only the fields those graphs use are supported.

export type OnnxElem = 'float32' | 'float16' | 'int64' | 'int32';
const ELEM: Record<OnnxElem, number> = { float32: 1, int32: 6, int64: 7, float16: 10 };

export interface ValueInfo {
  name: string;
  type: OnnxElem;
  /** number = fixed size, string = symbolic dim. */
  shape: (number | string)[];
}
export interface Initializer {
  name: string;
  type: 'int64' | 'float32';
  dims: number[];
  values: number[];
}
export type AttrValue = number | number[] | string | { float: number };
export interface NodeDef {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
}
export interface GraphDef {
  name: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers?: Initializer[];
  nodes: NodeDef[];
  opset?: number;
}

class Writer {
  private parts: number[] = [];
  varint(v: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(v));
    while (x >= 0x80n) {
      this.parts.push(Number(x & 0x7fn) | 0x80);
      x >>= 7n;
    }
    this.parts.push(Number(x));
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  int(field: number, v: number | bigint): this {
    return this.tag(field, 0).varint(v);
  }
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length);
    for (const x of b) this.parts.push(x);
    return this;
  }
  str(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  msg(field: number, w: Writer): this {
    return this.bytes(field, w.finish());
  }
  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    for (const x of b) this.parts.push(x);
    return this;
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

function valueInfo(v: ValueInfo): Writer {
  const shape = new Writer();
  for (const d of v.shape) shape.msg(1, typeof d === 'number' ? new Writer().int(1, d) : new Writer().str(2, d));
  const tensorType = new Writer().int(1, ELEM[v.type]).msg(2, shape);
  return new Writer().str(1, v.name).msg(2, new Writer().msg(1, tensorType));
}

function tensor(t: Initializer): Writer {
  const w = new Writer();
  for (const d of t.dims) w.int(1, d);
  w.int(2, ELEM[t.type]).str(8, t.name);
  const raw = t.type === 'int64' ? new BigInt64Array(t.values.map((x) => BigInt(x))) : new Float32Array(t.values);
  // ONNX raw_data is little-endian; every platform ORT-web and ORT-node run on is little-endian.
  return w.bytes(9, new Uint8Array(raw.buffer));
}

function attribute(name: string, v: AttrValue): Writer {
  const w = new Writer().str(1, name);
  if (typeof v === 'number') return w.int(3, v).int(20, 2);
  if (typeof v === 'string') return w.str(4, v).int(20, 3);
  if (Array.isArray(v)) {
    for (const x of v) w.int(8, x);
    return w.int(20, 7);
  }
  return w.float(2, v.float).int(20, 1);
}

/** Serializes a graph into ONNX model bytes (IR 8, default domain, opset 17 unless given). */
export function writeModel(g: GraphDef): Uint8Array {
  const graph = new Writer();
  g.nodes.forEach((n, i) => {
    const node = new Writer();
    for (const x of n.inputs) node.str(1, x);
    for (const x of n.outputs) node.str(2, x);
    node.str(3, `${n.op}_${i}`).str(4, n.op);
    for (const [k, v] of Object.entries(n.attrs ?? {})) node.msg(5, attribute(k, v));
    graph.msg(1, node);
  });
  graph.str(2, g.name);
  // Variants of a graph (e.g. with/without CFG) share one initializer list; unused ones are dropped here.
  const used = new Set(g.nodes.flatMap((n) => n.inputs));
  for (const t of g.initializers ?? []) if (used.has(t.name)) graph.msg(5, tensor(t));
  for (const v of g.inputs) graph.msg(11, valueInfo(v));
  for (const v of g.outputs) graph.msg(12, valueInfo(v));
  return new Writer()
    .int(1, 8)
    .str(2, 'psa-web')
    .msg(7, graph)
    .msg(8, new Writer().str(1, '').int(2, g.opset ?? 17))
    .finish();
}

/**
 * Bytes that, appended to a serialized ModelProto, add graph outputs to it: a second `graph` field holding only
 * `output` entries. Protobuf parsers merge repeated occurrences of a message field (repeated fields concatenate),
 * so the model keeps every byte it had — no re-serialization of a possibly huge file (the image checker uses this).
 */
export function appendGraphOutputs(outputs: ValueInfo[]): Uint8Array {
  const graph = new Writer();
  for (const v of outputs) graph.msg(12, valueInfo(v));
  return new Writer().msg(7, graph).finish();
}
