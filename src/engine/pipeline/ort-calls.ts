// The pipeline's ORT calls: timed session runs (one serial chain), counted GPU reads, GPU tensors freed once each,
// and the engine's helper graphs (step kernel, conditioning concat) built once per shape for the loaded models.

import type { LoadedModels } from '../models';
import type { InferenceSession, Tensor } from '../ort-types';
import { createSession, type Runtime } from '../sessions';
import { floatData, halfData } from '../tensors';

/** What one image costs, accumulated across its phases. */
export interface Timer {
  sessionRunMs: number;
  unetRunMs: number;
  readbacks: number;
  /** U-Net session runs (one per step) and the batch they ran with. */
  unetCalls: number;
  unetBatch: number;
}

export async function run(rt: Runtime, s: InferenceSession, feeds: Record<string, Tensor>, timer: Timer, fetches?: string[]): Promise<InferenceSession.ReturnType> {
  const t0 = performance.now();
  const out = await rt.serial(() => (fetches ? s.run(feeds, fetches) : s.run(feeds)));
  timer.sessionRunMs += performance.now() - t0;
  return out;
}

/** Reads a tensor to the CPU, counting it when it lives on the GPU. */
export async function read(t: Tensor, timer: Timer): Promise<Float32Array> {
  if (t.location === 'gpu-buffer') {
    timer.readbacks++;
    const d = await t.getData();
    return t.type === 'float16' ? halfData(d) : (d as Float32Array);
  }
  return floatData(t);
}

const released = new WeakSet<Tensor>();
/** Frees GPU tensors ORT handed us (once each; CPU tensors are left to the garbage collector). */
export function dispose(...ts: (Tensor | undefined)[]): void {
  for (const t of ts) {
    if (t && t.location === 'gpu-buffer' && !released.has(t)) {
      released.add(t);
      t.dispose();
    }
  }
}

/** Helper graphs are built once per key (which must name every shape the graph fixes) and cached on the models. */
const kernels = new WeakMap<LoadedModels, Map<string, Promise<InferenceSession>>>();
export function kernelSession(rt: Runtime, m: LoadedModels, key: string, build: () => Uint8Array): Promise<InferenceSession> {
  let map = kernels.get(m);
  if (!map) kernels.set(m, (map = new Map()));
  let s = map.get(key);
  if (!s) {
    s = createSession(rt, build(), { file: `engine:${key}`, gpuOutputs: true });
    map.set(key, s);
    s.catch(() => map!.delete(key));
  }
  return s;
}

export async function releaseKernels(m: LoadedModels): Promise<void> {
  const map = kernels.get(m);
  if (!map) return;
  kernels.delete(m);
  for (const s of map.values()) await (await s.catch(() => undefined))?.release().catch(() => undefined);
}
