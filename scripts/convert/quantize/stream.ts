// Streaming I/O of initializers for the quantizers: reads one source tensor at a time (from its external-data
// file, or inline bytes), and writes new tensors one at a time into ≤ chunkBytes external-data files (hashed as
// written), so the 3.4 GB U-Net is never held whole; with `external: false` (an inline source) they stay inline.
import { openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { ConvertError } from '../errors';
import { externalRef, EXTERNAL, num, onnx, tensorBytes, type LoadedModel, type TensorProto } from '../onnx-model';
import { ChunkWriter, isShapeLike, type WrittenFile } from '../write-model';

/**
 * Grow-only scratch buffers, one per purpose: streaming a 3.4 GB model through fresh per-tensor ArrayBuffers let the
 * garbage pile up to ~1.8 GB resident before V8 collected it; reused buffers keep memory at the largest tensor.
 */
export class Scratch {
  private readonly bufs = new Map<string, ArrayBuffer>();
  /** `bytes` bytes for `purpose` (valid until the next call with the same purpose). */
  get(purpose: string, bytes: number): ArrayBuffer {
    let b = this.bufs.get(purpose);
    if (!b || b.byteLength < bytes) this.bufs.set(purpose, (b = new ArrayBuffer(Math.max(bytes, 1 << 16))));
    return b;
  }
}

/** The raw little-endian bytes of one initializer of `src` (external data is read into `scratch`). */
export function readTensorBytes(src: LoadedModel, t: TensorProto, fds: Map<string, number>, scratch?: Scratch): Uint8Array {
  const ref = externalRef(t);
  if (ref) {
    const n = ref.length >= 0 ? ref.length : tensorBytes(t);
    let fd = fds.get(ref.location);
    if (fd === undefined) fds.set(ref.location, (fd = openSync(join(src.dir, ref.location), 'r')));
    const out = scratch ? new Uint8Array(scratch.get('read', n), 0, n) : new Uint8Array(n);
    for (let done = 0; done < n; ) {
      const got = readSync(fd, out, done, n - done, ref.offset + done);
      if (got <= 0) throw new ConvertError(`${src.path}: ${ref.location} ended early while reading ${t.name}`);
      done += got;
    }
    return out;
  }
  if (t.rawData?.length) return t.rawData;
  if (t.floatData?.length) return new Uint8Array(Float32Array.from(t.floatData).buffer);
  if (t.int64Data?.length) return new Uint8Array(BigInt64Array.from(t.int64Data, (v) => BigInt(num(v))).buffer);
  if (t.int32Data?.length) return new Uint8Array(Int32Array.from(t.int32Data).buffer);
  return new Uint8Array(0);
}

export function asFloat32(bytes: Uint8Array): Float32Array {
  return bytes.byteOffset % 4 === 0 ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4) : new Float32Array(Uint8Array.from(bytes).buffer) // a copy (Buffer#slice would be a view);
}

export class TensorWriter {
  private readonly chunk: ChunkWriter;
  constructor(
    dir: string,
    base: string,
    private readonly external: boolean,
    chunkBytes = 1 << 30,
    private readonly minExternalBytes = 1024,
  ) {
    this.chunk = new ChunkWriter(dir, base, chunkBytes);
  }

  get files(): WrittenFile[] {
    return this.chunk.files;
  }

  /** A tensor proto holding `bytes`: inline when small or not external, else appended to the current chunk. */
  tensor(name: string, dataType: number, dims: number[], bytes: Uint8Array): TensorProto {
    if (!this.external || bytes.length < this.minExternalBytes || isShapeLike(dataType, bytes.length)) return onnx.TensorProto.create({ name, dataType, dims, rawData: bytes.slice() });
    const [location, offset] = this.chunk.begin(bytes.length);
    this.chunk.write(bytes);
    return onnx.TensorProto.create({
      name, dataType, dims, dataLocation: EXTERNAL,
      externalData: [
        onnx.StringStringEntryProto.create({ key: 'location', value: location }),
        onnx.StringStringEntryProto.create({ key: 'offset', value: String(offset) }),
        onnx.StringStringEntryProto.create({ key: 'length', value: String(bytes.length) }),
      ],
    });
  }

  close(): void {
    this.chunk.close();
  }
}
