// Computing one PSA user embedding: the profile encoder is loaded ONLY for this (the real one is a 4–5 GB
// Qwen2.5-7B): read its files (byte progress) → create the session → chat template + tokenize (transformers.js) →
// one forward pass → masked mean of last_hidden_state in fp32 → release the session, on success, error and cancel
// alike. `liveEncoderSessions()` counts sessions created here and not yet released (tests read it).
import { AppError } from '../../shared/errors';
import type { EmbedResult } from '../../shared/types';
import { externalBytes, type BundleReader } from '../bundle-reader';
import type { InferenceSession, Tensor } from '../ort-types';
import { createSession, inputMeta, type Runtime } from '../sessions';
import { chatText, encodeChat, loadChatTokenizer } from './chat-tokenizer';
import { encoderIdOf, sha256Hex, type EncoderSource } from './encoder-source';
import { gatherRows, readGroupsIndex, runGroups } from './groups';
import { maskedMean } from './pooling';

export type EmbedPhase = 'load' | 'tokenize' | 'run' | 'release';
export type EmbedProgress = (phase: EmbedPhase, loaded?: number, total?: number) => void;

let live = 0;
let created = 0;
/** Profile-encoder sessions currently alive in this realm (0 whenever no embedding is being computed). */
export function liveEncoderSessions(): number {
  return live;
}
/** Profile-encoder sessions created in this realm so far (one per computed embedding). */
export function encoderSessionsCreated(): number {
  return created;
}

function checkAbort(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AppError('CANCELLED', 'the embedding was cancelled');
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

export interface ComputeOptions {
  signal?: AbortSignal;
  onProgress?: EmbedProgress;
  /** Also return the chat text and ids (CLI/tests). */
  details?: boolean;
}

export interface EmbedDetails {
  chat: string;
  ids: number[];
}

export async function computeEmbedding(rt: Runtime, src: EncoderSource, text: string, opts: ComputeOptions = {}): Promise<EmbedResult & { details?: EmbedDetails }> {
  if (typeof text !== 'string' || !text.length) throw new AppError('INVALID_REQUEST', 'the embedding text is empty');
  const t0 = now();
  const { signal, onProgress } = opts;
  const r = src.reader;

  // Tokenizer first: it is small, and a broken template should fail before gigabytes are read.
  onProgress?.('tokenize');
  const { tokenizer, files: tokFiles } = await loadChatTokenizer(r, src.tokenizerFolder);
  const chat = chatText(tokenizer, text);
  const { ids, mask } = encodeChat(tokenizer, chat);
  if (!ids.length) throw new AppError('INVALID_REQUEST', 'the embedding text produced no tokens');
  checkAbort(signal);
  if (src.groups) return computeGrouped(rt, src, { chat, ids, mask, tokFiles, t0 }, opts);

  // Read the model files with one running byte count over all of them.
  const parts = [src.model, ...(src.model.externalData ?? [])];
  const sizes = parts.map((p) => p.bytes ?? 0);
  const done = new Array<number>(parts.length).fill(0);
  const report = (i: number) => (l: number, t: number) => {
    done[i] = l;
    sizes[i] = Math.max(sizes[i], t);
    onProgress?.('load', done.reduce((a, b) => a + b, 0), sizes.reduce((a, b) => a + b, 0));
  };
  onProgress?.('load', 0, sizes.reduce((a, b) => a + b, 0));
  const model = await r.bytes(src.model.path, report(0));
  const externalData: { path: string; data: Uint8Array }[] = [];
  for (let i = 1; i < parts.length; i++) {
    // With the ids from the manifest nothing needs the whole bytes: a stored bundle's external data goes to ORT by
    // range (ranged-bytes.ts); without them every file is hashed for the encoder id, so it is read whole.
    const read = src.id ? externalBytes : (rd: BundleReader, p: string, cb: (l: number, t: number) => void) => rd.bytes(p, cb);
    externalData.push({ path: parts[i].path.split('/').pop()!, data: await read(r, parts[i].path, report(i)) });
  }
  const encoderId = src.id ?? (await encoderIdOf(
    await Promise.all([model, ...externalData.map((x) => x.data)].map((b) => sha256Hex(b))),
    await Promise.all(tokFiles.map((f) => sha256Hex(f.bytes))),
  ));
  checkAbort(signal);

  let session: InferenceSession | undefined = await createSession(rt, model, {
    file: src.model.path,
    role: 'profile_encoder',
    externalData: externalData.length ? externalData : undefined,
  });
  live++;
  created++;
  externalData.length = 0; // the session holds the weights now; drop our copies early
  try {
    checkAbort(signal);
    onProgress?.('run');
    const T = ids.length;
    const { Tensor } = rt.ort;
    const feeds: Record<string, Tensor> = {
      input_ids: new Tensor('int64', BigInt64Array.from(ids, (x) => BigInt(x)), [1, T]),
      attention_mask: new Tensor('int64', BigInt64Array.from(mask, (x) => BigInt(x)), [1, T]),
    };
    // Optimum's decoder exports may take position_ids; Qwen2Model uses 0..T-1 when none are given.
    if (inputMeta(session, 'position_ids')) feeds.position_ids = new Tensor('int64', BigInt64Array.from({ length: T }, (_, i) => BigInt(i)), [1, T]);
    const out = await rt.serial(() => session!.run(feeds, ['last_hidden_state']));
    const h = out.last_hidden_state;
    let embedding: Float32Array;
    try {
      // float16 outputs arrive as raw bits in a Uint16Array (or as numbers in a native Float16Array).
      embedding = maskedMean(h.data as Float32Array | Uint16Array, h.dims, mask, { float16: h.data instanceof Uint16Array });
    } finally {
      h.dispose?.();
    }
    checkAbort(signal);
    const result: EmbedResult & { details?: EmbedDetails } = { embedding, encoderId, tokens: T, ms: 0 };
    if (opts.details) result.details = { chat, ids };
    onProgress?.('release');
    const s = session;
    session = undefined;
    await release(rt, s);
    result.ms = now() - t0;
    return result;
  } finally {
    if (session) await release(rt, session);
  }
}

/** The layer-group path (groups.ts): one group session alive at a time, each counted like the single graph's. */
async function computeGrouped(rt: Runtime, src: EncoderSource, tok: { chat: string; ids: number[]; mask: number[]; tokFiles: { bytes: Uint8Array }[]; t0: number }, opts: ComputeOptions): Promise<EmbedResult & { details?: EmbedDetails }> {
  const folder = src.groups!.folder;
  const shas: Promise<string>[] = [];
  const hooks = {
    signal: opts.signal,
    onProgress: opts.onProgress,
    onCreated: () => (live++, created++),
    onReleased: () => void live--,
    onFile: src.id ? undefined : (_p: string, b: Uint8Array) => void shas.push(sha256Hex(b)),
  };
  const { index, table } = await readGroupsIndex(src.reader, folder, hooks);
  const rows = await gatherRows(src.reader, folder, table, tok.ids, hooks);
  const out = await runGroups(rt, src.reader, folder, index, rows, tok.mask, hooks);
  const embedding = maskedMean(out.data, out.dims, tok.mask, { float16: out.data instanceof Uint16Array });
  const encoderId = src.id ?? (await encoderIdOf(await Promise.all(shas), await Promise.all(tok.tokFiles.map((f) => sha256Hex(f.bytes)))));
  const result: EmbedResult & { details?: EmbedDetails } = { embedding, encoderId, tokens: tok.ids.length, ms: now() - tok.t0 };
  if (opts.details) result.details = { chat: tok.chat, ids: tok.ids };
  return result;
}

async function release(rt: Runtime, s: InferenceSession): Promise<void> {
  try {
    await rt.serial(() => s.release());
  } catch {
    // A failed release leaves nothing we can do; the count still drops so callers see no leak from us.
  } finally {
    live--;
  }
}
