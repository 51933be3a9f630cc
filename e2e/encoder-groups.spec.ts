// The layer-group profile encoder in headless Chromium through the real worker protocol, on WASM and forced WebGPU:
// fixtures/encoder-groups/ (the tiny Qwen2 fixture converted into 3 groups — layers.0 | layers.1 | final norm — with
// external files ≤ 20 KB and an fp32 CPU table; scripts/convert/encoder/fixture.ts) gives the same PSA embedding as
// the single graph (/__fixtures/profile-encoder/, same backend) and as transformers' fp32 computation (expected.json).
// On WebGPU a GPU-memory ledger (GPUDevice.createBuffer / GPUBuffer.destroy wrapped in the worker, switched on by the
// worker's name: src/engine/embedding/groups-ledger.ts) records live bytes before the first group and after each
// group's creation and release: live bytes are back at the start level after each release (each group runs on a
// GPUDevice of its own, destroyed after the release: src/engine/embedding/group-device.ts). A missing group file
// gives an error naming it.
// Tolerances vs expected.json (max |a−b| / max |b|): WASM 1e-4; WebGPU 5e-4, as e2e/embedding.spec.ts documents for
// SwiftShader's float kernels (the single graph measures the same there); groups vs single graph: 1e-4 on both.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, expect, type Page } from '@playwright/test';
import { writeGroupsFixture } from '../scripts/convert/encoder/fixture';
import type { ErrorInfo } from '../src/shared/errors';
import type { LoadedBundleInfo } from '../src/shared/types';
import type { LedgerEntry } from '../src/engine/embedding/groups-ledger';
import { openEngine, record, ROOT } from './helpers';

test.describe.configure({ mode: 'serial' });

type EmbedOut = { ok: true; embedding: number[]; encoderId: string; tokens: number; ms: number; phases: string[] } | { ok: false; error: ErrorInfo; phases: string[] };
interface EmbedApi {
  load(o: { url: string; backend: 'wasm' | 'webgpu' }): Promise<LoadedBundleInfo | { error: ErrorInfo }>;
  embed(text: string, opts?: { encoderUrl?: string }): Promise<EmbedOut>;
  encoderSessions(): Promise<{ live: number; created: number }>;
}
type Win = { __engine: EmbedApi; __ledger?: LedgerEntry[] };

const GROUPS = path.join(ROOT, 'fixtures', 'encoder-groups');
const GROUPS_URL = '/__fixtures/encoder-groups/';
const SINGLE_URL = '/__fixtures/profile-encoder/';
const MISSING = `.encoder-groups-missing-${process.pid}`;
const expected = JSON.parse(fs.readFileSync(path.join(ROOT, 'fixtures/profile-encoder/expected.json'), 'utf8')) as { users: { user_id: number; text: string; tokens: number; embedding: number[] }[] };
const TOLERANCE = { wasm: 1e-4, webgpu: 5e-4 } as const;

const relErr = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return a.length === b.length ? num / den : Infinity;
};
const hashes = (dir: string) => Object.fromEntries(fs.readdirSync(dir).sort().map((f) => [f, createHash('sha256').update(fs.readFileSync(path.join(dir, f))).digest('hex')]));

let page: Page;
const webgpuLedgers: LedgerEntry[][] = [];
const load = async (backend: 'wasm' | 'webgpu') => {
  const r = await page.evaluate((b) => (window as unknown as Win).__engine.load({ url: '/models/demo/', backend: b }), backend);
  if ('error' in r) throw new Error(`load failed: ${r.error.code}: ${r.error.message}`);
  return r;
};
const embed = (text: string, encoderUrl: string) => page.evaluate(([t, u]) => (window as unknown as Win).__engine.embed(t, { encoderUrl: u }), [text, encoderUrl] as const);
const ok = async (text: string, url: string) => {
  const r = await embed(text, url);
  if (!r.ok) throw new Error(`embed failed: ${r.error.code}: ${r.error.message}`);
  return r;
};
const sessions = () => page.evaluate(() => (window as unknown as Win).__engine.encoderSessions());
const ledger = () => page.evaluate(() => (window as unknown as Win).__ledger?.splice(0) ?? []);

test.beforeAll(async ({ browser }) => {
  // The committed converted copy must still be what the converter writes today.
  const fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'encoder-groups-'));
  try {
    writeGroupsFixture(fresh);
    expect(hashes(GROUPS), 'fixtures/encoder-groups is stale: npx tsx scripts/convert/encoder/fixture.ts').toEqual(hashes(fresh));
  } finally {
    fs.rmSync(fresh, { recursive: true, force: true });
  }
  // A copy with one external-data file of group 2 missing, served next to it for the error test.
  fs.cpSync(GROUPS, path.join(ROOT, 'fixtures', MISSING), { recursive: true });
  fs.rmSync(path.join(ROOT, 'fixtures', MISSING, 'group_1.onnx_data_1'));
  page = await browser.newPage();
  // Name the engine worker so it installs the GPU ledger, and collect the ledger's messages on the page.
  await page.addInitScript(() => {
    const W = window.Worker;
    window.Worker = class extends W {
      constructor(url: string | URL, opts?: WorkerOptions) {
        super(url, { ...opts, name: `${opts?.name ?? 'worker'} gpu-ledger` });
        this.addEventListener('message', (e: MessageEvent) => {
          const w = window as unknown as { __ledger?: unknown[] };
          if (e.data?.type === 'gpu-ledger') (w.__ledger ??= []).push(e.data);
        });
      }
    };
  });
  await openEngine(page);
});
test.afterAll(async () => {
  fs.rmSync(path.join(ROOT, 'fixtures', MISSING), { recursive: true, force: true });
  await page?.close();
});

for (const backend of ['wasm', 'webgpu'] as const) {
  test(`${backend}: 3 layer groups + CPU table = the single graph = transformers; one group session at a time`, async () => {
    expect((await load(backend)).backend).toBe(backend);
    await ledger();
    const errs = { single: 0, torch: 0 };
    const ledgers: LedgerEntry[][] = [];
    for (const u of expected.users) {
      const before = await sessions();
      const g = await ok(u.text, GROUPS_URL);
      const mid = await sessions();
      expect(mid.created - before.created).toBe(3);
      expect(mid.live).toBe(0);
      expect(g.phases).toEqual(['tokenize', 'load', 'run', 'release', 'load', 'run', 'release', 'load', 'run', 'release']);
      expect(g.tokens).toBe(u.tokens);
      ledgers.push(await ledger());
      const s = await ok(u.text, SINGLE_URL);
      await ledger(); // the single graph's buffers are not part of the group ledger
      errs.single = Math.max(errs.single, relErr(g.embedding, s.embedding));
      errs.torch = Math.max(errs.torch, relErr(g.embedding, u.embedding));
    }
    expect(errs.single, `groups vs single graph on ${backend}`).toBeLessThan(1e-4);
    expect(errs.torch, `groups vs transformers on ${backend}`).toBeLessThan(TOLERANCE[backend]);
    const note: Record<string, unknown> = { maxRelErrVsSingle: errs.single, maxRelErrVsTransformers: errs.torch };
    if (backend === 'webgpu') {
      // Per embedding: start (baseline) → created 0 → released 0 → created 1 → released 1 → created 2 → released 2.
      const fmt = (l: LedgerEntry[]) => l.map((e) => `${e.event}${e.event === 'start' ? '' : e.group} ${e.liveBytes} B/${e.liveBuffers} buf (peak ${e.peakBytes}${e.deviceFreedBytes ? `, device destroy freed ${e.deviceFreedBytes}` : ''})`).join(' → ');
      console.log(`GPU ledger, first embedding: ${fmt(ledgers[0])}\nGPU ledger, last embedding: ${fmt(ledgers.at(-1)!)}`);
      note.ledgerFirstEmbedding = ledgers[0].map((e) => ({ event: e.event, group: e.group, liveBytes: e.liveBytes, liveBuffers: e.liveBuffers, peakSincePrevious: e.peakBytes, deviceFreedBytes: e.deviceFreedBytes }));
      note.ledgerLastEmbedding = ledgers.at(-1)!.map((e) => ({ event: e.event, group: e.group, liveBytes: e.liveBytes, liveBuffers: e.liveBuffers, peakSincePrevious: e.peakBytes, deviceFreedBytes: e.deviceFreedBytes }));
      record(`encoderGroups.${backend}`, note);
      for (const l of ledgers) {
        expect(l.map((e) => `${e.event}${e.event === 'start' ? '' : e.group}`)).toEqual(['start', 'created0', 'released0', 'created1', 'released1', 'created2', 'released2']);
        for (const e of l.filter((x) => x.event === 'created')) expect(e.liveBytes, `group ${e.group} weights on the GPU`).toBeGreaterThan(l[0].liveBytes);
      }
      webgpuLedgers.push(...ledgers);
    }
    console.log(`${backend}: groups vs single ${errs.single.toExponential(2)}, vs transformers ${errs.torch.toExponential(2)}`);
    if (backend === 'wasm') record(`encoderGroups.${backend}`, note);
  });
}

// Before group devices (onnxruntime-web 1.30, every session on ORT's one shared WebGPU context): creating a group
// added its weight buffers (+37 472 B, 18 buffers for one tiny layer) and releasing the session destroyed none of
// them — they went to the shared context's buffer cache — so live bytes grew group after group. Each group now runs
// on its own device (own ORT context), destroyed after the release; `deviceFreedBytes` on the 'released' entries
// says how much ORT's release alone had left live (measured: 0 — the group's context frees everything when its
// only session goes; the destroy is the guarantee). Numbers: .tmp/measurements.json encoderGroups.webgpu.
test('webgpu: live GPU bytes are back at the start level after each group release', async () => {
  expect(webgpuLedgers.length).toBeGreaterThan(0);
  for (const l of webgpuLedgers) for (const e of l.filter((x) => x.event === 'released')) expect(e.liveBytes, `after releasing group ${e.group}`).toBe(l[0].liveBytes);
});

test('a missing group file gives an error naming it (WASM), and no session is left alive', async () => {
  await load('wasm');
  const r = await embed(expected.users[0].text, `/__fixtures/${MISSING}/`);
  expect(r.ok).toBe(false);
  if (!r.ok) {
    expect(r.error.code).toBe('MODEL_FILE_MISSING');
    expect(r.error.message).toMatch(/layer group 2 of 3: group_1\.onnx_data_1 is missing/);
  }
  expect((await sessions()).live).toBe(0);
});
