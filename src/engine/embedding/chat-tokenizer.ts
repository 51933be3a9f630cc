// The profile encoder's own tokenizer and chat template, through transformers.js, built from the bytes of the
// encoder folder's tokenizer.json + tokenizer_config.json (never a hub request). PSA's text is wrapped as ONE user
// message with the tokenizer's chat template and `add_generation_prompt`, exactly as get_embeds.py did; the real
// Qwen2.5 template inserts its default system message by itself, so nothing is added here.
// transformers.js is loaded here, when an encoder's tokenizer is first built, never with the worker: it is most of
// the engine worker's JavaScript and the first screen does not need it (the app's JavaScript budget).
import type { PreTrainedTokenizer } from '@huggingface/transformers';
import { AppError } from '../../shared/errors';
import type { BundleReader } from '../bundle-reader';


export interface ChatTokenizer {
  tokenizer: PreTrainedTokenizer;
  /** Raw bytes read (for the encoder's identity). */
  files: { path: string; bytes: Uint8Array }[];
}

/** transformers.js wants special tokens as strings or `{__type: 'AddedToken', content}`; some writers omit `__type`. */
function flattenTokens(cfg: Record<string, unknown>): Record<string, unknown> {
  const out = { ...cfg };
  for (const [k, v] of Object.entries(out)) {
    if (k.endsWith('_token') && v && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') out[k] = (v as { content: string }).content;
  }
  return out;
}

export async function loadChatTokenizer(r: BundleReader, folder: string): Promise<ChatTokenizer> {
  const at = (f: string) => (folder ? `${folder}/${f}` : f);
  const files: ChatTokenizer['files'] = [];
  const parse = async (f: string): Promise<Record<string, unknown>> => {
    const bytes = await r.bytes(at(f));
    files.push({ path: at(f), bytes });
    try {
      return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    } catch (e) {
      throw new AppError('BUNDLE_INVALID', `${at(f)} in ${r.label} is not valid JSON (${(e as Error).message})`);
    }
  };
  const json = await parse('tokenizer.json');
  const config = flattenTokens(await parse('tokenizer_config.json'));
  if (typeof config.chat_template !== 'string' && !Array.isArray(config.chat_template)) {
    throw new AppError('BUNDLE_INVALID', `${at('tokenizer_config.json')} in ${r.label} has no chat_template; the profile encoder needs its own chat template`);
  }
  const name = String(config.tokenizer_class ?? '').replace(/Fast$/, '');
  const tf = await import('@huggingface/transformers');
  /** Tokenizer classes whose behaviour differs from the base class (transformers.js picks by `tokenizer_class`). */
  const classes: Record<string, typeof PreTrainedTokenizer> = { Qwen2Tokenizer: tf.Qwen2Tokenizer, LlamaTokenizer: tf.LlamaTokenizer, GemmaTokenizer: tf.GemmaTokenizer };
  const Cls = classes[name] ?? tf.PreTrainedTokenizer;
  try {
    return { tokenizer: new Cls(json, config), files };
  } catch (e) {
    throw new AppError('BUNDLE_INVALID', `the profile encoder's tokenizer in ${folder || '.'}/ of ${r.label} cannot be built: ${(e as Error).message}`);
  }
}

/** PSA's text as one user message through the encoder's chat template, with the assistant header appended. */
export function chatText(tok: PreTrainedTokenizer, text: string): string {
  try {
    return tok.apply_chat_template([{ role: 'user', content: text }], { tokenize: false, add_generation_prompt: true }) as string;
  } catch (e) {
    throw new AppError('BUNDLE_INVALID', `the profile encoder's chat template failed: ${(e as Error).message}`);
  }
}

/** Token ids and attention mask of the chat text, as `tokenizer(text)` gives them (no padding, no truncation). */
export function encodeChat(tok: PreTrainedTokenizer, chat: string): { ids: number[]; mask: number[] } {
  const enc = tok(chat, { return_tensor: false }) as unknown as { input_ids: number[]; attention_mask: number[] };
  return { ids: enc.input_ids, mask: enc.attention_mask };
}
