// Writes an ONNX model whose initializers may live in external-data files, streaming: tensors already external in
// the source are copied from their source file through one reused buffer (never the whole file in memory), inline
// tensors ≥ `minExternalBytes` are moved out, and the output files are hashed (SHA-256) as they are written.
// External data is cut into chunks of at most `chunkBytes` (`model.onnx_data`, `model.onnx_data_1`, …, as
// transformers.js names them): a browser reads each chunk into one ArrayBuffer (≈ 2 GB cap in Chrome) and ORT-web
// needs each file under 4 GiB. A tensor is never split across chunks.
import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ConvertError } from './errors';
import { externalRef, onnx, tensorBytes, EXTERNAL, type LoadedModel } from './onnx-model';

export interface WrittenFile {
  /** File name inside the output folder. */
  name: string;
  bytes: number;
  sha256: string;
}
export interface WrittenModel {
  model: WrittenFile;
  externalData: WrittenFile[];
}

export interface WriteOptions {
  /** Output folder (exists). */
  dir: string;
  fileName?: string;
  /** true: every tensor ≥ minExternalBytes goes to external data; false: all inline (source must be inline). */
  external: boolean;
  chunkBytes?: number;
  minExternalBytes?: number;
  /** Copy buffer size. */
  bufferBytes?: number;
}

const ALIGN = 64;

/** External-data files of at most `chunkBytes`, 64-byte aligned entries, each hashed while written. */
export class ChunkWriter {
  readonly files: WrittenFile[] = [];
  private fd = -1;
  private hash: Hash | undefined;
  private size = 0;
  constructor(
    private readonly dir: string,
    private readonly base: string,
    private readonly chunkBytes: number,
  ) {}
  get name(): string {
    return this.files.length <= 1 ? this.base : `${this.base}_${this.files.length - 1}`;
  }
  /** Reserves room for `n` bytes; returns [location, offset]. */
  begin(n: number): [string, number] {
    const pad = (ALIGN - (this.size % ALIGN)) % ALIGN;
    if (this.fd < 0 || (this.size > 0 && this.size + pad + n > this.chunkBytes)) this.open();
    else if (pad) this.write(new Uint8Array(pad));
    return [this.name, this.size];
  }
  write(b: Uint8Array): void {
    let off = 0;
    while (off < b.length) off += writeSync(this.fd, b, off, b.length - off);
    this.hash!.update(b);
    this.size += b.length;
  }
  private open(): void {
    this.close();
    this.files.push({ name: '', bytes: 0, sha256: '' });
    this.files[this.files.length - 1].name = this.name;
    this.fd = openSync(join(this.dir, this.name), 'w');
    this.hash = createHash('sha256');
    this.size = 0;
  }
  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    const f = this.files[this.files.length - 1];
    f.bytes = this.size;
    f.sha256 = this.hash!.digest('hex');
    this.fd = -1;
  }
}

/** int64 / int32 tensors under 1 KiB: shapes, axes, indices (never weights); kept inline even where weights go out. */
export const isShapeLike = (dataType: number | null | undefined, bytes: number): boolean => (dataType === 7 || dataType === 6) && bytes < 1024;

export function writeModel(src: LoadedModel, opts: WriteOptions): WrittenModel {
  const fileName = opts.fileName ?? 'model.onnx';
  const chunk = new ChunkWriter(opts.dir, `${fileName}_data`, opts.chunkBytes ?? 1 << 30);
  const minExt = opts.minExternalBytes ?? 1024;
  const buf = Buffer.allocUnsafe(opts.bufferBytes ?? 16 << 20);
  const srcFds = new Map<string, number>();
  try {
    for (const t of src.model.graph!.initializer ?? []) {
      const ref = externalRef(t);
      if (!opts.external) {
        if (ref) throw new ConvertError(`${src.path}: cannot write initializer ${t.name} inline (it is external in the source)`);
        continue;
      }
      const n = ref ? (ref.length >= 0 ? ref.length : tensorBytes(t)) : t.rawData?.length ?? 0;
      // Small, typed-field and shape-like (integer, < 1 KiB) tensors stay inline: ORT reads shape tensors while it
      // builds a session, and cannot read them from external data there ("Cannot parse data from external tensors").
      if (!ref && (n < minExt || !t.rawData?.length || isShapeLike(t.dataType, n))) continue;
      const [location, offset] = chunk.begin(n);
      if (ref) {
        let fd = srcFds.get(ref.location);
        if (fd === undefined) srcFds.set(ref.location, (fd = openSync(join(src.dir, ref.location), 'r')));
        for (let done = 0; done < n; ) {
          const want = Math.min(buf.length, n - done);
          const got = readSync(fd, buf, 0, want, ref.offset + done);
          if (got <= 0) throw new ConvertError(`${src.path}: ${ref.location} ended early while copying ${t.name}`);
          chunk.write(buf.subarray(0, got));
          done += got;
        }
      } else {
        chunk.write(t.rawData!);
      }
      t.rawData = new Uint8Array(0);
      t.dataLocation = EXTERNAL;
      t.externalData = [
        onnx.StringStringEntryProto.create({ key: 'location', value: location }),
        onnx.StringStringEntryProto.create({ key: 'offset', value: String(offset) }),
        onnx.StringStringEntryProto.create({ key: 'length', value: String(n) }),
      ];
    }
  } finally {
    chunk.close();
    for (const fd of srcFds.values()) closeSync(fd);
  }
  const bytes = onnx.ModelProto.encode(src.model).finish();
  const fd = openSync(join(opts.dir, fileName), 'w');
  try {
    writeSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
  return { model: { name: fileName, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }, externalData: chunk.files };
}
