// Records of the pre-v4 layout (OPFS bundle-state/<key>.{0,1}.json, two slots with a rising seq) imported into the
// IndexedDB index on the worker's first start (engine/bundles/legacy-records.ts): the newest readable slot wins, old
// source kinds become url/import, the index wins over an old slot, imported slots are deleted (then the folder), an
// unreadable key is left as it was, and a second run finds nothing. The folder is a map here (OPFS is browser-only).
import { beforeEach, describe, expect, it } from 'vitest';
import { freshDatabase } from '../storage/helpers';
import { getBundleRecord, listBundleRecords } from '../../src/storage/bundles';
import { importLegacyRecords, type LegacyStateDir } from '../../src/engine/bundles/legacy-records';
import { MemoryStore, type InstallState } from '../../src/engine/bundles/store';

beforeEach(freshDatabase);

class MapDir implements LegacyStateDir {
  removedSelf = false;
  constructor(readonly files: Map<string, string>) {}
  async names() {
    return [...this.files.keys()];
  }
  async read(name: string) {
    const t = this.files.get(name);
    if (t === undefined) throw new DOMException(name, 'NotFoundError');
    return t;
  }
  async remove(name: string) {
    this.files.delete(name);
  }
  async removeSelfIfEmpty() {
    if (!this.files.size) this.removedSelf = true;
  }
}

/** An old-layout state as the pre-v4 installer wrote it (source kinds psa / optimum / folder). */
function oldState(key: string, over: Record<string, unknown> = {}) {
  const [id, version] = key.split('@');
  return {
    key, id, version, name: id, source: { kind: 'psa', url: `http://127.0.0.1:9/${id}/` }, layout: 'manifest', variants: { unet: 'fp32' },
    status: 'downloading', files: [{ path: 'unet/model.onnx', bytes: 100, offset: 40, hashState: 'AAAA', done: false }, { path: 'a.txt', bytes: 5, offset: 5, done: true }],
    final: { path: 'manifest.json', text: '{}' }, createdAt: 7, ...over,
  };
}
const slot = (seq: number, state: unknown) => JSON.stringify({ seq, state });

describe('legacy bundle records', () => {
  it('imports the newest readable slot of each key, converts the source, deletes the slots and then the folder', async () => {
    const dir = new MapDir(new Map([
      ['a@1.0.0.0.json', slot(4, oldState('a@1.0.0', { files: [{ path: 'unet/model.onnx', bytes: 100, offset: 80, hashState: 'BBBB', done: false }] }))],
      ['a@1.0.0.1.json', slot(3, oldState('a@1.0.0'))],
      // A slot cut short by a failed write: the other slot holds the last good checkpoint.
      ['b@2.0.0.0.json', slot(9, oldState('b@2.0.0')).slice(0, 40)],
      ['b@2.0.0.1.json', slot(8, oldState('b@2.0.0', { source: { kind: 'folder', url: 'my models' }, status: 'checking' }))],
      ['c@1.json', slot(2, oldState('c@1', { source: { kind: 'optimum', url: 'http://h/x/' }, status: 'complete', installedAt: 9, files: [{ path: 'm', bytes: 1, offset: 1, done: true }] }))],
    ]));
    // c@1.json does not match <key>.<0|1>.json: not a slot, left alone.
    const store = new MemoryStore();
    const r = await importLegacyRecords(dir, store);
    expect(r.imported.sort()).toEqual(['a@1.0.0', 'b@2.0.0']);
    expect(r.skipped).toEqual([]);
    const a = (await getBundleRecord('a@1.0.0'))!;
    expect(a).toMatchObject({ state: 'partial', phase: 'downloading', source: { kind: 'url', url: 'http://127.0.0.1:9/a/' }, totalBytes: 100, storedBytes: 80 });
    expect(a.files[0]).toMatchObject({ offset: 80, hashState: 'BBBB' });
    expect(await getBundleRecord('b@2.0.0')).toMatchObject({ state: 'partial', phase: 'checking', source: { kind: 'import', folderName: 'my models' } });
    expect([...dir.files.keys()]).toEqual(['c@1.json']);
    expect(dir.removedSelf).toBe(false);

    // Listed by the store as the installer sees them; a second run finds nothing to do.
    expect((await store.listStates()).map((s: InstallState) => [s.key, s.status])).toEqual([['a@1.0.0', 'downloading'], ['b@2.0.0', 'checking']]);
    expect(await importLegacyRecords(dir, store)).toEqual({ imported: [], alreadyIndexed: [], skipped: [] });
  });

  it('a complete old record becomes a complete index record, and the emptied folder is removed', async () => {
    const dir = new MapDir(new Map([['c@1.1.json', slot(2, oldState('c@1', { source: { kind: 'optimum', url: 'http://h/x/' }, status: 'complete', installedAt: 9, files: [{ path: 'm', bytes: 1, offset: 1, done: true }] }))]]));
    await importLegacyRecords(dir, new MemoryStore());
    expect(await getBundleRecord('c@1')).toMatchObject({ state: 'complete', source: { kind: 'url', url: 'http://h/x/' }, installedAt: 9, totalBytes: 1, storedBytes: 1 });
    expect((await getBundleRecord('c@1'))!.phase).toBeUndefined();
    expect(dir.removedSelf).toBe(true);
  });

  it('the index wins over an old slot of the same key; unreadable or refused keys are left as they were', async () => {
    const store = new MemoryStore();
    const current = { ...oldState('a@1.0.0', { name: 'from the index' }), source: { kind: 'url', url: 'http://new/' } } as unknown as InstallState;
    await store.writeState(current);
    const dir = new MapDir(new Map([
      ['a@1.0.0.0.json', slot(5, oldState('a@1.0.0', { name: 'old' }))],
      ['bad@1.0.json', '{"seq": 1, "state": {"key": "bad@1"'],
      ['bad@1.1.json', 'not json'],
      ['wrongkey@1.0.json', slot(1, oldState('other@1'))],
      ['weird@1.0.json', slot(1, oldState('weird@1', { source: { kind: 'ftp', url: 'x' } }))],
    ]));
    const r = await importLegacyRecords(dir, store);
    expect(r.alreadyIndexed).toEqual(['a@1.0.0']);
    expect(r.imported).toEqual([]);
    expect(r.skipped.map((x) => x.key).sort()).toEqual(['bad@1', 'weird@1', 'wrongkey@1']);
    expect(r.skipped.find((x) => x.key === 'weird@1')!.reason).toMatch(/unknown source kind "ftp"/);
    expect((await getBundleRecord('a@1.0.0'))!.name).toBe('from the index');
    expect([...dir.files.keys()].sort()).toEqual(['bad@1.0.json', 'bad@1.1.json', 'weird@1.0.json', 'wrongkey@1.0.json']);
    expect((await listBundleRecords()).map((x) => x.key)).toEqual(['a@1.0.0']);
  });

  it('no old folder: nothing to do', async () => {
    expect(await importLegacyRecords(undefined, new MemoryStore())).toEqual({ imported: [], alreadyIndexed: [], skipped: [] });
  });
});
