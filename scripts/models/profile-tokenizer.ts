// Small Qwen2-style byte-level BPE tokenizer for the tiny profile encoder: 256 byte tokens + merges learnt
// (deterministically) from PSA's embedding template and profile vocabulary + the ChatML specials
// (<|endoftext|>, <|im_start|>, <|im_end|>), Qwen2's split regex + ByteLevel, NFC normalizer, and a Qwen2.5-style
// ChatML chat template (inserting a default system message) in tokenizer_config.json, so transformers.js
// `apply_chat_template` renders PSA's user message as the real encoder's template does. Also writes vocab.json/merges.txt.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PSA_EMBEDDING_TEMPLATE } from '../../src/safety/embedding-text';
import { byteAlphabet, orderedJson, writeJson, writeVocabAndMerges, type Merge, type Vocab } from './bpe-files';

/** Qwen2's pre-tokenizer regex with its `(?i:…)` group spelled out (JS regexps have no inline flags). */
export const QWEN2_SPLIT_REGEX =
  "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

export const PROFILE_SPECIAL_TOKENS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] as const;

/** The system message the demo's chat template inserts when the conversation has none (Qwen2.5 inserts its own). */
export const DEFAULT_SYSTEM_MESSAGE = 'You are a helpful assistant.';

/**
 * ChatML in Qwen2.5-Instruct's layout (its template without the tool-calling branches): a leading system message is
 * used as given, otherwise the default one is inserted; then each message; then the assistant header when
 * `add_generation_prompt`. So the demo exercises what the real encoder's template does to PSA's single user message.
 */
export const CHATML_TEMPLATE =
  "{%- if messages[0]['role'] == 'system' %}" +
  "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}" +
  '{%- else %}' +
  `{{- '<|im_start|>system\\n${DEFAULT_SYSTEM_MESSAGE}<|im_end|>\\n' }}` +
  '{%- endif %}' +
  '{%- for message in messages %}' +
  "{%- if (message.role == 'user') or (message.role == 'system' and not loop.first) or (message.role == 'assistant') %}" +
  "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}" +
  '{%- endif %}' +
  '{%- endfor %}' +
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

/** Text the merges are learnt from: PSA's embedding template, its profile vocabulary and the chat scaffolding. */
export const PROFILE_TRAINING_TEXT = [
  PSA_EMBEDDING_TEMPLATE,
  'Age: 9 (children) 15 (adolescents) 30 (young adults) 45 (middle-aged) 5 (children) 70 (young elderly)',
  'Gender: male female Religion: Christianity Islam Buddhism nan None',
  'Physical Condition: healthy visual impairment hearing impairment intellectual disability',
  'Mental Condition: healthy depression anxiety war sexual assault major accidents natural disasters',
  "Forbidden Content Categories: ['Harassment', 'Hate', 'Propaganda', 'Self-Harm', 'Sexuality', 'Shocking', 'Violence']",
  'Allowed Content Categories: []',
  DEFAULT_SYSTEM_MESSAGE,
  'user assistant system',
].join('\n');

export const PROFILE_MERGES = 320;

function preTokenize(text: string): string[] {
  return text.normalize('NFC').match(new RegExp(QWEN2_SPLIT_REGEX, 'gu')) ?? [];
}

/** Deterministic BPE training: most frequent adjacent pair first, ties broken by the pair's string order. */
export function trainMerges(text: string, count: number): Merge[] {
  const { byteToChar } = byteAlphabet();
  const enc = new TextEncoder();
  const words = new Map<string, number>();
  for (const w of preTokenize(text)) {
    const s = Array.from(enc.encode(w), (b) => byteToChar[b]).join('\u0000');
    words.set(s, (words.get(s) ?? 0) + 1);
  }
  let seqs = [...words.entries()].map(([s, n]) => ({ toks: s.split('\u0000'), n }));
  const merges: Merge[] = [];
  while (merges.length < count) {
    const counts = new Map<string, number>();
    for (const { toks, n } of seqs) for (let i = 0; i + 1 < toks.length; i++) {
      const k = toks[i] + '\u0000' + toks[i + 1];
      counts.set(k, (counts.get(k) ?? 0) + n);
    }
    let best: string | undefined, bestN = 1;
    for (const [k, n] of counts) if (n > bestN || (n === bestN && best !== undefined && k < best)) [best, bestN] = [k, n];
    if (best === undefined) break; // no pair occurs twice any more
    const [a, b] = best.split('\u0000');
    merges.push([a, b]);
    seqs = seqs.map(({ toks, n }) => {
      const out: string[] = [];
      for (let i = 0; i < toks.length; i++) {
        if (i + 1 < toks.length && toks[i] === a && toks[i + 1] === b) {
          out.push(a + b);
          i++;
        } else out.push(toks[i]);
      }
      return { toks: out, n };
    });
  }
  return merges;
}

export interface ProfileTokenizer {
  vocab: Vocab;
  merges: Merge[];
  /** Ids of the special tokens, in PROFILE_SPECIAL_TOKENS order. */
  specialIds: number[];
  /** Vocabulary size including the specials (the encoder's embedding table must be at least this). */
  size: number;
}

export function profileTokenizer(): ProfileTokenizer {
  const merges = trainMerges(PROFILE_TRAINING_TEXT, PROFILE_MERGES);
  const tokens = [...byteAlphabet().chars, ...merges.map(([a, b]) => a + b)];
  const vocab: Vocab = new Map();
  for (const t of tokens) if (!vocab.has(t)) vocab.set(t, vocab.size);
  const specialIds = PROFILE_SPECIAL_TOKENS.map((t) => {
    vocab.set(t, vocab.size);
    return vocab.size - 1;
  });
  return { vocab, merges, specialIds, size: vocab.size };
}

/** Rows of the profile encoder's embedding table: the vocabulary rounded up to a multiple of 64 (as LLMs pad it). */
export function profileVocabRows(): number {
  return Math.ceil(profileTokenizer().size / 64) * 64;
}

export function writeProfileTokenizer(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const t = profileTokenizer();
  const bpeVocab: Vocab = new Map([...t.vocab].filter(([k]) => !(PROFILE_SPECIAL_TOKENS as readonly string[]).includes(k)));
  const added = PROFILE_SPECIAL_TOKENS.map((content, i) => ({ id: t.specialIds[i], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'NFC' },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: QWEN2_SPLIT_REGEX }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
      ],
    },
    post_processor: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: bpeVocab,
      merges: t.merges,
    },
  };
  const addedTokensDecoder: Record<string, unknown> = {};
  for (const a of added) addedTokensDecoder[String(a.id)] = { content: a.content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true };
  const config = {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: addedTokensDecoder,
    additional_special_tokens: ['<|im_start|>', '<|im_end|>'],
    bos_token: null,
    chat_template: CHATML_TEMPLATE,
    clean_up_tokenization_spaces: false,
    eos_token: '<|im_end|>',
    errors: 'replace',
    model_max_length: 2048,
    pad_token: '<|endoftext|>',
    split_special_tokens: false,
    tokenizer_class: 'Qwen2Tokenizer',
    unk_token: null,
  };
  writeFileSync(join(dir, 'tokenizer.json'), orderedJson(tokenizerJson, 2) + '\n');
  writeJson(join(dir, 'tokenizer_config.json'), config);
  writeJson(join(dir, 'special_tokens_map.json'), { additional_special_tokens: ['<|im_start|>', '<|im_end|>'], eos_token: '<|im_end|>', pad_token: '<|endoftext|>' });
  return ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', ...writeVocabAndMerges(dir, bpeVocab, t.merges)];
}
