// Shared helpers of the tiny-model tests: build the bundles into a fresh temp folder, turn plain feeds into
// onnxruntime-node tensors, and run a model file.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildBundles, type BuiltBundle } from '../../scripts/models/bundle';
import type { PlainFeeds, PlainTensor } from '../../scripts/models/feeds';

export { ort };

const temps: string[] = [];
export function tempDir(tag: string): string {
  const d = mkdtempSync(join(tmpdir(), `psa-models-${tag}-`));
  temps.push(d);
  return d;
}
/** Removes every folder `tempDir` made in this process (call from afterAll). */
export function removeTemps(): void {
  for (const d of temps.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function buildIntoTemp(tag: string): { root: string; bundles: BuiltBundle[] } {
  const root = tempDir(tag);
  return { root, bundles: buildBundles({ outDir: root }) };
}

export function toOrt(t: PlainTensor): ort.Tensor {
  if (t.type === 'int64') return new ort.Tensor('int64', BigInt64Array.from(t.data.map((v) => BigInt(v))), t.dims);
  if (t.type === 'int32') return new ort.Tensor('int32', Int32Array.from(t.data), t.dims);
  return new ort.Tensor('float32', Float32Array.from(t.data), t.dims);
}

export function toOrtFeeds(f: PlainFeeds): Record<string, ort.Tensor> {
  return Object.fromEntries(Object.entries(f).map(([k, v]) => [k, toOrt(v)]));
}

const sessions = new Map<string, Promise<ort.InferenceSession>>();
/** A cached onnxruntime-node session of a model file (per file and options). */
export function session(file: string, options: ort.InferenceSession.SessionOptions = {}): Promise<ort.InferenceSession> {
  const key = `${file} ${JSON.stringify(options)}`;
  let s = sessions.get(key);
  if (!s) {
    s = ort.InferenceSession.create(readFileSync(file), options);
    sessions.set(key, s);
  }
  return s;
}
export function sessionFromBytes(bytes: Uint8Array): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(bytes);
}

export type Outputs = Record<string, { dims: number[]; data: Float32Array }>;
export async function run(s: ort.InferenceSession, feeds: PlainFeeds): Promise<Outputs> {
  const out = await s.run(toOrtFeeds(feeds));
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, { dims: [...v.dims], data: v.data as Float32Array }]));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export function allFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

export function readJson<T = any>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}
