// Public export layouts at the two doors a plain export comes in by — download by URL (Installer.plan against the
// real serve-bundle server) and folder import (importFiles with File objects) — list each model's weight files by
// the names its own .onnx gives (fixtures/layouts: `weights.pb`, a custom name, one file per tensor), refuse a
// named file that is missing naming the .onnx, and refuse a weights file over 2 GiB before it is downloaded or
// copied. The over-cap case is a real small .onnx whose external_data offset points past 2 GiB (no 2 GB file is
// written): the refusal comes from the sizes the graph declares.
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { withServer } from '../helpers/serve';
import { importFiles, type PickedFile } from '../../src/engine/bundles/import';
import { Installer, type DeviceChoice } from '../../src/engine/bundles/installer';
import { MemoryStore } from '../../src/engine/bundles/store';
import type { AppError } from '../../src/shared/errors';
import { assembleLayout, overCapUnet, removeLayout } from '../helpers/layouts';
import { freshDatabase } from '../storage/helpers';

const cpu: DeviceChoice = { order: ['fp32', 'int8', 'fp16', 'q4'], features: new Set() };
const noSleep = async () => undefined;
const made: string[] = [];
const layout = (name: string, folder?: string) => {
  const d = assembleLayout(name, folder);
  made.push(d);
  return d;
};
afterAll(() => made.forEach(removeLayout));
beforeEach(freshDatabase);

const fail = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a refusal'); }, (e: AppError) => e);

/** Every file under dir, as a folder picker gives them (paths start with the folder's name). */
function picked(dir: string): PickedFile[] {
  const out: PickedFile[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(path.join(dir, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      if (statSync(path.join(dir, r)).isDirectory()) walk(r);
      else out.push({ path: `${path.basename(dir)}/${r}`, file: new File([readFileSync(path.join(dir, r))], name) });
    }
  };
  walk('');
  return out;
}

const weightFiles = (paths: string[]) => paths.filter((p) => !/\.(json|txt|onnx)$/.test(p)).sort();

describe('download by URL', () => {
  it('plans the weight files each .onnx names (weights.pb, a custom name) and installs them', async () => {
    const dir = layout('named');
    await withServer({ dir: dir }, async (s) => {
      const store = new MemoryStore();
      const inst = new Installer({ store, sleep: noSleep });
      const state = await inst.plan(s.url, cpu);
      expect(weightFiles(state.files.map((f) => f.path))).toEqual(['unet/weights.pb', 'vae_decoder/vae-weights.bin']);
      // The .onnx files were read only in ranges (206) while planning: nothing was downloaded whole yet.
      expect(s.log.filter((e) => e.method === 'GET' && e.status === 200 && e.path !== '/model_index.json')).toEqual([]);
      await inst.run(state, () => undefined, new AbortController().signal);
      for (const p of ['unet/weights.pb', 'vae_decoder/vae-weights.bin']) expect(store.files.get(`${state.key}/${p}`), p).toEqual(new Uint8Array(readFileSync(path.join(dir, p))));
    });
  });

  it('one file per tensor: all 28 of the VAE decoder\'s files are planned', () =>
    withServer({ dir: layout('multi-file') }, async (s) => {
      const state = await new Installer({ store: new MemoryStore(), sleep: noSleep }).plan(s.url, cpu);
      expect(weightFiles(state.files.map((f) => f.path)).filter((p) => p.startsWith('vae_decoder/')).length).toBe(28);
    }));

  it('a weights file the .onnx names but the host lacks is refused naming both', async () => {
    const dir = layout('named');
    rmSync(path.join(dir, 'unet/weights.pb'));
    await withServer({ dir: dir }, async (s) => {
      const e = await fail(new Installer({ store: new MemoryStore(), sleep: noSleep }).plan(s.url, cpu));
      expect(e.code).toBe('MODEL_FILE_MISSING');
      expect(e.message).toMatch(/^unet\/weights\.pb is missing from the export at http:.*: unet\/model\.onnx stores its weights there/);
    });
  });

  it('a weights file over 2 GiB (by the .onnx header) is refused before it is fetched', async () => {
    const dir = layout('named');
    writeFileSync(path.join(dir, 'unet/model.onnx'), overCapUnet());
    await withServer({ dir: dir }, async (s) => {
      const e = await fail(new Installer({ store: new MemoryStore(), sleep: noSleep }).plan(s.url, cpu));
      expect(e.code).toBe('BUNDLE_INVALID');
      expect(e.message).toMatch(/^unet\/weights\.pb \(external data of unet\/model\.onnx\) holds at least 2\.15 GB .*at most 2 GiB .*npm run convert -- --sd15 <folder>/);
      expect(s.log.filter((x) => x.path === '/unet/weights.pb')).toEqual([]);
    });
  });
});

describe('folder import', () => {
  const inst = (store: MemoryStore) => new Installer({ store, sleep: noSleep });

  it('copies the weight files each .onnx names, under any name', async () => {
    const store = new MemoryStore();
    const dir = layout('named', 'my-export');
    const b = await importFiles(store, inst(store), 'my-export', picked(dir), () => undefined);
    const stored = [...store.files.keys()].filter((k) => k.startsWith(`${b.key}/`)).map((k) => k.slice(b.key.length + 1));
    expect(weightFiles(stored)).toEqual(['unet/weights.pb', 'vae_decoder/vae-weights.bin']);
    expect(store.files.get(`${b.key}/unet/weights.pb`)).toEqual(new Uint8Array(readFileSync(path.join(dir, 'unet/weights.pb'))));
  });

  it('a named weights file missing from the folder is refused naming the .onnx', async () => {
    const dir = layout('multi-file', 'multi');
    rmSync(path.join(dir, 'vae_decoder/7.weight'));
    const store = new MemoryStore();
    const e = await fail(importFiles(store, inst(store), 'multi', picked(dir), () => undefined));
    expect(e.code).toBe('MODEL_FILE_MISSING');
    expect(e.message).toBe('vae_decoder/7.weight is missing from the folder "multi": vae_decoder/model.onnx stores its weights there (its external data)');
    expect(store.files.size).toBe(0);
  });

  it('a weights file over 2 GiB (by the .onnx header) is refused before anything is copied', async () => {
    const dir = layout('named', 'big');
    writeFileSync(path.join(dir, 'unet/model.onnx'), overCapUnet());
    const store = new MemoryStore();
    const e = await fail(importFiles(store, inst(store), 'big', picked(dir), () => undefined));
    expect(e.message).toMatch(/^unet\/weights\.pb \(external data of unet\/model\.onnx\) holds at least 2\.15 GB/);
    expect(store.files.size).toBe(0);
  });
});
