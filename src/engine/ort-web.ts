// onnxruntime-web, set up once for the browser: one of its two builds with the native WebGPU EP (whose fp16
// failures are loud, unlike JSEP's silent zeros), its glue + wasm served from our own assets (never a CDN), and one
// promise chain so no two ORT calls (session creation above all) ever overlap.
// Which build: JSPI where the browser has WebAssembly.Suspending (Chromium 137+), else asyncify. Both run WASM and
// WebGPU; JSPI's glue also takes a Blob as external data and reads each initializer's range from it itself
// (onnxruntime PR #29477), so createSession hands it the stored File behind a RangedBytes (sessions.ts) instead of the RangedBytes:
// measured on the full-size int8 bundle, load 9.3 s vs 15.0 s and renderer peak 2.48 vs 3.07 GB (README), and its
// wasm is 16.8 MB instead of 26.8. A worker named with "ort-asyncify" keeps asyncify (tests of that path).
import type * as OrtModule from 'onnxruntime-web/webgpu';
import asyncifyWasm from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import asyncifyMjs from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';
import jspiWasm from 'onnxruntime-web/ort-wasm-simd-threaded.jspi.wasm?url';
import jspiMjs from 'onnxruntime-web/ort-wasm-simd-threaded.jspi.mjs?url';
import { AppError } from '../shared/errors';
import { installGpuLedgerIfAsked } from './embedding/groups-ledger';

export type OrtWeb = typeof OrtModule;
export type OrtBuild = 'jspi' | 'asyncify';

/** JSPI where the browser runs it and nothing asks for asyncify. */
export function chooseOrtBuild(g: { WebAssembly?: object; name?: string } = globalThis as never): OrtBuild {
  const wasm = g.WebAssembly as { Suspending?: unknown; promising?: unknown } | undefined;
  if (String(g.name ?? '').includes('ort-asyncify')) return 'asyncify';
  return typeof wasm?.Suspending === 'function' && typeof wasm.promising === 'function' ? 'jspi' : 'asyncify';
}

const PATHS: Record<OrtBuild, { wasm: string; mjs: string }> = {
  jspi: { wasm: jspiWasm, mjs: jspiMjs },
  asyncify: { wasm: asyncifyWasm, mjs: asyncifyMjs },
};

let loaded: Promise<{ ort: OrtWeb; build: OrtBuild }> | undefined;

/** The chosen build, imported once (its own chunk: a browser downloads only the glue it runs). */
export function loadOrt(): Promise<{ ort: OrtWeb; build: OrtBuild }> {
  loaded ??= (async () => {
    const build = chooseOrtBuild();
    let ort: OrtWeb;
    try {
      ort = (build === 'jspi' ? await import('onnxruntime-web/jspi') : await import('onnxruntime-web/webgpu')) as OrtWeb;
    } catch (e) {
      loaded = undefined; // a later request tries again (e.g. back online)
      throw new AppError('BACKEND_INIT_FAILED', `onnxruntime-web (${build} build) could not be loaded: ${(e as Error).message}`);
    }
    ensureOrtEnv(ort, build);
    // Test-only GPU-memory ledger for the layer-group encoder (on only when the worker's name asks for it).
    installGpuLedgerIfAsked();
    return { ort, build };
  })();
  return loaded;
}

/**
 * Points ORT at our own wasm files. Called before every session creation because importing transformers.js
 * re-points the shared `env.wasm.wasmPaths` at a CDN.
 */
export function ensureOrtEnv(ort: OrtWeb, build: OrtBuild): void {
  ort.env.wasm.wasmPaths = PATHS[build];
  // ORT's default logger: errors only (each session's own logger is set in sessions.ts `createSession`).
  ort.env.logLevel = 'error';
  // Threads need cross-origin isolation (COOP/COEP); without it ORT runs single-threaded.
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, globalThis.navigator?.hardwareConcurrency ?? 1) : 1;
}

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
export async function simulateGpuFailure(ort: OrtWeb, kind: 'lose-device' | 'lose-gpu'): Promise<void> {
  if (kind === 'lose-gpu') {
    const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
    if (gpu) gpu.requestAdapter = async () => null;
  }
  const device = await Promise.resolve(ort.env.webgpu.device).catch(() => undefined);
  (device as GPUDevice | undefined)?.destroy();
}
