// The download manager's core (engine/bundles/installer.ts) against the real serve-bundle server, with an
// in-memory store: only the runnable variant is fetched; a cut connection resumes with Range + If-Range (also after
// a "reload" = a new Installer reading the saved state); a flipped byte refetches only that file; quota refused up
// front with numbers, and mid-way keeps finished files (listed as a partial bundle); Optimum exports are planned
// from model_index.json; removing one bundle leaves another's files and record. Records go to the IndexedDB index
// (fake-indexeddb here, a fresh database per test).
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freshDatabase } from '../storage/helpers';
import { getBundleRecord, listBundleRecords } from '../../src/storage/bundles';
import { buildBundles } from '../../scripts/models/bundle';
import { serveBundle, type RunningServer } from '../../scripts/serve-bundle';
import { checkManifest, type BundleManifest } from '../../src/shared/bundle';
import { AppError } from '../../src/shared/errors';
import { Installer, type DeviceChoice } from '../../src/engine/bundles/installer';
import { MemoryStore } from '../../src/engine/bundles/store';
import { resumePoint, newFileState } from '../../src/engine/bundles/resume';

let root: string;
let demoDir: string;
let manifest: BundleManifest;
const PARITY = join(import.meta.dirname, '..', '..', 'fixtures', 'parity', 'bundle');
const cpu: DeviceChoice = { order: ['fp32', 'int8', 'fp16', 'q4'], features: new Set() };
const noSleep = async () => undefined;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'psa-installer-'));
  buildBundles({ outDir: root, bundles: ['demo'] });
  demoDir = join(root, 'demo');
  manifest = JSON.parse(readFileSync(join(demoDir, 'manifest.json'), 'utf8'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeEach(freshDatabase);

async function withServer<T>(opts: Omit<Parameters<typeof serveBundle>[0], 'dir'> & { dir?: string }, fn: (s: RunningServer) => Promise<T>): Promise<T> {
  const s = await serveBundle({ dir: demoDir, ...opts });
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const getsOf = (s: RunningServer, path: string) => s.log.filter((e) => e.method === 'GET' && e.path === `/${path}`);

function expectStoredEqualsSource(store: MemoryStore, key: string, dir: string, paths: string[]) {
  for (const p of paths) {
    const stored = store.files.get(`${key}/${p}`);
    expect(stored, p).toBeDefined();
    expect(sha(stored!), p).toBe(sha(readFileSync(join(dir, p))));
  }
}

describe('installer', () => {
  it('installs a psa-web bundle: only the variant the device runs, every hash verified, manifest written last', () =>
    withServer({}, async (s) => {
      const store = new MemoryStore();
      const inst = new Installer({ store, sleep: noSleep });
      const state = await inst.plan(s.url, cpu);
      expect(state.key).toBe(`${manifest.id}@${manifest.version}`);
      expect(state.files.map((f) => f.path)).not.toContain('unet/model.int8.onnx');
      const events: string[] = [];
      const bundle = await inst.run(state, (e) => events.push(e.type), new AbortController().signal);
      expect(bundle.status).toBe('complete');
      expect(bundle.loadUrl).toBe(`opfs:bundles/${state.key}/`);
      expect(events).toContain('progress');
      expectStoredEqualsSource(store, state.key, demoDir, state.files.map((f) => f.path));
      expect(store.files.has(`${state.key}/unet/model.int8.onnx`)).toBe(false);
      expect(getsOf(s, 'unet/model.int8.onnx')).toHaveLength(0);
      const stored = JSON.parse(new TextDecoder().decode(store.files.get(`${state.key}/manifest.json`))) as BundleManifest;
      expect(Object.keys(stored.components.unet.variants)).toEqual(['fp32']);
      expect(checkManifest(stored)).toEqual([]);
      // manifest.json is never fetched as a bundle file: it is written from the plan after the last file.
      expect(getsOf(s, 'manifest.json')).toHaveLength(1);
    }));

  it('reads byte-stream bodies into one reused buffer, other bodies chunk by chunk: the same verified install', () =>
    withServer({}, async (s) => {
      // Bodies re-wrapped as plain (non-byte) streams of odd 1000-byte chunks: getReader({mode: 'byob'}) throws there.
      let plainBodies = 0;
      const plain: typeof fetch = async (input, init) => {
        const res = await fetch(input, init);
        if (!res.body) return res;
        const src = new Uint8Array(await res.arrayBuffer());
        let at = 0;
        const body = new ReadableStream<Uint8Array>({
          pull(c) {
            if (at >= src.length) return c.close();
            c.enqueue(src.slice(at, (at += 1000)));
          },
        });
        plainBodies++;
        return new Response(body, { status: res.status, headers: res.headers });
      };
      for (const [name, f] of [['byte streams', undefined], ['plain streams', plain]] as const) {
        await freshDatabase(); // else the second run finds the bundle installed and fetches nothing
        const store = new MemoryStore();
        const inst = new Installer({ store, sleep: noSleep, fetch: f });
        const state = await inst.plan(s.url, cpu);
        const bundle = await inst.run(state, () => undefined, new AbortController().signal);
        expect(bundle.status, name).toBe('complete');
        // The text encoder (6.4 MB) takes several 1 MiB reads into the same buffer: its stored bytes must still be exact.
        expectStoredEqualsSource(store, state.key, demoDir, state.files.map((x) => x.path));
      }
      expect(plainBodies).toBeGreaterThan(5);
    }));

  it('a connection cut mid-way; after a "reload" (new installer, saved state) it resumes with Range + If-Range and verifies', async () => {
    const total = manifest.files.filter((f) => f.path !== 'unet/model.int8.onnx').reduce((n, f) => n + f.bytes!, 0);
    await withServer({ cutAfter: Math.floor(total / 2), holdAfterCut: true }, async (s) => {
      const store = new MemoryStore();
      const first = new Installer({ store, sleep: noSleep, maxRetries: 1, checkpointBytes: 64 * 1024 });
      const state = await first.plan(s.url, cpu);
      const err = await first.run(state, () => undefined, new AbortController().signal).catch((e) => e as AppError);
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('DOWNLOAD_FAILED');
      const cutEntry = s.log.find((e) => e.cut)!;
      const saved = (await store.readState(state.key))!;
      expect(saved.status).toBe('error');
      const partial = saved.files.find((f) => `/${f.path}` === cutEntry.path)!;
      expect(partial.done).toBe(false);
      expect(partial.offset).toBeGreaterThan(0);
      expect(saved.files.some((f) => f.done)).toBe(true);
      await fetch(`${s.url}__release`);

      const second = new Installer({ store, sleep: noSleep });
      const again = await second.plan(s.url, cpu);
      expect(again.files.find((f) => f.path === partial.path)!.offset).toBe(partial.offset);
      const bundle = await second.run(again, () => undefined, new AbortController().signal);
      expect(bundle.status).toBe('complete');
      const resumed = getsOf(s, partial.path).filter((e) => e.status === 206);
      expect(resumed.length).toBeGreaterThanOrEqual(1);
      expect(resumed[resumed.length - 1].range).toBe(`bytes=${partial.offset}-`);
      expect(resumed[resumed.length - 1].ifRange).toMatch(/^"/);
      expectStoredEqualsSource(store, state.key, demoDir, again.files.map((f) => f.path));
      // Files finished before the cut were not fetched again.
      for (const f of saved.files.filter((x) => x.done)) expect(getsOf(s, f.path).length, f.path).toBe(1);
    });
  });

  it('a flipped byte is detected, reported, and only that file is fetched again', () =>
    withServer({ flip: { path: 'text_encoder/model.onnx', offset: 1000 } }, async (s) => {
      const store = new MemoryStore();
      const inst = new Installer({ store, sleep: noSleep });
      const state = await inst.plan(s.url, cpu);
      const corrupt: { path: string; expected: string; got: string }[] = [];
      await inst.run(state, (e) => e.type === 'corrupt' && corrupt.push(e), new AbortController().signal);
      expect(corrupt.map((c) => c.path)).toEqual(['text_encoder/model.onnx']);
      expect(corrupt[0].expected).toBe(manifest.components.text_encoder.variants.fp32!.sha256);
      expect(corrupt[0].got).not.toBe(corrupt[0].expected);
      expect(getsOf(s, 'text_encoder/model.onnx')).toHaveLength(2);
      for (const f of state.files.filter((x) => x.path !== 'text_encoder/model.onnx')) expect(getsOf(s, f.path).length, f.path).toBe(1);
      expectStoredEqualsSource(store, state.key, demoDir, state.files.map((f) => f.path));
    }));

  it('refuses up front when the quota is short, with the numbers; nothing is written', () =>
    withServer({}, async (s) => {
      const store = new MemoryStore(1_000_000);
      const inst = new Installer({ store, sleep: noSleep });
      const state = await inst.plan(s.url, cpu);
      const err = (await inst.run(state, () => undefined, new AbortController().signal).catch((e) => e)) as AppError;
      expect(err.code).toBe('STORAGE_FULL');
      expect(err.message).toMatch(/needs \d+\.\d MB more, but only 1\.0 MB are free for this site \(quota 1\.0 MB, used 0\.0 MB\)/);
      expect(s.log.filter((e) => e.method === 'GET' && e.path !== '/manifest.json')).toHaveLength(0);
    }));

  it('a quota error mid-way gives a clear message and keeps the finished files', () =>
    withServer({}, async (s) => {
      const store = new MemoryStore();
      const inst = new Installer({ store, sleep: noSleep });
      const state = await inst.plan(s.url, cpu);
      // Enough for everything before the text encoder (the largest file), not for it.
      const te = state.files.findIndex((f) => f.path === 'text_encoder/model.onnx');
      store.quota = state.files.slice(0, te).reduce((n, f) => n + f.bytes!, 0) + 100_000;
      const est = store.estimate;
      store.estimate = async () => ({ usage: 0, quota: 1e12 }); // the up-front check passes; the writes then hit the quota
      const err = (await inst.run(state, () => undefined, new AbortController().signal).catch((e) => e)) as AppError;
      store.estimate = est;
      expect(err.code).toBe('STORAGE_FULL');
      expect(err.message).toMatch(new RegExp(`storage ran out while writing text_encoder/model\\.onnx .*the ${te} finished files are kept`));
      const saved = (await store.readState(state.key))!;
      expect(saved.files.slice(0, te).every((f) => f.done)).toBe(true);
      expectStoredEqualsSource(store, state.key, demoDir, saved.files.slice(0, te).map((f) => f.path));
      expect(store.files.has(`${state.key}/manifest.json`)).toBe(false);
      // The index lists it as partial, with its finished files and the sizes of what is kept.
      const [listed] = await store.listStates();
      expect(listed.key).toBe(state.key);
      const bundle = inst.describe(listed);
      expect(bundle.state).toBe('partial');
      expect(bundle.files.filter((f) => f.done).map((f) => f.path)).toEqual(state.files.slice(0, te).map((f) => f.path));
      expect(bundle.bytes).toBe(state.files.slice(0, te).reduce((n, f) => n + f.bytes!, 0) + saved.files[te].offset);
      const rec = (await getBundleRecord(state.key))!;
      expect(rec).toMatchObject({ state: 'partial', phase: 'error', source: { kind: 'url', url: s.url }, storedBytes: bundle.bytes, totalBytes: bundle.totalBytes });
      expect(rec.error?.code).toBe('STORAGE_FULL');
      // With space again, the same URL resumes it: the finished files are not fetched again.
      store.quota = Number.MAX_SAFE_INTEGER;
      const again = await new Installer({ store, sleep: noSleep }).plan(s.url, cpu);
      expect((await new Installer({ store, sleep: noSleep }).run(again, () => undefined, new AbortController().signal)).state).toBe('complete');
      for (const f of state.files.slice(0, te)) expect(getsOf(s, f.path).length, f.path).toBe(1);
      expectStoredEqualsSource(store, state.key, demoDir, state.files.map((f) => f.path));
    }));

  it('removing a bundle deletes its own folder and record only: another version and another bundle keep theirs', () =>
    withServer({}, async (s) => {
      const store = new MemoryStore();
      const inst = new Installer({ store, sleep: noSleep });
      const a = await inst.plan(s.url, cpu);
      await inst.run(a, () => undefined, new AbortController().signal);
      // The same bundle at another version, and another bundle, stored next to it (their records as an install writes them).
      const other = [{ ...a, key: `${a.id}@9.9.9`, version: '9.9.9' }, { ...a, key: `other-${a.id}@${a.version}`, id: `other-${a.id}` }];
      for (const o of other) {
        await store.writeState(o);
        for (const f of o.files) await store.writeText(o.key, f.path, `bytes of ${o.key}/${f.path}`);
      }
      const before = new Map([...store.files].filter(([k]) => !k.startsWith(`${a.key}/`)));
      expect(before.size).toBe(2 * a.files.length);

      await store.removeBundle(a.key);
      expect([...store.files.keys()].filter((k) => k.startsWith(`${a.key}/`))).toEqual([]);
      expect(await store.readState(a.key)).toBeUndefined();
      expect(new Map(store.files)).toEqual(before);
      expect((await listBundleRecords()).map((r) => r.key).sort()).toEqual(other.map((o) => o.key).sort());
    }));

  it('a psa-web URL is recorded as source kind url (or demo when asked), an install keeps its versioned key', () =>
    withServer({}, async (s) => {
      const store = new MemoryStore();
      const inst = new Installer({ store, sleep: noSleep });
      expect((await inst.plan(s.url, cpu)).source).toEqual({ kind: 'url', url: s.url });
      const demo = await inst.plan(s.url, cpu, undefined, 'demo');
      expect(demo.source).toEqual({ kind: 'demo', url: s.url });
      const bundle = await inst.run(demo, () => undefined, new AbortController().signal);
      expect(bundle.source.kind).toBe('demo');
      expect((await getBundleRecord(`${manifest.id}@${manifest.version}`))!.source).toEqual({ kind: 'demo', url: s.url });
    }));

  it('pause keeps the partial file; a later run continues it', () =>
    withServer({ throttle: 2_000_000 }, async (s) => {
      const store = new MemoryStore();
      const inst = new Installer({ store, sleep: noSleep, checkpointBytes: 64 * 1024 });
      const state = await inst.plan(s.url, cpu);
      const ctrl = new AbortController();
      const err = await inst.run(state, (e) => {
        if (e.type === 'progress' && e.progress.loaded > 2_000_000) ctrl.abort();
      }, ctrl.signal).catch((e) => e as AppError);
      expect((err as AppError).code).toBe('CANCELLED');
      const saved = (await store.readState(state.key))!;
      expect(saved.status).toBe('paused');
      const bundle = await new Installer({ store, sleep: noSleep }).run(saved, () => undefined, new AbortController().signal);
      expect(bundle.status).toBe('complete');
      expect(s.log.some((e) => e.status === 206)).toBe(true);
      expectStoredEqualsSource(store, state.key, demoDir, saved.files.map((f) => f.path));
    }));

  it('an Optimum export is planned from model_index.json and the standard names (HEAD for sizes) and installs', () =>
    withServer({ dir: PARITY }, async (s) => {
      const store = new MemoryStore();
      const inst = new Installer({ store, sleep: noSleep });
      const state = await inst.plan(s.url, cpu);
      expect(state.layout).toBe('optimum');
      expect(state.key).toMatch(/^127\.0\.0\.1-\d+@sha-[0-9a-f]{12}$/);
      expect(state.files.map((f) => f.path).sort()).toEqual([
        'scheduler/scheduler_config.json', 'text_encoder/config.json', 'text_encoder/model.onnx', 'tokenizer/merges.txt',
        'tokenizer/special_tokens_map.json', 'tokenizer/tokenizer_config.json', 'tokenizer/vocab.json', 'unet/config.json', 'unet/model.onnx',
        'vae_decoder/config.json', 'vae_decoder/model.onnx',
      ]);
      expect(state.files.every((f) => (f.bytes ?? 0) > 0)).toBe(true);
      await inst.run(state, () => undefined, new AbortController().signal);
      expectStoredEqualsSource(store, state.key, PARITY, [...state.files.map((f) => f.path), 'model_index.json']);
    }));
});

describe('resume point', () => {
  it('keeps exactly the checkpointed bytes; without a usable hash state it starts over', () => {
    const s = { ...newFileState('a', 100), offset: 40, hashState: 'AAAA' };
    expect(resumePoint(s, 40)).toEqual({ from: 40, resetHash: false, truncateTo: undefined });
    expect(resumePoint(s, 55)).toEqual({ from: 40, resetHash: false, truncateTo: 40 });
    expect(resumePoint(s, 30)).toEqual({ from: 0, resetHash: true, truncateTo: 0 });
    expect(resumePoint({ ...s, hashState: undefined }, 40)).toEqual({ from: 0, resetHash: true, truncateTo: 0 });
    expect(resumePoint(newFileState('b'), -1)).toEqual({ from: 0, resetHash: true, truncateTo: undefined });
  });
});
