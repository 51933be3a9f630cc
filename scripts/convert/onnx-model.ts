// Reading an ONNX model for conversion: decodes only the .onnx file (small when the weights are external, as in
// Optimum's SD1.5 export; a model with inline weights is < 2 GB by protobuf's own limit), and describes where each
// initializer's bytes live — inline (`raw_data`) or in an external-data file (location / offset / length) — without
// reading the external files.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { ConvertError } from './errors';

export const { onnx } = onnxProto;
export type ModelProto = InstanceType<typeof onnx.ModelProto>;
export type NodeProto = import('onnx-proto').onnx.INodeProto;
export type TensorProto = import('onnx-proto').onnx.ITensorProto;

/** int64 fields decode as Long objects (long.js present) or numbers. */
export const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'object' && v && 'toNumber' in v ? (v as { toNumber(): number }).toNumber() : Number(v));

export const EXTERNAL = 1; // TensorProto.DataLocation.EXTERNAL

export interface ExternalRef {
  location: string;
  offset: number;
  length: number;
}

export function externalRef(t: TensorProto): ExternalRef | undefined {
  if (t.dataLocation !== EXTERNAL && !t.externalData?.length) return undefined;
  const kv = new Map((t.externalData ?? []).map((e) => [e.key ?? '', e.value ?? '']));
  const location = kv.get('location');
  if (!location) throw new ConvertError(`initializer ${t.name} is marked external but names no location`);
  return { location, offset: Number(kv.get('offset') ?? 0), length: kv.has('length') ? Number(kv.get('length')) : -1 };
}

export const ELEMENT_BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 16: 2 };

export function tensorBytes(t: TensorProto): number {
  const n = (t.dims ?? []).reduce((a: number, d) => a * num(d), 1);
  return n * (ELEMENT_BYTES[t.dataType ?? 0] ?? 0);
}

export interface LoadedModel {
  path: string;
  dir: string;
  model: ModelProto;
  /** Initializers by name. */
  inits: Map<string, TensorProto>;
  /** External-data files the model refers to, with their sizes. */
  externalFiles: Map<string, number>;
}

export function loadOnnx(path: string, dir: string, label: string): LoadedModel {
  let model: ModelProto;
  try {
    model = onnx.ModelProto.decode(readFileSync(path));
  } catch (e) {
    throw new ConvertError(`${label} is not a readable ONNX model: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!model.graph) throw new ConvertError(`${label} has no graph`);
  const inits = new Map<string, TensorProto>();
  const externalFiles = new Map<string, number>();
  for (const t of model.graph.initializer ?? []) {
    inits.set(t.name ?? '', t);
    const ref = externalRef(t);
    if (!ref) continue;
    if (ref.location.includes('..') || ref.location.startsWith('/')) throw new ConvertError(`${label}: initializer ${t.name} points outside its folder (${ref.location})`);
    if (!externalFiles.has(ref.location)) {
      const p = join(dir, ref.location);
      if (!existsSync(p)) throw new ConvertError(`${label} refers to external data ${ref.location}, which is missing next to it`);
      externalFiles.set(ref.location, statSync(p).size);
    }
    const len = ref.length >= 0 ? ref.length : tensorBytes(t);
    if (ref.offset + len > externalFiles.get(ref.location)!) throw new ConvertError(`${label}: ${ref.location} is truncated (initializer ${t.name} ends at byte ${ref.offset + len} of ${externalFiles.get(ref.location)})`);
  }
  return { path, dir, model, inits, externalFiles };
}
