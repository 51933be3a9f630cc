// A small read-only zip reader, enough for archives written by torch.save (PyTorch's miniz writer: entries stored
// uncompressed, 64-byte aligned through padding in the local header's extra field) and for ordinary deflated
// entries (Node's zlib). Zip64 archives are refused by name: PSA's adapter is tens of MB.
import { inflateRawSync } from 'node:zlib';
import { ConvertError } from './errors';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

const EOCD_SIG = 0x06054b50;
const CEN_SIG = 0x02014b50;
const LOC_SIG = 0x04034b50;

export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();

  /** `label` names the file in errors. */
  constructor(
    private readonly buf: Buffer,
    private readonly label: string,
  ) {
    // The end-of-central-directory record sits in the last 22 + ≤ 65535 (comment) bytes.
    let eocd = -1;
    for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
      if (buf.readUInt32LE(i) === EOCD_SIG) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw new ConvertError(`${label} is truncated or not a zip archive (no end-of-central-directory record)`);
    const count = buf.readUInt16LE(eocd + 10);
    const cdSize = buf.readUInt32LE(eocd + 12);
    const cdOffset = buf.readUInt32LE(eocd + 16);
    if (count === 0xffff || cdOffset === 0xffffffff) throw new ConvertError(`${label} is a zip64 archive, which this reader does not support`);
    if (cdOffset + cdSize > eocd) throw new ConvertError(`${label} is truncated: its central directory points past the end of the file`);
    let p = cdOffset;
    for (let k = 0; k < count; k++) {
      if (p + 46 > buf.length || buf.readUInt32LE(p) !== CEN_SIG) throw new ConvertError(`${label} is corrupt: bad central-directory entry ${k}`);
      const method = buf.readUInt16LE(p + 10);
      const compressedSize = buf.readUInt32LE(p + 20);
      const size = buf.readUInt32LE(p + 24);
      const nameLen = buf.readUInt16LE(p + 28);
      const extraLen = buf.readUInt16LE(p + 30);
      const commentLen = buf.readUInt16LE(p + 32);
      const localHeaderOffset = buf.readUInt32LE(p + 42);
      const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
      this.entries.set(name, { name, method, compressedSize, size, localHeaderOffset });
      p += 46 + nameLen + extraLen + commentLen;
    }
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  read(name: string): Buffer {
    const e = this.entries.get(name);
    if (!e) throw new ConvertError(`${this.label} has no entry ${name}`);
    const p = e.localHeaderOffset;
    if (p + 30 > this.buf.length || this.buf.readUInt32LE(p) !== LOC_SIG) throw new ConvertError(`${this.label} is corrupt: bad local header for ${name}`);
    const start = p + 30 + this.buf.readUInt16LE(p + 26) + this.buf.readUInt16LE(p + 28);
    const end = start + e.compressedSize;
    if (end > this.buf.length) throw new ConvertError(`${this.label} is truncated: entry ${name} runs past the end of the file`);
    const raw = this.buf.subarray(start, end);
    if (e.method === 0) return raw;
    if (e.method === 8) return inflateRawSync(raw);
    throw new ConvertError(`${this.label}: entry ${name} uses zip compression method ${e.method} (only stored and deflate are read)`);
  }
}
