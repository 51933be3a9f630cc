// Int8 weight-only quantization of an ONNX model: every large float32 weight initializer feeding a Conv, MatMul
// or Gemm (input 1) becomes an int8 tensor with a per-output-channel float32 scale and an int8 zero point
// (symmetric: zero), dequantized by a `DequantizeLinear` node in front of its use (the layout of onnxruntime's
// weight-only QDQ models). Everything else (activations, biases, norms, embeddings) stays float32.
import { decodeModel, encodeModel, onnx, readFloatInit, tensorProto } from './onnx-builder';

export interface QuantizeOptions {
  /** Only weights with at least this many elements are quantized. */
  minElements?: number;
}

export interface QuantizeReport {
  quantized: string[];
}

/** Axis of the output channel of a weight for each consumer op. */
function outputAxis(opType: string, node: import('onnx-proto').onnx.INodeProto): number | undefined {
  if (opType === 'Conv') return 0; // [O, I, kh, kw]
  if (opType === 'MatMul') return 1; // [in, out]
  if (opType === 'Gemm') {
    const transB = node.attribute?.find((a) => a.name === 'transB');
    return transB && Number(transB.i) === 1 ? 0 : 1;
  }
  return undefined;
}

export function quantizeWeightsInt8(modelBytes: Uint8Array, opts: QuantizeOptions = {}): { bytes: Uint8Array; report: QuantizeReport } {
  const minElements = opts.minElements ?? 256;
  const m = decodeModel(modelBytes);
  const graph = m.graph!;
  const inits = graph.initializer ?? [];
  const initIndex = new Map(inits.map((t, i) => [t.name ?? '', i]));
  const dqNodes: InstanceType<typeof onnx.NodeProto>[] = [];
  const replaced = new Map<string, string>();
  const remove = new Set<string>();

  for (const node of graph.node ?? []) {
    const axis = outputAxis(node.opType ?? '', node);
    const w = node.input?.[1];
    if (axis === undefined || !w || !initIndex.has(w)) continue;
    if (!replaced.has(w)) {
      const t = inits[initIndex.get(w)!];
      if (t.dataType !== 1) continue;
      const { dims, data } = readFloatInit(m, w);
      if (data.length < minElements || dims.length < 2) continue;
      const channels = dims[axis];
      const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
      const maxAbs = new Float32Array(channels);
      for (let i = 0; i < data.length; i++) {
        const ch = Math.floor(i / inner) % channels;
        const a = Math.abs(data[i]);
        if (a > maxAbs[ch]) maxAbs[ch] = a;
      }
      const scale = maxAbs.map((a) => (a > 0 ? a / 127 : 1));
      const q = new Int8Array(data.length);
      for (let i = 0; i < data.length; i++) {
        const ch = Math.floor(i / inner) % channels;
        q[i] = Math.max(-127, Math.min(127, Math.round(data[i] / scale[ch])));
      }
      const qName = `${w}_quantized`, sName = `${w}_scale`, zName = `${w}_zero_point`, out = `${w}_dequantized`;
      inits.push(tensorProto(qName, dims, q), tensorProto(sName, [channels], scale), tensorProto(zName, [channels], new Int8Array(channels)));
      dqNodes.push(
        onnx.NodeProto.create({
          name: `${w}_DequantizeLinear`,
          opType: 'DequantizeLinear',
          domain: '',
          input: [qName, sName, zName],
          output: [out],
          attribute: [onnx.AttributeProto.create({ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: axis })],
        }),
      );
      replaced.set(w, out);
      remove.add(w);
    }
    node.input![1] = replaced.get(w)!;
  }
  // A weight also used by a non-quantized consumer would need its float copy: keep it in that case.
  for (const node of graph.node ?? []) for (const i of node.input ?? []) if (remove.has(i)) remove.delete(i);
  graph.initializer = inits.filter((t) => !remove.has(t.name ?? ''));
  graph.node = [...dqNodes, ...(graph.node ?? [])];
  m.docString = (m.docString ?? '') + ' [int8 weight-only: per-channel symmetric DequantizeLinear]';
  return { bytes: encodeModel(m), report: { quantized: [...replaced.keys()] } };
}
