// Writes one quantized variant of a float32 graph — the converted U-Net (the bundle's own unet/model.onnx + its
// external data), or a profile-encoder layer group (scripts/convert/encoder/, straight from the source export): plans the graph rewrite first (weights-plan.ts, fp16.ts), then streams the initializers one at a
// time — read, quantize or halve, write — so memory holds one weight, never the model.
//   fp16   float16 weights and activations (float32 I/O, timestep embedding in float32); needs shader-f16 on WebGPU
//   int8   weight-only int8 (per output channel, DequantizeLinear → Conv/MatMul/Gemm), float32 activations
//   q4     MatMulNBits (4-bit, block 32) for MatMul/Gemm weights with K % 32 = 0, int8 for the rest; float32
//          activations, so it runs on WASM and on WebGPU without shader-f16
//   q4f16  the same weights with float16 activations (WebGPU with shader-f16); shares the manifest's q4 slot
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { toHalf } from '../../../src/engine/tensors';
import { loadOnnx, num, onnx, type LoadedModel, type TensorProto } from '../onnx-model';
import type { WrittenModel } from '../write-model';
import { FLOAT, FLOAT16 } from './graph';
import { planFp16 } from './fp16';
import { asFloat32, readTensorBytes, Scratch, TensorWriter } from './stream';
import { quantizeInt8, quantizeQ4 } from './weights';
import { planWeights, type WeightJob } from './weights-plan';

export type QuantizedVariant = 'fp16' | 'int8' | 'q4' | 'q4f16';

export interface QuantizeReport {
  variant: QuantizedVariant;
  int8Weights: number;
  q4Weights: number;
  /** MatMul/Gemm weights q4 wrote as int8 (K not a multiple of 32, or Gemm options MatMulNBits lacks). */
  q4Fallbacks: string[];
  halfInitializers: number;
  keptFloat32Nodes: number;
  casts: number;
}

export interface QuantizeOptions {
  dir: string;
  fileName: string;
  /** Write weights as external data (chunks ≤ chunkBytes); false keeps them inline (small models only). */
  external: boolean;
  chunkBytes?: number;
  /** Smallest tensor written as external data (default 1 KiB; the encoder groups put every initializer outside). */
  minExternalBytes?: number;
  /** Names the model in errors (default: its path). */
  label?: string;
  /** A graph with nothing to quantize is written with its weights as they are instead of refused (an encoder group
   *  holding only the final norm). */
  allowNoWeights?: boolean;
}

function computeJob(job: WeightJob, w: Float32Array): Map<string, Uint8Array> {
  const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (job.kind === 'int8') {
    const { q, scale } = quantizeInt8(w, job.dims, job.axis);
    return new Map([[job.outputs[0], bytes(q)], [job.outputs[1], bytes(scale)], [job.outputs[2], new Uint8Array(scale.length)]]);
  }
  const { packed, scales } = quantizeQ4(w, job.K, job.N, job.kMajor);
  return new Map([[job.outputs[0], packed], [job.outputs[1], bytes(scales)]]);
}

function halve(b: Uint8Array, scratch: Scratch): Uint8Array {
  const f = asFloat32(b);
  const h = new Uint16Array(scratch.get('half', f.length * 2), 0, f.length);
  for (let i = 0; i < f.length; i++) h[i] = toHalf(f[i]);
  return new Uint8Array(h.buffer, 0, h.byteLength);
}

/** Reads the float32 U-Net at `srcPath` and writes `variant` into opts.dir/opts.fileName (+ external data). */
export function writeQuantizedUnet(srcPath: string, srcDir: string, variant: QuantizedVariant, opts: QuantizeOptions): { written: WrittenModel; report: QuantizeReport } {
  return writeQuantizedModel(loadOnnx(srcPath, srcDir, srcPath), variant, opts);
}

/**
 * Writes `variant` of a loaded float32 model into opts.dir/opts.fileName (+ external data). The model's graph is
 * rewritten in place (load a fresh copy per variant); its initializers are read from their source files one at a time.
 */
export function writeQuantizedModel(src: LoadedModel, variant: QuantizedVariant, opts: QuantizeOptions): { written: WrittenModel; report: QuantizeReport } {
  const g = src.model.graph!;
  const sources = new Map(src.inits);
  const report: QuantizeReport = { variant, int8Weights: 0, q4Weights: 0, q4Fallbacks: [], halfInitializers: 0, keptFloat32Nodes: 0, casts: 0 };

  const jobs = new Map<string, WeightJob>();
  if (variant !== 'fp16') {
    const plan = planWeights(g, variant === 'int8' ? 'int8' : 'q4', { label: opts.label, allowEmpty: opts.allowNoWeights });
    for (const [k, v] of plan.jobs) jobs.set(k, v);
    Object.assign(report, { int8Weights: plan.int8, q4Weights: plan.q4, q4Fallbacks: plan.q4Fallbacks });
    if (plan.q4 && !(src.model.opsetImport ?? []).some((o) => o.domain === 'com.microsoft')) {
      src.model.opsetImport = [...(src.model.opsetImport ?? []), onnx.OperatorSetIdProto.create({ domain: 'com.microsoft', version: 1 })];
    }
  }
  let toHalfNames = new Set<string>();
  if (variant === 'fp16' || variant === 'q4f16') {
    const opset = num((src.model.opsetImport ?? []).find((o) => !o.domain)?.version ?? 0);
    const f = planFp16(g, opset, toHalf);
    toHalfNames = f.toHalf;
    Object.assign(report, { halfInitializers: f.toHalf.size, keptFloat32Nodes: f.keptNodes, casts: f.casts });
  }

  const outOf = new Map<string, string>();
  for (const [name, job] of jobs) for (const o of job.outputs) outOf.set(o, name);
  const writer = new TensorWriter(opts.dir, `${opts.fileName}_data`, opts.external, opts.chunkBytes, opts.minExternalBytes);
  const fds = new Map<string, number>();
  const scratch = new Scratch();
  const inits: TensorProto[] = [];
  let cache: { source: string; data: Map<string, Uint8Array> } | undefined;
  try {
    for (const t of g.initializer ?? []) {
      const name = t.name ?? '';
      let bytes: Uint8Array;
      const source = outOf.get(name);
      if (source !== undefined) {
        if (cache?.source !== source) {
          const w = asFloat32(readTensorBytes(src, sources.get(source)!, fds, scratch));
          cache = { source, data: computeJob(jobs.get(source)!, w) };
        }
        bytes = cache.data.get(name)!;
      } else {
        bytes = readTensorBytes(src, t, fds, scratch);
      }
      let dataType = t.dataType ?? 0;
      if (toHalfNames.has(name) && dataType === FLOAT) [bytes, dataType] = [halve(bytes, scratch), FLOAT16];
      inits.push(writer.tensor(name, dataType, (t.dims ?? []).map(num), bytes));
    }
  } finally {
    writer.close();
    for (const fd of fds.values()) closeSync(fd);
  }
  g.initializer = inits;
  src.model.docString = `${src.model.docString ?? ''} [psa-web ${variant}]`.trim();
  const proto = onnx.ModelProto.encode(src.model).finish();
  const fd = openSync(join(opts.dir, opts.fileName), 'w');
  try {
    writeSync(fd, proto);
  } finally {
    closeSync(fd);
  }
  const model = { name: opts.fileName, bytes: proto.length, sha256: createHash('sha256').update(proto).digest('hex') };
  return { written: { model, externalData: writer.files }, report };
}
