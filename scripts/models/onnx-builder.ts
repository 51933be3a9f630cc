// A small ONNX graph builder on top of `onnx-proto` (protobufjs): typed inputs/outputs with symbolic dims,
// initializers stored as raw little-endian bytes, nodes named like torch.onnx exports (`/scope/Op`, outputs
// `/scope/Op_output_0`), explicit attribute types, and serialization to ModelProto bytes (IR 8, opset 17, default
// domain only). Everything is insertion-ordered, so the same build calls give byte-identical files.
import onnxProto from 'onnx-proto';

export const { onnx } = onnxProto;
export type Onnx = typeof onnx;

export const IR_VERSION = 8;
export const OPSET = 17;

export type DType = 'float32' | 'int64' | 'int32' | 'int8' | 'uint8' | 'bool';
export type Dim = number | string;

const DT: Record<DType, number> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9 };
export const DTYPE_OF_CODE: Record<number, DType> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool' };

export type TensorData = Float32Array | Int32Array | BigInt64Array | Int8Array | Uint8Array;

/** An attribute value with its ONNX type made explicit (ints vs floats can't be told apart from JS numbers). */
export type Attr =
  | { t: 'i'; v: number }
  | { t: 'f'; v: number }
  | { t: 's'; v: string }
  | { t: 'ints'; v: number[] }
  | { t: 'floats'; v: number[] }
  | { t: 'tensor'; v: { dtype: DType; dims: number[]; data: TensorData } };

export const A = {
  i: (v: number): Attr => ({ t: 'i', v }),
  f: (v: number): Attr => ({ t: 'f', v }),
  s: (v: string): Attr => ({ t: 's', v }),
  ints: (v: number[]): Attr => ({ t: 'ints', v }),
  floats: (v: number[]): Attr => ({ t: 'floats', v }),
};

function dtypeOf(data: TensorData): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int8Array) return 'int8';
  return 'uint8';
}

function rawBytes(data: TensorData): Uint8Array {
  // Typed arrays are little-endian on every platform ORT and Node run on; copy to detach from larger buffers.
  return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
}

export function tensorProto(name: string, dims: number[], data: TensorData): InstanceType<Onnx['TensorProto']> {
  const n = dims.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new Error(`initializer ${name}: dims [${dims}] hold ${n} values, got ${data.length}`);
  return onnx.TensorProto.create({ name, dims, dataType: DT[dtypeOf(data)], rawData: rawBytes(data) });
}

function valueInfo(name: string, dtype: DType, shape: readonly Dim[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: DT[dtype],
        shape: onnx.TensorShapeProto.create({
          dim: shape.map((d) =>
            typeof d === 'number' ? onnx.TensorShapeProto.Dimension.create({ dimValue: d }) : onnx.TensorShapeProto.Dimension.create({ dimParam: d }),
          ),
        }),
      }),
    }),
  });
}

function attrProto(name: string, a: Attr) {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.t) {
    case 'i': return onnx.AttributeProto.create({ name, type: T.INT, i: a.v });
    case 'f': return onnx.AttributeProto.create({ name, type: T.FLOAT, f: a.v });
    case 's': return onnx.AttributeProto.create({ name, type: T.STRING, s: new TextEncoder().encode(a.v) });
    case 'ints': return onnx.AttributeProto.create({ name, type: T.INTS, ints: a.v });
    case 'floats': return onnx.AttributeProto.create({ name, type: T.FLOATS, floats: a.v });
    case 'tensor': return onnx.AttributeProto.create({ name, type: T.TENSOR, t: tensorProto('', a.v.dims, a.v.data) });
  }
}

export interface NodeOpts {
  /** Node name inside the current scope (default: the op type, deduplicated). */
  name?: string;
  /** Number of outputs (default 1). */
  outputs?: number;
}

export class GraphBuilder {
  readonly nodes: InstanceType<Onnx['NodeProto']>[] = [];
  readonly initializers: InstanceType<Onnx['TensorProto']>[] = [];
  readonly inputs: InstanceType<Onnx['ValueInfoProto']>[] = [];
  readonly outputs: InstanceType<Onnx['ValueInfoProto']>[] = [];
  private readonly scopes: string[] = [];
  private readonly usedNodeNames = new Map<string, number>();
  private readonly initNames = new Set<string>();
  private constCount = 0;

  constructor(readonly graphName: string) {}

  input(name: string, dtype: DType, shape: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, dtype, shape));
    return name;
  }

  /** Declares `value` as a graph output under `name` (an Identity node renames it when needed). */
  output(value: string, name: string, dtype: DType, shape: readonly Dim[]): string {
    if (value !== name) this.nodes.push(onnx.NodeProto.create({ name: `/${name}/Identity`, opType: 'Identity', input: [value], output: [name] }));
    this.outputs.push(valueInfo(name, dtype, shape));
    return name;
  }

  /** Adds a named initializer (a parameter, named like its PyTorch state-dict key). */
  init(name: string, dims: number[], data: TensorData): string {
    if (this.initNames.has(name)) throw new Error(`duplicate initializer ${name}`);
    this.initNames.add(name);
    this.initializers.push(tensorProto(name, dims, data));
    return name;
  }

  hasInit(name: string): boolean {
    return this.initNames.has(name);
  }

  /** An anonymous constant (as torch exports fold them into `onnx::Op_123` initializers). */
  const(dims: number[], data: TensorData, hint = 'Constant'): string {
    return this.init(`onnx::${hint}_${this.constCount++}`, dims, data);
  }
  i64(values: number[], dims: number[] = [values.length]): string {
    return this.const(dims, BigInt64Array.from(values.map((v) => BigInt(v))), 'Int64');
  }
  f32(values: number[] | Float32Array, dims: number[] = [values.length]): string {
    return this.const(dims, Float32Array.from(values), 'Float');
  }

  /** Runs `fn` with a nested name scope (`down_blocks.0` → node names `/down_blocks.0/...`). */
  scope<T>(name: string, fn: () => T): T {
    this.scopes.push(name);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }
  /** Current scope as a parameter-name prefix: `down_blocks.0.resnets.0.`. */
  get prefix(): string {
    return this.scopes.length ? this.scopes.join('.') + '.' : '';
  }

  op(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, opts: NodeOpts = {}): string {
    return this.opN(opType, inputs, attrs, { ...opts, outputs: 1 })[0];
  }

  opN(opType: string, inputs: string[], attrs: Record<string, Attr> = {}, opts: NodeOpts = {}): string[] {
    const base = '/' + [...this.scopes, opts.name ?? opType].join('/');
    const seen = this.usedNodeNames.get(base) ?? 0;
    this.usedNodeNames.set(base, seen + 1);
    const nodeName = seen ? `${base}_${seen}` : base;
    const n = opts.outputs ?? 1;
    const outs = Array.from({ length: n }, (_, i) => `${nodeName}_output_${i}`);
    this.nodes.push(
      onnx.NodeProto.create({
        name: nodeName,
        opType,
        domain: '',
        input: inputs,
        output: outs,
        attribute: Object.keys(attrs)
          .sort()
          .map((k) => attrProto(k, attrs[k])),
      }),
    );
    return outs;
  }

  graph() {
    return onnx.GraphProto.create({
      name: this.graphName,
      node: this.nodes,
      initializer: this.initializers,
      input: this.inputs,
      output: this.outputs,
    });
  }

  model(docString = ''): InstanceType<Onnx['ModelProto']> {
    return onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: OPSET })],
      producerName: 'psa-web tiny-model generator',
      producerVersion: '1',
      modelVersion: 1,
      docString,
      graph: this.graph(),
    });
  }

  toBytes(docString = ''): Uint8Array {
    return encodeModel(this.model(docString));
  }
}

export function encodeModel(m: InstanceType<Onnx['ModelProto']>): Uint8Array {
  return onnx.ModelProto.encode(m).finish();
}

export function decodeModel(bytes: Uint8Array): InstanceType<Onnx['ModelProto']> {
  return onnx.ModelProto.decode(bytes);
}

/** Reads a float32 initializer of a decoded model by name (for tests and the quantizer). */
export function readFloatInit(m: InstanceType<Onnx['ModelProto']>, name: string): { dims: number[]; data: Float32Array } {
  const t = m.graph?.initializer?.find((x) => x.name === name);
  if (!t) throw new Error(`no initializer ${name}`);
  if (t.dataType !== DT.float32 || !t.rawData) throw new Error(`initializer ${name} is not raw float32`);
  const raw = t.rawData;
  const data = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  return { dims: (t.dims ?? []).map(Number), data };
}
