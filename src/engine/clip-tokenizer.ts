// The CLIP tokenizer, through transformers.js' tokenizer classes (the BPE is theirs, never ours): loaded from a
// bundle's `tokenizer.json`, or — for an Optimum export that ships only the slow-tokenizer files — from
// `vocab.json` + `merges.txt`, described as the same tokenizer.json CLIP's fast tokenizer uses.
// Encoding follows diffusers' `tokenizer(padding="max_length", max_length=77, truncation=True)`.

// transformers.js is loaded when a tokenizer is first built (dynamic import), not with the engine worker: it is most
// of the worker's JavaScript, and the first screen's JavaScript has a budget (tools/js-budget.mjs).
import type { CLIPTokenizer } from '@huggingface/transformers';
import { CLIP_BOS, CLIP_EOS, CLIP_MAX_LENGTH } from '../shared/contract';
import { AppError } from '../shared/errors';
import { readJson, readJsonIfPresent, readText, type BundleReader } from './bundle-reader';

/** CLIP's pre-tokenization regex (contractions, letter runs, single digits, other symbol runs). */
export const CLIP_SPLIT_REGEX = "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";

/**
 * The HF `tokenizer.json` object for CLIP's byte-level BPE, from its vocabulary and merge list (merges as "a b"
 * strings or [a, b] pairs; the vocabulary as an object, or a Map when the caller serializes it in id order).
 */
export function clipTokenizerJson(
  vocab: Record<string, number> | ReadonlyMap<string, number>,
  merges: readonly (string | readonly [string, string])[],
): Record<string, unknown> {
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(CLIP_BOS, '<|startoftext|>'), special(CLIP_EOS, '<|endoftext|>')],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }] },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: CLIP_SPLIT_REGEX }, behavior: 'Removed', invert: true },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: { type: 'RobertaProcessing', sep: ['<|endoftext|>', CLIP_EOS], cls: ['<|startoftext|>', CLIP_BOS], trim_offsets: false, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<|endoftext|>',
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

/** Merge lines of a `merges.txt` (skipping the `#version` header and blank lines). */
export function parseMerges(text: string): string[] {
  return text.split('\n').map((l) => l.trimEnd()).filter((l) => l && !l.startsWith('#version'));
}

const DEFAULT_CONFIG = {
  tokenizer_class: 'CLIPTokenizer',
  model_max_length: CLIP_MAX_LENGTH,
  bos_token: '<|startoftext|>',
  eos_token: '<|endoftext|>',
  unk_token: '<|endoftext|>',
  pad_token: '<|endoftext|>',
  do_lower_case: true,
};

export type ClipTokenizer = CLIPTokenizer;

/**
 * Special tokens may be saved as objects ({content, lstrip, …}) with or without `__type: "AddedToken"`
 * depending on the transformers version that wrote them; transformers.js accepts only strings or the tagged form.
 */
function flattenTokens(cfg: Record<string, unknown>): Record<string, unknown> {
  const out = { ...cfg };
  for (const [k, v] of Object.entries(out)) {
    if (k.endsWith('_token') && v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') out[k] = (v as { content: string }).content;
  }
  return out;
}

export async function loadClipTokenizer(r: BundleReader, folder: string): Promise<ClipTokenizer> {
  const config = { ...DEFAULT_CONFIG, ...flattenTokens(await readJsonIfPresent(r, `${folder}/tokenizer_config.json`)) };
  let json: Record<string, unknown>;
  if (await r.exists(`${folder}/tokenizer.json`)) {
    json = await readJson(r, `${folder}/tokenizer.json`);
  } else {
    const vocab = await readJson<Record<string, number>>(r, `${folder}/vocab.json`);
    const merges = parseMerges(await readText(r, `${folder}/merges.txt`));
    if (!merges.length) throw new AppError('BUNDLE_INVALID', `${folder}/merges.txt in ${r.label} has no merges`);
    json = clipTokenizerJson(vocab, merges);
  }
  const { CLIPTokenizer } = await import('@huggingface/transformers');
  try {
    return new CLIPTokenizer(json, config);
  } catch (e) {
    throw new AppError('BUNDLE_INVALID', `the tokenizer in ${folder}/ of ${r.label} cannot be built: ${(e as Error).message}`);
  }
}

export interface ClipIds {
  /** Exactly 77 ids: BOS, up to 75 content tokens, EOS, padded with EOS. */
  ids: number[];
  /** Content tokens dropped because they did not fit. */
  truncated: number;
}

/**
 * diffusers/HF CLIP behaviour: content tokens truncated to 75 so BOS and EOS always fit, pad with EOS (49407).
 * We truncate (and report how much) rather than chunk: SD1.5 was trained on 77 tokens, and A1111-style
 * chunking changes the conditioning in ways diffusers' pipeline does not reproduce.
 */
export function encodeClip(tok: ClipTokenizer, text: string): ClipIds {
  const content = tok.encode(text, { add_special_tokens: false }) as number[];
  const room = CLIP_MAX_LENGTH - 2;
  const kept = content.slice(0, room);
  const ids = [CLIP_BOS, ...kept, CLIP_EOS];
  while (ids.length < CLIP_MAX_LENGTH) ids.push(CLIP_EOS);
  return { ids, truncated: Math.max(0, content.length - room) };
}
