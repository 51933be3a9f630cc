// The PNG text chunk writer, checked against an independent reader: pngjs (Node only) must still decode the file
// with its CRC check on, its own CRC-32 must agree with ours, and the `parameters` text must read back exactly —
// as tEXt for Latin-1 text, as iTXt (UTF-8) otherwise, as Pillow and so AUTOMATIC1111 write it.
import { PNG } from 'pngjs';
// pngjs's own CRC-32 (its parser uses it to check every chunk): an implementation that is not ours (untyped module).
// @ts-expect-error pngjs ships no types for its lib/ files
import CrcCalculator from 'pngjs/lib/crc.js';
import { describe, expect, it } from 'vitest';
import { crc32, readTextChunks, textChunk, withTextChunk } from '../../src/shared/png-text';

function tinyPng(): Uint8Array {
  const png = new PNG({ width: 3, height: 2 });
  for (let i = 0; i < png.data.length; i++) png.data[i] = (i * 37) & 0xff;
  return new Uint8Array(PNG.sync.write(png));
}

/** The chunk types of a PNG in order, and each chunk's stored CRC next to pngjs's CRC of its type + data. */
function chunks(png: Uint8Array): { type: string; data: Buffer; crcOk: boolean }[] {
  const b = Buffer.from(png);
  const out: { type: string; data: Buffer; crcOk: boolean }[] = [];
  for (let at = 8; at < b.length; ) {
    const len = b.readUInt32BE(at);
    const type = b.toString('latin1', at + 4, at + 8);
    const stored = b.readInt32BE(at + 8 + len);
    out.push({ type, data: b.subarray(at + 8, at + 8 + len), crcOk: (CrcCalculator as { crc32(b: Buffer): number }).crc32(b.subarray(at + 4, at + 8 + len)) === stored });
    at += 12 + len;
  }
  return out;
}

const PARAMS = 'a photo of a cat\nNegative prompt: blurry\nSteps: 8, Sampler: DDIM, CFG scale: 7.5, Seed: 42, Size: 64x64, Model: demo@1.0.0';

describe('PNG text chunks', () => {
  it('crc32 matches the PNG reference values', () => {
    expect(crc32(new TextEncoder().encode('IEND'))).toBe(0xae426082); // the CRC every PNG ends with
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926); // the CRC-32 check value
  });

  it('a Latin-1 text goes in a tEXt chunk right after IHDR; pngjs still decodes the same pixels with CRCs checked', () => {
    const plain = tinyPng();
    const out = withTextChunk(plain, 'parameters', PARAMS);
    expect(chunks(out).map((c) => c.type)).toEqual(['IHDR', 'tEXt', ...chunks(plain).slice(1).map((c) => c.type)]);
    expect(chunks(out).every((c) => c.crcOk)).toBe(true);
    const text = chunks(out).find((c) => c.type === 'tEXt')!.data;
    expect(text.toString('latin1')).toBe(`parameters\0${PARAMS}`);
    const decoded = PNG.sync.read(Buffer.from(out)); // pngjs checks every chunk's CRC unless told not to
    expect(Buffer.from(decoded.data)).toEqual(PNG.sync.read(Buffer.from(plain)).data);
    expect(readTextChunks(out)).toEqual({ parameters: PARAMS });
  });

  it('text beyond Latin-1 (another script, an emoji) goes in an uncompressed iTXt chunk as UTF-8', () => {
    const words = 'ねこの写真 🐱\nSteps: 8, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 64x64, Model: demo@1';
    const out = withTextChunk(tinyPng(), 'parameters', words);
    const c = chunks(out).find((x) => x.type === 'iTXt')!;
    expect(c.crcOk).toBe(true);
    // keyword \0, compression flag 0, method 0, language '' \0, translated '' \0, then UTF-8.
    expect(c.data.subarray(0, 15).toString('latin1')).toBe('parameters\0\0\0\0\0');
    expect(c.data.subarray(15).toString('utf8')).toBe(words);
    expect(() => PNG.sync.read(Buffer.from(out))).not.toThrow();
    expect(readTextChunks(out)).toEqual({ parameters: words });
  });

  it('refuses what is not a PNG and keywords the PNG spec does not allow', () => {
    expect(() => withTextChunk(new Uint8Array(40), 'parameters', 'x')).toThrow(/not a PNG/);
    expect(() => textChunk('', 'x')).toThrow(/keyword/);
    expect(() => textChunk(' lead', 'x')).toThrow(/keyword/);
    expect(() => textChunk('k'.repeat(80), 'x')).toThrow(/keyword/);
    expect(textChunk('k'.repeat(79), 'x').length).toBe(12 + 79 + 1 + 1);
  });
});
