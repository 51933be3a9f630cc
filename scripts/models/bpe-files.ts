// Shared pieces of the byte-level BPE tokenizers the generator writes: GPT-2/CLIP's byte→unicode alphabet,
// JSON serialization that keeps vocab order (JS objects reorder integer-like keys), and the slow-tokenizer form
// `vocab.json` + `merges.txt` ("#version: 0.2" header) that HF/Optimum folders carry next to tokenizer.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** GPT-2/CLIP `bytes_to_unicode()`: the 256 byte characters, in the order of Python's `.values()` (vocab order). */
export function byteAlphabet(): { chars: string[]; byteToChar: string[] } {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const byteToChar: string[] = new Array(256);
  bs.forEach((b, i) => (byteToChar[b] = String.fromCharCode(cs[i])));
  return { chars: cs.map((c) => String.fromCharCode(c)), byteToChar };
}

/** A vocabulary kept as token → id in id order. */
export type Vocab = Map<string, number>;
export type Merge = [string, string];

/**
 * JSON.stringify that writes a Map as an object in its own insertion order (for vocabularies) and leaves every
 * other value to JSON.stringify. `indent` pretty-prints objects and arrays of objects, but keeps a Map and arrays of
 * scalars/pairs on one line so a 49k-entry vocab stays compact.
 */
export function orderedJson(value: unknown, indent = 0, depth = 0): string {
  const pad = indent ? '\n' + ' '.repeat(indent * (depth + 1)) : '';
  const end = indent ? '\n' + ' '.repeat(indent * depth) : '';
  const sep = indent ? ': ' : ':';
  if (value instanceof Map) {
    const parts: string[] = [];
    for (const [k, v] of value) parts.push(JSON.stringify(String(k)) + ':' + JSON.stringify(v));
    return '{' + parts.join(',') + '}';
  }
  if (Array.isArray(value)) {
    const simple = value.every((v) => v === null || typeof v !== 'object' || (Array.isArray(v) && v.every((x) => typeof x !== 'object')));
    if (simple || !indent) return '[' + value.map((v) => orderedJson(v, 0)).join(',') + ']';
    return '[' + value.map((v) => pad + orderedJson(v, indent, depth + 1)).join(',') + end + ']';
  }
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    if (!entries.length) return '{}';
    return '{' + entries.map(([k, v]) => pad + JSON.stringify(k) + sep + orderedJson(v, indent, depth + 1)).join(',') + end + '}';
  }
  return JSON.stringify(value);
}

export function vocabJson(vocab: Vocab): string {
  return orderedJson(vocab);
}

export function mergesTxt(merges: readonly Merge[]): string {
  return '#version: 0.2\n' + merges.map(([a, b]) => `${a} ${b}`).join('\n') + '\n';
}

/** Writes the slow-tokenizer pair `vocab.json` + `merges.txt` into `dir`; returns the file names written. */
export function writeVocabAndMerges(dir: string, vocab: Vocab, merges: readonly Merge[]): string[] {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'vocab.json'), vocabJson(vocab));
  writeFileSync(join(dir, 'merges.txt'), mergesTxt(merges));
  return ['vocab.json', 'merges.txt'];
}

/** Writes `obj` as pretty JSON (2 spaces, trailing newline). */
export function writeJson(path: string, obj: unknown): void {
  writeFileSync(path, orderedJson(obj, 2) + '\n');
}
