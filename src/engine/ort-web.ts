// onnxruntime-web, set up once for the browser: the native WebGPU EP build (`onnxruntime-web/webgpu`, whose fp16
// failures are loud, unlike JSEP's silent zeros) with its asyncify glue + wasm served from our own assets (never a
// CDN), and one promise chain so no two ORT calls (session creation above all) ever overlap.
import * as ort from 'onnxruntime-web/webgpu';
import wasmUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url';
import mjsUrl from 'onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url';

/**
 * Points ORT at our own wasm files. Called before every session creation because importing transformers.js
 * re-points the shared `env.wasm.wasmPaths` at a CDN.
 */
export function ensureOrtEnv(): void {
  ort.env.wasm.wasmPaths = { wasm: wasmUrl, mjs: mjsUrl };
  // Threads need cross-origin isolation (COOP/COEP); without it ORT runs single-threaded.
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, globalThis.navigator?.hardwareConcurrency ?? 1) : 1;
}
ensureOrtEnv();

export { ort, wasmUrl, mjsUrl };

let chain: Promise<unknown> = Promise.resolve();
/** Runs `fn` after every earlier ORT call settled: ORT-web breaks when session creations overlap. */
export function serial<T>(fn: () => Promise<T>): Promise<T> {
  const p = chain.then(fn);
  chain = p.catch(() => undefined);
  return p;
}
