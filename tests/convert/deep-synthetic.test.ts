// The full-depth synthetic encoder's generator (scripts/convert/encoder/deep-synthetic.ts) at small shapes: the
// values it serves for reads of its sparse data file are the bytes it would write for real (the layer groups cut
// from the served file equal those cut from a written copy, byte for byte); the groups embed a PSA text as the whole
// source graph does (onnxruntime-node, the engine's own runners), so the graph the generator builds is one the
// converter cuts correctly; and the served weights are not degenerate (different parameters, different values).
import { createHash } from 'node:crypto';
import { cpSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { materialize, QWEN25_7B, serveVirtualFile, writeSource, type Region } from '../../scripts/convert/encoder/deep-synthetic';
import { writeLayerGroups } from '../../scripts/convert/encoder/index';
import { computeEmbedding } from '../../src/engine/embedding/compute';
import { folderEncoder } from '../../src/engine/embedding/encoder-source';
import { nodeRuntime } from '../../src/engine/node-host';
import { fsReader } from '../../src/engine/node-reader';
import { relErr } from '../../scripts/convert/encoder/accuracy';
import { ROOT, tmpDir } from './helpers';

// vocab 40 000 × 64: a table over the converter's 8 MB read chunk, so reads also start inside a parameter.
const SMALL = { ...QWEN25_7B, vocabSize: 40_000, hidden: 64, heads: 4, kvHeads: 2, layers: 3, intermediate: 96 };
const text = (JSON.parse(readFileSync(path.join(ROOT, 'fixtures', 'profile-encoder', 'expected.json'), 'utf8')) as { users: { text: string }[] }).users[0].text;
const hashes = (dir: string) => Object.fromEntries(readdirSync(dir).filter((f) => f.startsWith('group_') || f.startsWith('embed_tokens')).sort().map((f) => [f, createHash('sha256').update(readFileSync(path.join(dir, f))).digest('hex')]));
let tmp: string;
let regions: Region[];

beforeAll(() => {
  tmp = tmpDir('deep-synthetic-');
  regions = writeSource(path.join(tmp, 'virtual'), SMALL);
  cpSync(path.join(tmp, 'virtual'), path.join(tmp, 'real'), { recursive: true });
  materialize(path.join(tmp, 'real'), regions);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

it('serves the sparse data file with the bytes it would write: groups cut from either are identical', () => {
  writeLayerGroups(path.join(tmp, 'real'), path.join(tmp, 'groups-real'), { quantize: 'q4' });
  const restore = serveVirtualFile(path.join(tmp, 'virtual', 'model.onnx_data'), regions);
  try {
    writeLayerGroups(path.join(tmp, 'virtual'), path.join(tmp, 'groups-virtual'), { quantize: 'q4' });
  } finally {
    restore();
  }
  const real = hashes(path.join(tmp, 'groups-real'));
  expect(Object.keys(real).length).toBeGreaterThan(4);
  expect(hashes(path.join(tmp, 'groups-virtual'))).toEqual(real);
  // After restore, the sparse file reads as the zeros it holds (the hook is gone).
  const zeros = readFileSync(path.join(tmp, 'virtual', 'model.onnx_data')).subarray(0, 4096);
  expect(zeros.every((b) => b === 0)).toBe(true);
});

it('the float32 groups embed a PSA text as the whole source graph does', async () => {
  const rt = nodeRuntime();
  const groups = path.join(tmp, 'groups-fp32');
  writeLayerGroups(path.join(tmp, 'real'), groups, { quantize: 'none', tableDtype: 'float32' });
  const whole = await computeEmbedding(rt, await folderEncoder(fsReader(path.join(tmp, 'real'))), text);
  const cut = await computeEmbedding(rt, await folderEncoder(fsReader(groups)), text);
  expect(whole.tokens).toBeGreaterThan(150);
  expect(cut.tokens).toBe(whole.tokens);
  expect(whole.embedding.every(Number.isFinite)).toBe(true);
  expect(relErr(cut.embedding, whole.embedding)).toBeLessThan(1e-4);
});

it('draws distinct, bounded values per parameter (not zeros, not one pattern reused)', () => {
  const data = readFileSync(path.join(tmp, 'real', 'model.onnx_data'));
  const read = (r: Region) => new Float32Array(data.buffer.slice(data.byteOffset + r.start, data.byteOffset + r.start + 4096));
  const big = regions.filter((r) => r.bytes >= 4096 && r.center === 0).slice(0, 2);
  const [a, b] = big.map(read);
  expect(a.some((x, i) => x !== b[i])).toBe(true);
  for (const [r, v] of [[big[0], a], [big[1], b]] as const) {
    expect(Math.max(...v.map(Math.abs))).toBeLessThanOrEqual(r.bound);
    expect(Math.max(...v.map(Math.abs))).toBeGreaterThan(r.bound * 0.9); // uniform over the whole range
  }
});
