// One file of an install: resume point → ranged fetch (Range + If-Range after a network error, pause or reload) →
// stream into the store chunk by chunk while hashing incrementally (hash-wasm SHA-256, state saved at checkpoints) →
// verify. Network errors are retried with backoff; a file that fails its hash is deleted and refetched (only that
// one); an answer redirected out of the bundle's folder is refused.

import { createSHA256, type IHasher } from 'hash-wasm';
import { bundleFileUrl } from '../../../shared/bundle';
import { AppError } from '../../../shared/errors';
import { refuseRedirectAway } from '../../bundle-reader';
import { backoffMs, fromBase64, rangeHeaders, readAnswer, resumePoint, toBase64, type FileState } from '../resume';
import type { FileSink, InstallState } from '../store';
import { fmtMB, isQuota, StorageRanOut, type InstallContext, type InstallerEvent } from './context';

/** One file: resume point → ranged fetch → stream into the sink while hashing → verify; retries network errors. */
export async function fetchFile(cx: InstallContext, state: InstallState, f: FileState, emit: (e: InstallerEvent) => void, signal: AbortSignal, onBytes: (loaded: number) => void): Promise<void> {
  const store = cx.store;
  if (state.source.kind === 'import') throw new AppError('INVALID_REQUEST', `${state.name} was imported from the folder "${state.source.folderName}": import that folder again to finish it`);
  const url = bundleFileUrl(state.source.url, f.path);
  let failures = 0;
  for (;;) {
    signal.throwIfAborted();
    const sink = await store.open(state.key, f.path);
    const hasher = await createSHA256();
    let result: 'done' | 'retry' | 'corrupt' = 'retry';
    let reason = '';
    try {
      const rp = resumePoint(f, sink.getSize());
      if (rp.truncateTo !== undefined) sink.truncate(rp.truncateTo);
      if (rp.resetHash) {
        f.offset = 0;
        f.hashState = undefined;
        hasher.init();
      } else hasher.load(fromBase64(f.hashState!));
      const outcome = await stream(cx, state, f, url, sink, hasher, signal, onBytes);
      if (outcome.kind === 'retry') reason = outcome.reason;
      else {
        const got = hasher.digest('hex');
        sink.flush();
        const onDisk = sink.getSize();
        if (onDisk !== f.offset) throw new AppError('MODEL_FILE_CORRUPT', `${f.path}: ${onDisk} bytes are stored but ${f.offset} were written (a storage fault)`);
        if (f.sha256 && got !== f.sha256) {
          result = 'corrupt';
          emit({ type: 'corrupt', key: state.key, path: f.path, expected: f.sha256, got });
          f.corruptCount = (f.corruptCount ?? 0) + 1;
          sink.truncate(0);
          f.offset = 0;
          f.hashState = undefined;
          f.validator = undefined;
          if (f.corruptCount >= 3) throw new AppError('MODEL_FILE_CORRUPT', `${f.path} failed its SHA-256 check ${f.corruptCount} times (expected ${f.sha256}, got ${got}); the host serves a different file than the manifest says`);
        } else {
          result = 'done';
          f.done = true;
          delete f.removed;
          f.actualSha256 = got;
          f.hashState = undefined;
        }
      }
      sink.flush();
    } catch (e) {
      if (isQuota(e)) {
        const kept = state.files.filter((x) => x.done).length;
        throw new StorageRanOut(`storage ran out while writing ${f.path} (${fmtMB(f.offset)} of ${fmtMB(f.bytes ?? f.serverBytes ?? 0)}); the ${kept} finished file${kept === 1 ? ' is' : 's are'} kept — free some space, then resume`);
      }
      if (signal.aborted || e instanceof AppError) throw e;
      reason = (e as Error)?.message ?? String(e);
    } finally {
      sink.close();
      await store.writeState(state);
    }
    if (result === 'done') return;
    if (result === 'corrupt') continue;
    failures++;
    if (failures > cx.maxRetries) {
      throw new AppError('DOWNLOAD_FAILED', `${f.path}: the download failed ${failures} times in a row (last: ${reason}); ${fmtMB(f.offset)} are kept and the download resumes from there`);
    }
    await cx.sleep(backoffMs(failures), signal);
  }
}

/**
 * Streams the rest of a file into the sink. Returns 'complete' when every byte is in, or 'retry' (network trouble;
 * the checkpoint in `f` covers exactly what was written and hashed).
 */
async function stream(cx: InstallContext, state: InstallState, f: FileState, url: string, sink: FileSink, hasher: IHasher, signal: AbortSignal, onBytes: (n: number) => void): Promise<{ kind: 'complete' } | { kind: 'retry'; reason: string }> {
  let from = f.offset;
  const expected = f.bytes ?? f.serverBytes;
  const res = await cx.fetch(url, { headers: rangeHeaders(f, from), signal, cache: 'no-store' });
  if (state.source.kind !== 'import') refuseRedirectAway(res, state.source.url, f.path);
  const ans = readAnswer(from, res.status, res.headers, expected);
  if (ans.kind === 'retry') return { kind: 'retry', reason: `${ans.reason} for ${f.path}` };
  if (ans.kind === 'fail') throw new AppError('DOWNLOAD_FAILED', `${f.path} could not be downloaded from ${url}: ${ans.reason}`);
  if (ans.kind === 'complete') return { kind: 'complete' };
  if (ans.start === 0 && from > 0) {
    // The server sent the whole file (no Range support or a new version behind If-Range): start over.
    sink.truncate(0);
    hasher.init();
    from = 0;
    f.offset = 0;
  }
  if (from === 0) f.validator = res.headers.get('etag') ?? res.headers.get('last-modified') ?? undefined;
  if (ans.total !== undefined && f.bytes === undefined) f.serverBytes = ans.total;
  const total = f.bytes ?? f.serverBytes;
  if (!res.body) throw new AppError('DOWNLOAD_FAILED', `${f.path}: the server sent no body`);
  const next = bodyChunks(res.body);
  let offset = from;
  let sinceCheckpoint = 0;
  let lastCheckpoint = cx.now();
  const checkpoint = async () => {
    sink.flush();
    f.offset = offset;
    f.hashState = toBase64(hasher.save());
    sinceCheckpoint = 0;
    lastCheckpoint = cx.now();
    await cx.store.writeState(state);
  };
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await next();
      } catch (e) {
        if (signal.aborted) throw e;
        await checkpoint();
        return { kind: 'retry', reason: `connection lost in ${f.path} at ${offset} bytes (${(e as Error).message})` };
      }
      if (chunk.done) break;
      const v = chunk.value;
      if (total !== undefined && offset + v.length > total) {
        // Longer than promised: what is there cannot be the right file; the hash check decides after a refetch.
        throw new AppError('MODEL_FILE_CORRUPT', `${f.path}: the host sent more than the ${total} bytes expected`);
      }
      sink.write(v, { at: offset });
      hasher.update(v);
      offset += v.length;
      sinceCheckpoint += v.length;
      onBytes(offset);
      if (sinceCheckpoint >= cx.checkpointBytes || cx.now() - lastCheckpoint > 1000) await checkpoint();
    }
  } catch (e) {
    // Paused or storage full: save what is consistent (written == hashed) before leaving.
    if (signal.aborted || isQuota(e)) await checkpoint().catch(() => undefined);
    throw e;
  }
  await checkpoint();
  if (total !== undefined && offset < total) return { kind: 'retry', reason: `${f.path} ended at ${offset} of ${total} bytes` };
  return { kind: 'complete' };
}

/** Bytes read per step of a download (the reused buffer's size). */
const READ_BYTES = 1 << 20;

/**
 * The body's chunks, each valid until the next call. A byte stream (fetch bodies in browsers and Node) is read with a
 * BYOB reader into one reused 1 MiB buffer, so a download leaves no garbage behind: with default reads every chunk is a
 * fresh ArrayBuffer that V8 frees only at its next collection (measured: the download worker's ArrayBuffer memory
 * peaked at 32 MB for a 20 MB file and 54–72 MB for a 200 MB file). Other streams are read as they come.
 */
function bodyChunks(body: ReadableStream<Uint8Array>): () => Promise<ReadableStreamReadResult<Uint8Array>> {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = body.getReader({ mode: 'byob' });
  } catch {
    const reader = body.getReader();
    return () => reader.read();
  }
  let buf = new ArrayBuffer(READ_BYTES);
  return async () => {
    const r = await byob.read(new Uint8Array(buf));
    // The buffer is transferred into the stream and comes back (detached from the old handle) with the bytes.
    if (r.value) buf = r.value.buffer as ArrayBuffer;
    return r.done ? { done: true, value: undefined } : { done: false, value: r.value! };
  };
}
