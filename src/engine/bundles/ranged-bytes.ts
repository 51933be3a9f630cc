// External-data bytes that are read from disk one tensor at a time, while ORT creates the session, instead of being
// read whole into one ArrayBuffer first.
//
// Why: onnxruntime-web (1.30) takes `externalData` only as a Uint8Array, a Blob or a URL, and turns the last two into
// a Uint8Array of the whole file (`blob.arrayBuffer()` / `response.arrayBuffer()`), so every route held a file-sized
// ArrayBuffer in the engine worker for the whole session creation (200 MB of weights → +200 MB). What ORT then does
// with the array is narrow: its external-data loader (one call per initializer, from the wasm side, synchronously)
// checks `offset + length <= data.byteLength` and copies `data.subarray(offset, offset + length)` into wasm memory
// (WASM EP) or a GPU buffer (WebGPU EP). `RangedBytes` is a Uint8Array (so ORT keeps it as it is) whose `byteLength`
// is the file's size and whose `subarray` reads that range synchronously from the stored file (FileReaderSync on a
// Blob slice, available in dedicated workers): the only JS buffer alive at a time is one initializer's bytes.
// "Alive" is enforced, not left to the garbage collector: each read detaches the previous read's buffer
// (`ArrayBuffer.prototype.transfer(0)`), which frees its memory at once. Left to V8, the reads of a 200 MB file in
// 2.7 MB initializers piled up to 146–155 MB of ArrayBuffers in the engine worker during session creation (one long
// task, so no collection), 85–155 MB of it still there after (e2e/measure/bundles.spec.ts).
//
// Everything else about the object is an empty Uint8Array (length 0): it must only be handed to ORT as external data.
// If an ORT update reads it some other way, session creation fails loudly (ORT reports the external data as
// unreadable), never with wrong weights: `subarray` returns exactly the requested bytes or throws, and a view ORT
// kept past the next read is detached (empty), so using it late fails too instead of reading other bytes.

/** Reads bytes [start, end) synchronously. */
export type ReadRange = (start: number, end: number) => Uint8Array;

export class RangedBytes extends Uint8Array {
  readonly #read: ReadRange;
  readonly #size: number;
  #served = 0;
  readonly #onRead?: (served: number, size: number) => void;
  #last?: ArrayBuffer;

  /** The stored file itself, when there is one: what ORT's JSPI build reads ranges from by itself (sessions.ts). */
  readonly source?: Blob;

  constructor(size: number, read: ReadRange, onRead?: (served: number, size: number) => void, source?: Blob) {
    super(0);
    this.source = source;
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`RangedBytes: size must be a byte count, got ${size}`);
    this.#size = size;
    this.#read = read;
    this.#onRead = onRead;
    // lib.d.ts declares byteLength a property of Uint8Array, so it is shadowed here rather than with a getter.
    Object.defineProperty(this, 'byteLength', { get: () => this.#size });
  }

  /** The bytes [begin, end) of the file, read now (a fresh array, never a view of this object). */
  override subarray(begin = 0, end: number = this.#size): Uint8Array<ArrayBuffer> {
    if (begin < 0) begin += this.#size;
    if (end < 0) end += this.#size;
    if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end > this.#size || end < begin) {
      throw new RangeError(`RangedBytes: range [${begin}, ${end}) is outside the file (${this.#size} bytes)`);
    }
    this.release();
    const out = this.#read(begin, end);
    if (out.byteLength !== end - begin) throw new RangeError(`RangedBytes: read ${out.byteLength} bytes for [${begin}, ${end})`);
    this.#served += out.byteLength;
    this.#onRead?.(Math.min(this.#served, this.#size), this.#size);
    this.#last = out.buffer as ArrayBuffer;
    return out as Uint8Array<ArrayBuffer>;
  }

  /** Reports the whole file as read: ORT read it from `source` itself, so no range went through `subarray`. */
  readBySource(): void {
    this.#served = this.#size;
    this.#onRead?.(this.#size, this.#size);
  }

  /** Frees the last read's bytes now (its array becomes empty); also done by every read. Call when ORT is done. */
  release(): void {
    const last = this.#last;
    this.#last = undefined;
    // transfer() exists in Chromium 114+, Firefox 122+, Safari 17.4+, Node 21+; elsewhere the collector frees it.
    (last as { transfer?: (n: number) => ArrayBuffer } | undefined)?.transfer?.(0);
  }
}

/** Synchronous range reads of a Blob/File, where the platform has FileReaderSync (dedicated workers); else undefined. */
export function blobRangeReader(blob: Blob): ReadRange | undefined {
  const Sync = (globalThis as { FileReaderSync?: new () => { readAsArrayBuffer(b: Blob): ArrayBuffer } }).FileReaderSync;
  if (!Sync) return undefined;
  const reader = new Sync();
  return (start, end) => new Uint8Array(reader.readAsArrayBuffer(blob.slice(start, end)));
}
