// "Remove profile encoder" (engine/bundles/store.ts removeEncoder): on an installed demo bundle (in-memory files,
// records in the IndexedDB index on fake-indexeddb) it deletes exactly the encoder's files, keeps every other file of
// that bundle byte for byte and every file and record of other bundles, and leaves the bundle 'complete' with those
// files marked removed; it refuses a partial bundle and an encoder file without a manifest sha256 (the identity that
// finds cached embeddings could not be computed). encoderPaths covers the layer-group layout too.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freshDatabase } from '../storage/helpers';
import { checkBundleRecord, getBundleRecord } from '../../src/storage/bundles';
import { buildBundles } from '../../scripts/models/bundle';
import { serveBundle, type RunningServer } from '../../scripts/serve-bundle';
import type { BundleManifest } from '../../src/shared/bundle';
import { Installer, type DeviceChoice } from '../../src/engine/bundles/installer';
import { encoderPaths, MemoryStore, type InstallState } from '../../src/engine/bundles/store';

let root: string;
let demoDir: string;
let manifest: BundleManifest;
const cpu: DeviceChoice = { order: ['fp32', 'int8', 'fp16', 'q4'], features: new Set() };

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'psa-encoder-remove-'));
  buildBundles({ outDir: root, bundles: ['demo'] });
  demoDir = join(root, 'demo');
  manifest = JSON.parse(readFileSync(join(demoDir, 'manifest.json'), 'utf8'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeEach(freshDatabase);

/** The demo bundle installed into a fresh in-memory store from `server` (or from a server of its own, closed after). */
async function installed(server?: RunningServer): Promise<{ store: MemoryStore; inst: Installer; state: InstallState }> {
  const s = server ?? (await serveBundle({ dir: demoDir }));
  try {
    const store = new MemoryStore();
    const inst = new Installer({ store, sleep: async () => undefined });
    const plan = await inst.plan(s.url, cpu);
    await inst.run(plan, () => undefined, new AbortController().signal);
    return { store, inst, state: (await store.readState(plan.key))! };
  } finally {
    if (!server) await s.close();
  }
}

describe('removing the profile encoder', () => {
  it('deletes exactly the encoder files; the bundle stays complete, other files and other bundles are untouched', async () => {
    const { store, inst, state } = await installed();
    const enc = manifest.components.profile_encoder!.variants.fp32!;
    expect([...encoderPaths(state).keys()]).toEqual([enc.path, ...(enc.externalData ?? []).map((x) => x.path)]);
    expect(inst.describe(state).encoder).toEqual({ bytes: enc.bytes, removed: false });

    // Another bundle stored next to it (its record as an install writes it, with the same encoder paths).
    const other = { ...state, key: `other-${state.id}@${state.version}`, id: `other-${state.id}` };
    await store.writeState(other);
    for (const f of other.files) await store.writeText(other.key, f.path, `bytes of ${other.key}/${f.path}`);
    const before = new Map(store.files);
    const recordBefore = (await getBundleRecord(state.key))!;

    const after = await store.removeEncoder(state.key);

    const gone = [...before.keys()].filter((k) => !store.files.has(k));
    expect(gone).toEqual([`${state.key}/${enc.path}`]);
    for (const [k, v] of store.files) expect(v === before.get(k), k).toBe(true);
    const record = (await getBundleRecord(state.key))!;
    expect(record.state).toBe('complete');
    expect(checkBundleRecord(record)).toEqual([]);
    expect(record.files.filter((f) => f.removed).map((f) => f.path)).toEqual([enc.path]);
    expect(record.files.find((f) => f.path === enc.path)).toMatchObject({ done: false, offset: 0 });
    expect(record.files.filter((f) => f.path !== enc.path)).toEqual(recordBefore.files.filter((f) => f.path !== enc.path));
    expect(record.storedBytes).toBe(recordBefore.storedBytes - enc.bytes!);
    expect(record.final).toEqual(recordBefore.final);
    expect(await getBundleRecord(other.key)).toMatchObject({ state: 'complete', storedBytes: recordBefore.storedBytes });
    expect((await getBundleRecord(other.key))!.files.some((f) => f.removed)).toBe(false);
    expect(inst.describe(after)).toMatchObject({ state: 'complete', encoder: { bytes: enc.bytes, removed: true } });
  });

  it('downloading the bundle again fetches only the removed encoder files; the bundle is whole again', async () => {
    const s = await serveBundle({ dir: demoDir });
    try {
      const { store, inst, state: plan } = await installed(s);
      await store.removeEncoder(plan.key);
      const enc = manifest.components.profile_encoder!.variants.fp32!;
      const gets = s.log.length;
      const again = await inst.plan(s.url, cpu);
      expect(again.status).toBe('paused');
      const b = await inst.run(again, () => undefined, new AbortController().signal);
      expect(s.log.slice(gets).filter((e) => e.method === 'GET').map((e) => e.path)).toEqual(['/manifest.json', `/${enc.path}`]);
      expect(b).toMatchObject({ state: 'complete', encoder: { bytes: enc.bytes, removed: false } });
      expect(createHash('sha256').update(store.files.get(`${plan.key}/${enc.path}`)!).digest('hex')).toBe(enc.sha256);
      const record = (await getBundleRecord(plan.key))!;
      expect(record.files.every((f) => f.done && !f.removed)).toBe(true);
    } finally {
      await s.close();
    }
  });

  it('refuses a partial bundle and an encoder file without a sha256, changing nothing', async () => {
    const { store, state } = await installed();
    await store.writeState({ ...state, status: 'paused' });
    const err = await store.removeEncoder(state.key).catch((e: unknown) => e);
    expect(String(err)).toMatch(/not completely installed/);
    const m = JSON.parse(state.final.text) as BundleManifest;
    delete m.components.profile_encoder!.variants.fp32!.sha256;
    await store.writeState({ ...state, final: { ...state.final, text: JSON.stringify(m) } });
    const before = new Map(store.files);
    await expect(store.removeEncoder(state.key)).rejects.toThrow(/no sha256 for profile_encoder\/model.onnx/);
    // Same entries, same buffers (identity: a deep compare of the U-Net's bytes is needlessly slow).
    expect([...store.files.keys()]).toEqual([...before.keys()]);
    for (const [k, v] of store.files) expect(v === before.get(k), k).toBe(true);
    expect((await getBundleRecord(state.key))!.files.some((f) => f.removed)).toBe(false);
    await expect(store.removeEncoder('nothing@1')).rejects.toThrow(/not stored/);
  });

  it('encoderPaths: the layer-group set (index, table, groups and their external data), not the tokenizer', () => {
    const ref = (path: string) => ({ path, bytes: 1, sha256: 'a'.repeat(64) });
    const m = {
      components: {},
      profileEncoderGroups: { index: ref('pe/encoder_groups.json'), table: ref('pe/embed_tokens.f16'), groups: [{ ...ref('pe/group_0.onnx'), externalData: [ref('pe/group_0.onnx.data')] }, ref('pe/group_1.onnx')] },
      profileTokenizer: { path: 'pe' },
    };
    const paths = encoderPaths({ layout: 'manifest', final: { path: 'manifest.json', text: JSON.stringify(m) } });
    expect([...paths.keys()].sort()).toEqual(['pe/embed_tokens.f16', 'pe/encoder_groups.json', 'pe/group_0.onnx', 'pe/group_0.onnx.data', 'pe/group_1.onnx']);
    expect(encoderPaths({ layout: 'optimum', final: { path: 'model_index.json', text: '{}' } }).size).toBe(0);
  });
});
