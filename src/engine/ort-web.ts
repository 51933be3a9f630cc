// onnxruntime-web, set up once for the browser: the native WebGPU EP build (`onnxruntime-web/webgpu`, whose fp16
// failures are loud, unlike JSEP's silent zeros) with its asyncify glue + wasm served from our own assets (never a
// CDN), and one promise chain so no two ORT calls (session creation above all) ever overlap.
import * as ort from 'onnxruntime-web/webgpu';
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import mjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import { installGpuLedgerIfAsked } from './embedding/groups-ledger';

/**
 * Points ORT at our own wasm files. Called before every session creation because importing transformers.js
 * re-points the shared `env.wasm.wasmPaths` at a CDN.
 */
export function ensureOrtEnv(): void {
  ort.env.wasm.wasmPaths = { wasm: wasmUrl, mjs: mjsUrl };
  // ORT's default logger: errors only (each session's own logger is set in sessions.ts `createSession`).
  ort.env.logLevel = 'error';
  // Threads need cross-origin isolation (COOP/COEP); without it ORT runs single-threaded.
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, globalThis.navigator?.hardwareConcurrency ?? 1) : 1;
}
ensureOrtEnv();
// Test-only GPU-memory ledger for the layer-group encoder (on only when the worker's name asks for it).
installGpuLedgerIfAsked();

export { ort, wasmUrl, mjsUrl };

let chain: Promise<unknown> = Promise.resolve();
/** Runs `fn` after every earlier ORT call settled: ORT-web breaks when session creations overlap. */
export function serial<T>(fn: () => Promise<T>): Promise<T> {
  const p = chain.then(fn);
  chain = p.catch(() => undefined);
  return p;
}

let mapReads = 0;
/**
 * Counts real GPU→CPU transfers: every `GPUBuffer.mapAsync(READ)` made in this worker, by us or inside ORT.
 * The engine reports it per image, so "one readback per image" is measured, not assumed.
 */
export function installReadbackCounter(): () => number {
  const proto = (globalThis as { GPUBuffer?: { prototype: GPUBuffer } }).GPUBuffer?.prototype;
  if (proto && !(proto.mapAsync as { counted?: boolean }).counted) {
    const original = proto.mapAsync;
    const counted = function (this: GPUBuffer, mode: GPUMapModeFlags, ...rest: [number?, number?]) {
      if (mode & 1 /* GPUMapMode.READ */) mapReads++;
      return original.call(this, mode, ...rest);
    };
    (counted as { counted?: boolean }).counted = true;
    proto.mapAsync = counted;
  }
  return () => mapReads;
}

/**
 * Test hooks: 'lose-device' destroys ORT's WebGPU device, as a driver reset does; 'lose-gpu' also makes every later
 * adapter request in this worker fail, as when the GPU is gone for good (unplugged eGPU, blocklisted after a crash).
 */
export async function simulateGpuFailure(kind: 'lose-device' | 'lose-gpu'): Promise<void> {
  if (kind === 'lose-gpu') {
    const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
    if (gpu) gpu.requestAdapter = async () => null;
  }
  const device = await Promise.resolve(ort.env.webgpu.device).catch(() => undefined);
  (device as GPUDevice | undefined)?.destroy();
}
