// The PSA user embedding in headless Chromium through the real worker protocol (engine harness page), on WASM and on
// forced WebGPU (SwiftShader here): the parity fixture's encoder (transformers' own tiny Qwen2 exported to ONNX,
// served at /__fixtures/profile-encoder/) reproduces PSA's reference embeddings (fixtures/profile-encoder/
// expected.json, made by PSAlign's get_embeds.py); the demo bundle's encoder agrees with the Node engine; one encoder
// session is created per embedding and none is alive afterwards. Times and errors go to .tmp/measurements.json.
// Tolerances (max |a−b| / max |b|): WASM 1e-4 (measured ≈ 3e-7). WebGPU on SwiftShader measured 1.3–1.7e-4 against
// the fixture for every user (the same with graph optimizations off, and already 1.1e-4 for a 2-character text, so
// it is the software GPU's float kernels, not the long sequence or a fusion); the demo encoder gets ≈ 1.5e-5 there.
// WebGPU is held to 5e-4 against the fixture and 1e-4 against the Node engine for the demo encoder.
import fs from 'node:fs';
import path from 'node:path';
import { test, expect, type Page } from '@playwright/test';
import { computeEmbedding } from '../src/engine/embedding/compute';
import { folderEncoder } from '../src/engine/embedding/encoder-source';
import { nodeRuntime } from '../src/engine/node-host';
import { fsReader } from '../src/engine/node-reader';
import { renderEmbeddingText } from '../src/safety/embedding-text';
import type { ErrorInfo } from '../src/shared/errors';
import type { LoadedBundleInfo } from '../src/shared/types';
import { openEngine, record, ROOT } from './helpers';

test.describe.configure({ mode: 'serial' });

type EmbedOut = { ok: true; embedding: number[]; encoderId: string; tokens: number; ms: number; phases: string[] } | { ok: false; error: ErrorInfo; phases: string[] };
interface EmbedApi {
  load(o: { url: string; backend: 'wasm' | 'webgpu' }): Promise<LoadedBundleInfo | { error: ErrorInfo }>;
  embed(text: string, opts?: { encoderUrl?: string }): Promise<EmbedOut>;
  encoderSessions(): Promise<{ live: number; created: number }>;
}
interface ExpectedUser {
  user_id: string;
  text: string;
  tokens: number;
  embedding: number[];
}

const FIXTURE_URL = '/__fixtures/profile-encoder/';
const expected = JSON.parse(fs.readFileSync(path.join(ROOT, 'fixtures/profile-encoder/expected.json'), 'utf8')) as { users: ExpectedUser[] };
const CHILD = {
  Age: 9, Age_Group: 'children', Gender: 'male', Religion: 'None', Physical_Condition: 'healthy', Mental_Condition: 'healthy',
  Banned_Categories: ['Hate', 'Self-Harm', 'Sexuality', 'Shocking', 'Violence'], Allowed_Categories: ['Harassment', 'Propaganda'],
} as const;

let page: Page;
type Win = { __engine: EmbedApi };
const load = async (backend: 'wasm' | 'webgpu') => {
  const r = await page.evaluate((b) => (window as unknown as Win).__engine.load({ url: '/models/demo/', backend: b }), backend);
  if ('error' in r) throw new Error(`load failed: ${r.error.code}: ${r.error.message}`);
  return r;
};
const embed = async (text: string, encoderUrl?: string) => {
  const r = await page.evaluate(([t, u]) => (window as unknown as Win).__engine.embed(t, u ? { encoderUrl: u } : {}), [text, encoderUrl] as const);
  if (!r.ok) throw new Error(`embed failed: ${r.error.code}: ${r.error.message}`);
  return r;
};
const sessions = () => page.evaluate(() => (window as unknown as Win).__engine.encoderSessions());

const relErr = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return a.length === b.length ? num / den : Infinity;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

test.beforeAll(async ({ browser }) => {
  page = await browser.newPage();
  await openEngine(page);
});
test.afterAll(() => page?.close());

const times: Record<string, { demoMs: number[]; fixtureMs: number[]; fixtureErr: number[] }> = {};
const FIXTURE_TOLERANCE = { wasm: 1e-4, webgpu: 5e-4 } as const;

for (const backend of ['wasm', 'webgpu'] as const) {
  test(`${backend}: fixture encoder reproduces PSA's reference embeddings; one session per embedding, none left`, async () => {
    const info = await load(backend);
    expect(info.backend).toBe(backend);
    times[backend] = { demoMs: [], fixtureMs: [], fixtureErr: [] };
    const before = await sessions();
    expect(before.live).toBe(0);
    for (const u of expected.users) {
      const r = await embed(u.text, FIXTURE_URL);
      expect(r.tokens, `user ${u.user_id} tokens`).toBe(u.tokens);
      const err = relErr(r.embedding, u.embedding);
      expect(err, `user ${u.user_id} on ${backend}: relative error ${err}`).toBeLessThan(FIXTURE_TOLERANCE[backend]);
      times[backend].fixtureErr.push(err);
      expect(r.phases).toEqual(['tokenize', 'load', 'run', 'release']);
      times[backend].fixtureMs.push(r.ms);
    }
    const after = await sessions();
    expect(after.created - before.created).toBe(expected.users.length);
    expect(after.live).toBe(0);
  });

  test(`${backend}: the demo bundle's encoder agrees with the Node engine; timed`, async () => {
    const info = await load(backend);
    expect(info.profileEncoder?.id).toMatch(/^[0-9a-f]{64}$/);
    const text = renderEmbeddingText(info.profileEncoder!.template, { ...CHILD, Banned_Categories: [...CHILD.Banned_Categories], Allowed_Categories: [...CHILD.Allowed_Categories] });
    const node = await computeEmbedding(nodeRuntime(), await folderEncoder(fsReader(path.join(ROOT, 'public/models/demo/profile_encoder'))), text);
    for (let i = 0; i < 3; i++) {
      const r = await embed(text);
      expect(r.encoderId).toBe(info.profileEncoder!.id);
      expect(r.encoderId).toBe(node.encoderId);
      expect(r.tokens).toBe(node.tokens);
      expect(relErr(r.embedding, node.embedding)).toBeLessThan(1e-4);
      times[backend].demoMs.push(r.ms);
    }
    expect((await sessions()).live).toBe(0);
    record(`embeddingMs.${backend}`, {
      demoEncoder: { medianMs: Math.round(median(times[backend].demoMs)), runsMs: times[backend].demoMs.map(Math.round), tokens: node.tokens },
      fixtureEncoder: { medianMs: Math.round(median(times[backend].fixtureMs)), firstMs: Math.round(times[backend].fixtureMs[0]), maxRelErr: Math.max(...times[backend].fixtureErr) },
    });
  });
}
