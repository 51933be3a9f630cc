// Bundles whose files nothing pins with a SHA-256 say so at planning, before a byte of them is downloaded (issue 23
// item 6): an Optimum export (model_index.json names no hashes) and a format-1 manifest's extras (and its models
// listed without a hash) are `verified: false` with the exact files; a format-2 manifest is verified. The download
// waits for consent (Installer.needsConsent, what the bundle worker asks before running); a stored record — agreed to
// when it started — resumes without asking again, and the installed bundle still reads as not verified.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freshDatabase } from '../storage/helpers';
import { buildBundles } from '../../scripts/models/bundle';
import type { RunningServer } from '../../scripts/serve-bundle';
import { withServer } from '../helpers/serve';
import { migrateManifest, type BundleManifest, type BundleManifestV1 } from '../../src/shared/bundle';
import { Installer, type DeviceChoice } from '../../src/engine/bundles/installer';
import { MemoryStore } from '../../src/engine/bundles/store';

let root: string;
let demoDir: string;
let demo: BundleManifest;
const PARITY = join(import.meta.dirname, '..', '..', 'fixtures', 'parity', 'bundle');
const cpu: DeviceChoice = { order: ['fp32', 'int8', 'fp16', 'q4'], features: new Set() };
const noSleep = async () => undefined;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'psa-unverified-'));
  buildBundles({ outDir: root, bundles: ['demo'] });
  demoDir = join(root, 'demo');
  demo = JSON.parse(readFileSync(join(demoDir, 'manifest.json'), 'utf8'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeEach(freshDatabase);


/** What format 1 looked like: no inventory, no provenance, a license name only. */
function asV1(m: BundleManifest): BundleManifestV1 {
  const { files: _f, provenance: _p, license, ...rest } = JSON.parse(JSON.stringify(m)) as BundleManifest;
  return { ...rest, formatVersion: 1, license: license.name };
}

const gets = (s: RunningServer) => s.log.filter((e) => e.method === 'GET' && e.status === 200).map((e) => e.path);

describe('unverified bundles', () => {
  it('a format-2 manifest is verified: every file has a SHA-256, no consent needed', () =>
    withServer({ dir: demoDir }, async (s) => {
      const state = await new Installer({ store: new MemoryStore(), sleep: noSleep }).plan(s.url, cpu);
      expect(Installer.summary(state)).toMatchObject({ verified: true, unverifiedFiles: [], layout: 'manifest', key: state.key });
      expect(Installer.needsConsent(state)).toBeUndefined();
    }));

  it('an Optimum export is unverified at planning, listing every file; only model_index.json was downloaded so far', () =>
    withServer({ dir: PARITY }, async (s) => {
      const store = new MemoryStore();
      const inst = new Installer({ store, sleep: noSleep });
      const state = await inst.plan(s.url, cpu);
      const plan = Installer.needsConsent(state);
      expect(plan).toBeDefined();
      expect(plan!.verified).toBe(false);
      expect(plan!.unverifiedFiles.sort()).toEqual([...state.files.map((f) => f.path), 'model_index.json'].sort());
      expect(plan!.unverifiedFiles).toContain('unet/model.onnx');
      expect(plan!.fileCount).toBe(state.files.length);
      expect(plan!.totalBytes).toBeGreaterThan(0);
      // Planning read model_index.json and asked for sizes (HEAD); no model file was fetched.
      expect(gets(s)).toEqual(['/model_index.json']);
      expect(store.files.size).toBe(0);
      // With consent it installs, and the stored bundle still says it was never checked.
      expect(Installer.needsConsent(state, true)).toBeUndefined();
      const bundle = await inst.run(state, () => undefined, new AbortController().signal);
      expect(bundle.status).toBe('complete');
      expect(bundle.verified).toBe(false);
      expect(bundle.unverifiedFiles.sort()).toEqual(plan!.unverifiedFiles.sort());
    }));

  it('a format-1 manifest is unverified for its extras and for models listed without a hash, not for hashed models', async () => {
    const dir = join(root, 'v1');
    cpSync(demoDir, dir, { recursive: true });
    const v1 = asV1(demo);
    delete v1.components.vae_decoder.variants.fp32!.sha256;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(v1));
    await withServer({ dir: dir }, async (s) => {
      const state = await new Installer({ store: new MemoryStore(), sleep: noSleep }).plan(s.url, cpu);
      const plan = Installer.needsConsent(state)!;
      expect(plan.verified).toBe(false);
      const listed = new Set(migrateManifest(v1).files.map((f) => f.path));
      const standardExtras = ['tokenizer/tokenizer.json', 'tokenizer/tokenizer_config.json', 'tokenizer/special_tokens_map.json', 'tokenizer/vocab.json', 'tokenizer/merges.txt', 'scheduler/scheduler_config.json', 'model_index.json'];
      const extras = standardExtras.filter((p) => !listed.has(p) && existsSync(join(dir, p)));
      expect(extras.length).toBeGreaterThan(0);
      expect(plan.unverifiedFiles.sort()).toEqual([...extras, demo.components.vae_decoder.variants.fp32!.path].sort());
      expect(plan.unverifiedFiles).not.toContain('unet/model.onnx');
      expect(gets(s)).toEqual(['/manifest.json']);
    });
  });

  it('a download agreed to and paused resumes without asking again', () =>
    withServer({ dir: PARITY }, async (s) => {
      const store = new MemoryStore();
      const inst = new Installer({ store, sleep: noSleep });
      const state = await inst.plan(s.url, cpu);
      expect(Installer.needsConsent(state)).toBeDefined();
      const ctrl = new AbortController();
      ctrl.abort(new DOMException('paused', 'AbortError'));
      await expect(inst.run(state, () => undefined, ctrl.signal)).rejects.toMatchObject({ code: 'CANCELLED' });
      const again = await new Installer({ store, sleep: noSleep }).plan(s.url, cpu);
      expect(again.key).toBe(state.key);
      expect(again.status).toBe('paused');
      expect(Installer.needsConsent(again)).toBeUndefined();
      // Still reported as unverified, so the list can say so.
      expect(Installer.summary(again).verified).toBe(false);
    }));
});
