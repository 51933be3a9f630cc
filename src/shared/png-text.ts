// Text chunks in a PNG file: writes one keyword/text pair into an encoded PNG (right after IHDR) and reads them back.
// The gallery uses it to put an AUTOMATIC1111-style `parameters` text into each saved picture, so the file carries
// its own settings wherever it is copied. A browser's canvas encodes the pixels; this only splices bytes, so no PNG
// library is needed in the page (pngjs stays a Node-only devDependency). Like Pillow (which A1111 uses), the text
// goes in a tEXt chunk when it is Latin-1 and in an uncompressed iTXt chunk (UTF-8) otherwise: a prompt in any
// language survives, and readers that know A1111 files find it under the same keyword either way.

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

let crcTable: Uint32Array | undefined;

/** CRC-32 (ISO 3309, as PNG uses) of `bytes`. */
export function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const isPng = (png: Uint8Array) => png.length >= 8 + 25 && SIGNATURE.every((b, i) => png[i] === b);
const typeAt = (png: Uint8Array, at: number) => String.fromCharCode(png[at + 4], png[at + 5], png[at + 6], png[at + 7]);
const lengthAt = (png: Uint8Array, at: number) => new DataView(png.buffer, png.byteOffset + at, 4).getUint32(0);
const isLatin1 = (s: string) => /^[\u0000-\u00ff]*$/.test(s);

/** One chunk: length, type, data, CRC over type + data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

const latin1 = (s: string) => Uint8Array.from(s, (ch) => ch.charCodeAt(0));
/** Bytes as Latin-1 text (a loop, not fromCharCode(...bytes): a long text would overflow the argument list). */
const fromLatin1 = (bytes: Uint8Array) => {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
};

/** The chunk for keyword + text: tEXt when the text is Latin-1, else iTXt (no compression, no language tag). */
export function textChunk(keyword: string, text: string): Uint8Array {
  // The PNG spec: 1–79 Latin-1 printable characters, no leading/trailing/double spaces; ours are fixed names.
  if (!/^[\x21-\x7e](?:[\x20-\x7e]{0,77}[\x21-\x7e])?$/.test(keyword)) throw new Error(`not a PNG text keyword: ${JSON.stringify(keyword)}`);
  if (isLatin1(text)) return chunk('tEXt', latin1(`${keyword}\0${text}`));
  const utf8 = new TextEncoder().encode(text);
  // keyword \0, compression flag 0, method 0, empty language tag \0, empty translated keyword \0, then UTF-8 text.
  const head = latin1(`${keyword}\0\0\0\0\0`);
  const data = new Uint8Array(head.length + utf8.length);
  data.set(head);
  data.set(utf8, head.length);
  return chunk('iTXt', data);
}

/** `png` with a text chunk for keyword + text inserted right after IHDR (where Pillow writes its text chunks). */
export function withTextChunk(png: Uint8Array, keyword: string, text: string): Uint8Array<ArrayBuffer> {
  if (!isPng(png) || typeAt(png, 8) !== 'IHDR') throw new Error('not a PNG file (no signature and IHDR)');
  const afterIhdr = 8 + 12 + lengthAt(png, 8);
  const extra = textChunk(keyword, text);
  const out = new Uint8Array(png.length + extra.length);
  out.set(png.subarray(0, afterIhdr));
  out.set(extra, afterIhdr);
  out.set(png.subarray(afterIhdr), afterIhdr + extra.length);
  return out;
}

/** Every tEXt and uncompressed iTXt keyword → text in `png` (compressed ones are skipped: we never write them). */
export function readTextChunks(png: Uint8Array): Record<string, string> {
  if (!isPng(png)) throw new Error('not a PNG file');
  const out: Record<string, string> = {};
  for (let at = 8; at + 12 <= png.length; ) {
    const length = lengthAt(png, at);
    const type = typeAt(png, at);
    const data = png.subarray(at + 8, at + 8 + length);
    const nul = data.indexOf(0);
    if (type === 'tEXt' && nul > 0) {
      out[fromLatin1(data.subarray(0, nul))] = fromLatin1(data.subarray(nul + 1));
    } else if (type === 'iTXt' && nul > 0 && data[nul + 1] === 0) {
      const lang = data.indexOf(0, nul + 3);
      const translated = lang < 0 ? -1 : data.indexOf(0, lang + 1);
      if (translated >= 0) out[fromLatin1(data.subarray(0, nul))] = new TextDecoder().decode(data.subarray(translated + 1));
    }
    if (type === 'IEND') break;
    at += 12 + length;
  }
  return out;
}
