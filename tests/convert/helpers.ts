// Shared by the converter tests: assembles an Optimum-layout SD1.5 input folder from the committed fixtures
// (text encoder, VAE, tokenizer, scheduler of fixtures/parity — cross-attention width 16 — plus one of the
// fixtures/convert U-Net exports), runs ONNX models with onnxruntime-node, and reads the reference arrays.
import { cpSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { readNpy } from '../../scripts/lib/npy';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const FIX = path.join(ROOT, 'fixtures', 'convert');
export const PARITY = path.join(ROOT, 'fixtures', 'parity', 'bundle');
export const expected = JSON.parse(readFileSync(path.join(FIX, 'expected.json'), 'utf8'));

export function tmpDir(prefix: string): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** An SD1.5 export folder with the given fixture U-Net folder as unet/. */
export function makeSd15(parent: string, unetFolder = 'unet', omit: string[] = []): string {
  const dir = path.join(parent, `sd15-${unetFolder}`);
  mkdirSync(dir, { recursive: true });
  for (const f of ['model_index.json', 'scheduler', 'text_encoder', 'tokenizer', 'vae_decoder']) {
    if (!omit.includes(f)) cpSync(path.join(PARITY, f), path.join(dir, f), { recursive: true });
  }
  if (!omit.includes('unet')) cpSync(path.join(FIX, unetFolder), path.join(dir, 'unet'), { recursive: true });
  return dir;
}

export function ref(name: string): { shape: number[]; data: Float32Array } {
  const a = readNpy(readFileSync(path.join(FIX, 'ref', `${name}.npy`)), name);
  return { shape: a.shape, data: a.data };
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

export async function session(modelPath: string): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(modelPath, { logSeverityLevel: 3 });
}

/** encoder_hidden_states = [text tokens, user tokens] along the sequence axis. */
export function concatTokens(text: { shape: number[]; data: Float32Array }, user: { shape: number[]; data: Float32Array }): ort.Tensor {
  const [B, T, D] = text.shape;
  const U = user.shape[1];
  const out = new Float32Array(B * (T + U) * D);
  for (let b = 0; b < B; b++) {
    out.set(text.data.subarray(b * T * D, (b + 1) * T * D), b * (T + U) * D);
    out.set(user.data.subarray(b * U * D, (b + 1) * U * D), b * (T + U) * D + T * D);
  }
  return new ort.Tensor('float32', out, [B, T + U, D]);
}

export async function runUnet(s: ort.InferenceSession, ehs: ort.Tensor, psaScale?: number): Promise<Float32Array> {
  const sample = ref('sample');
  const feeds: Record<string, ort.Tensor> = {
    sample: new ort.Tensor('float32', sample.data, sample.shape),
    timestep: new ort.Tensor('int64', BigInt64Array.of(BigInt(expected.reference.timestep)), [1]),
    encoder_hidden_states: ehs,
  };
  if (psaScale !== undefined) feeds.psa_scale = new ort.Tensor('float32', Float32Array.of(psaScale), [1]);
  const out = await s.run(feeds);
  return out.out_sample.data as Float32Array;
}
