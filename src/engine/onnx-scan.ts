// What a public ONNX export's `.onnx` says about itself, read from the protobuf without loading any weights:
// which external-data files its initializers live in (each TensorProto's `external_data` entries `location`,
// `offset`, `length`) and whether the graph computes in float16 (a float16 graph input or initializer).
//
// Why: public exports name their weight files however their tool chose — Optimum writes `model.onnx_data`, older
// diffusers SD exports `weights.pb`, `onnx.save_model(..., location=…)` any name, and `all_tensors_to_one_file=False`
// one file per tensor. Guessing names downloads the wrong files or none; the graph itself says which it needs.
// fp16 is read from the graph too, not from a file name: an Optimum `--dtype fp16` export keeps the plain
// `model.onnx` name.
//
// The scan reads through `RangeRead` in windows, so a caller can hand it a File slice, an HTTP Range request or
// bytes already in memory: an inline-weights model (the 492 MB text encoder) costs only its field headers, since
// `raw_data` is skipped by its length. Only the fields above are decoded; everything else is skipped.

import { AppError } from '../shared/errors';

/** Reads bytes [start, end) of the file (end ≤ size). May return fewer bytes only at the end of the file. */
export type RangeRead = (start: number, end: number) => Promise<Uint8Array>;

export interface ExternalFile {
  /** The `location` string exactly as the model writes it (relative to the .onnx's folder). */
  location: string;
  /** The least size the file must have: the largest offset + length of a tensor stored in it. */
  minBytes: number;
  /** Initializers stored in it. */
  tensors: number;
}

export interface OnnxFacts {
  /** External-data files in the order the initializers first name them. */
  externalFiles: ExternalFile[];
  /** Graph inputs with their ONNX element type (1 float, 10 float16, 7 int64, …; 0 when not a tensor). */
  inputs: { name: string; elem: number }[];
  /** Initializers by element type (count), e.g. {1: 120, 7: 3}. */
  initializerTypes: Record<number, number>;
  /** A graph input or an initializer is float16: the model computes in fp16 (needs shader-f16 on WebGPU). */
  float16: boolean;
}

export const ONNX_FLOAT16 = 10;
/** Bytes per element of the ONNX types an initializer without `length` may have (to size it from its dims). */
const ELEM_BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2 };

/** A buffered cursor over a RangeRead: windows of `window` bytes, re-read only when the cursor leaves them. */
class Source {
  #buf: Uint8Array = new Uint8Array(0);
  #at = 0;
  constructor(private readonly read: RangeRead, readonly size: number, private readonly window: number) {}

  async byte(pos: number): Promise<number> {
    if (pos < this.#at || pos >= this.#at + this.#buf.length) await this.#fill(pos, 1);
    return this.#buf[pos - this.#at];
  }

  async bytes(pos: number, len: number): Promise<Uint8Array> {
    if (pos < this.#at || pos + len > this.#at + this.#buf.length) await this.#fill(pos, len);
    return this.#buf.subarray(pos - this.#at, pos - this.#at + len);
  }

  async #fill(pos: number, len: number): Promise<void> {
    if (pos + len > this.size) throw new Error(`truncated: a field runs to byte ${pos + len}, past the end (${this.size} bytes)`);
    const end = Math.min(this.size, pos + Math.max(len, this.window));
    const b = await this.read(pos, end);
    if (b.length < len) throw new Error(`truncated: read ${b.length} bytes at ${pos}, needed ${len}`);
    this.#buf = b;
    this.#at = pos;
  }
}

async function varint(s: Source, pos: number): Promise<[number, number]> {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    const x = await s.byte(pos++);
    v += (x & 0x7f) * mul;
    if (x < 0x80) return [v, pos];
    mul *= 128;
  }
  throw new Error(`varint longer than 10 bytes at ${pos}`);
}

interface Field {
  field: number;
  wire: number;
  /** Value start/end for length-delimited fields; for varints start = end = after the value. */
  start: number;
  end: number;
  /** The varint's value (wire 0) or the length (wire 2). */
  value: number;
}

/** The fields of the message in [start, end), in order; values are not read (length-delimited ones are skipped). */
async function* fields(s: Source, start: number, end: number): AsyncGenerator<Field> {
  let pos = start;
  while (pos < end) {
    let key: number;
    [key, pos] = await varint(s, pos);
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (field === 0) throw new Error(`field number 0 at byte ${pos}`);
    if (wire === 0) {
      let v: number;
      [v, pos] = await varint(s, pos);
      yield { field, wire, start: pos, end: pos, value: v };
    } else if (wire === 2) {
      let len: number;
      [len, pos] = await varint(s, pos);
      if (pos + len > end) throw new Error(`truncated: field ${field} (${len} bytes at ${pos}) runs past its message (ends at ${end})`);
      yield { field, wire, start: pos, end: pos + len, value: len };
      pos += len;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new Error(`unsupported protobuf wire type ${wire} at byte ${pos}`);
  }
  if (pos !== end) throw new Error(`truncated: a field runs past its message end (${end})`);
}

const utf8 = new TextDecoder();
const text = async (s: Source, f: Field) => utf8.decode(await s.bytes(f.start, f.value));

interface Tensor {
  name: string;
  type: number;
  dims: number[];
  external: boolean;
  entries: Map<string, string>;
}

async function readTensor(s: Source, start: number, end: number): Promise<Tensor> {
  const t: Tensor = { name: '', type: 0, dims: [], external: false, entries: new Map() };
  for await (const f of fields(s, start, end)) {
    if (f.field === 1 && f.wire === 0) t.dims.push(f.value);
    else if (f.field === 1 && f.wire === 2) {
      // packed dims
      for (let p = f.start; p < f.end; ) {
        let d: number;
        [d, p] = await varint(s, p);
        t.dims.push(d);
      }
    } else if (f.field === 2 && f.wire === 0) t.type = f.value;
    else if (f.field === 8 && f.wire === 2) t.name = await text(s, f);
    else if (f.field === 14 && f.wire === 0) t.external = f.value === 1;
    else if (f.field === 13 && f.wire === 2) {
      let key = '';
      let value = '';
      for await (const e of fields(s, f.start, f.end)) {
        if (e.field === 1 && e.wire === 2) key = await text(s, e);
        else if (e.field === 2 && e.wire === 2) value = await text(s, e);
      }
      t.entries.set(key, value);
    }
  }
  return t;
}

/** Element type of a ValueInfoProto's tensor type (0 when it is not a tensor). */
async function readValueInfo(s: Source, start: number, end: number): Promise<{ name: string; elem: number }> {
  let name = '';
  let elem = 0;
  for await (const f of fields(s, start, end)) {
    if (f.field === 1 && f.wire === 2) name = await text(s, f);
    else if (f.field === 2 && f.wire === 2) {
      for await (const t of fields(s, f.start, f.end)) {
        if (t.field !== 1 || t.wire !== 2) continue; // TypeProto.tensor_type
        for await (const e of fields(s, t.start, t.end)) if (e.field === 1 && e.wire === 0) elem = e.value;
      }
    }
  }
  return { name, elem };
}

/**
 * Scans a serialized ONNX ModelProto of `size` bytes. `label` names the file in errors (MODEL_FILE_CORRUPT for
 * bytes that are not a protobuf model, BUNDLE_INVALID for an external-data entry without a location).
 */
export async function scanOnnx(read: RangeRead, size: number, label: string, window = 1 << 16): Promise<OnnxFacts> {
  const s = new Source(read, size, window);
  const facts: OnnxFacts = { externalFiles: [], inputs: [], initializerTypes: {}, float16: false };
  const files = new Map<string, ExternalFile>();
  let graphs = 0;
  try {
    for await (const m of fields(s, 0, size)) {
      if (m.field !== 7 || m.wire !== 2) continue; // ModelProto.graph (several are merged, as protobuf does)
      graphs++;
      for await (const g of fields(s, m.start, m.end)) {
        if (g.wire !== 2) continue;
        if (g.field === 11) facts.inputs.push(await readValueInfo(s, g.start, g.end));
        else if (g.field === 5) {
          const t = await readTensor(s, g.start, g.end);
          facts.initializerTypes[t.type] = (facts.initializerTypes[t.type] ?? 0) + 1;
          if (!t.external && !t.entries.size) continue;
          const location = t.entries.get('location');
          if (!location) throw new AppError('BUNDLE_INVALID', `${label}: initializer ${t.name || '(unnamed)'} is stored externally but names no location`);
          const offset = Number(t.entries.get('offset') ?? 0);
          const length = t.entries.has('length') ? Number(t.entries.get('length')) : t.dims.reduce((a, d) => a * d, 1) * (ELEM_BYTES[t.type] ?? 0);
          if (!Number.isFinite(offset) || !Number.isFinite(length) || offset < 0 || length < 0) {
            throw new AppError('BUNDLE_INVALID', `${label}: initializer ${t.name} has a bad external-data offset/length (${t.entries.get('offset')}, ${t.entries.get('length')})`);
          }
          let f = files.get(location);
          if (!f) files.set(location, (f = { location, minBytes: 0, tensors: 0 }));
          f.minBytes = Math.max(f.minBytes, offset + length);
          f.tensors++;
        }
      }
    }
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw new AppError('MODEL_FILE_CORRUPT', `${label} is not a readable ONNX model (${(e as Error).message})`);
  }
  if (!graphs) throw new AppError('MODEL_FILE_CORRUPT', `${label} is not a readable ONNX model (no graph in its ${size} bytes)`);
  facts.externalFiles = [...files.values()];
  facts.float16 = facts.inputs.some((i) => i.elem === ONNX_FLOAT16) || (facts.initializerTypes[ONNX_FLOAT16] ?? 0) > 0;
  return facts;
}

/** scanOnnx over bytes already in memory. */
export function scanOnnxBytes(bytes: Uint8Array, label: string): Promise<OnnxFacts> {
  return scanOnnx(async (a, b) => bytes.subarray(a, b), bytes.length, label, bytes.length || 1);
}

/** scanOnnx over a Blob/File: reads only the slices the scan needs. */
export function scanOnnxBlob(blob: Blob, label: string): Promise<OnnxFacts> {
  return scanOnnx(async (a, b) => new Uint8Array(await blob.slice(a, b).arrayBuffer()), blob.size, label);
}
