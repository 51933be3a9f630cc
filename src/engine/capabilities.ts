// What this device can do, detected inside the worker: WebGPU adapter (info, limits, shader-f16) and WASM threads,
// and from it the backend `auto` picks. A software WebGPU adapter (SwiftShader, llvmpipe, lavapipe: the GPU emulated
// on the processor) is much slower than WASM on the same processor (64×64 demo image: ~40 s vs ~1.6 s measured), so
// `auto` takes WASM there and says why; a person can still force WebGPU.

import type { Backend, Capabilities } from '../shared/types';

export type AdapterSummary = NonNullable<Capabilities['adapter']>;

/** Names software WebGPU implementations give in adapter info (architecture, description or vendor). */
const SOFTWARE_ADAPTER = /swiftshader|llvmpipe|lavapipe|softpipe/i;

export const SOFTWARE_GPU_REASON = 'a software GPU was found; the processor is faster';

/** True when the adapter emulates a GPU on the processor (reported fallback adapter, or a known software driver). */
export function isSoftwareAdapter(a: AdapterSummary): boolean {
  return a.isFallbackAdapter || [a.architecture, a.description, a.vendor].some((s) => SOFTWARE_ADAPTER.test(s ?? ''));
}

/** The backend `auto` takes for a usable WebGPU adapter, with the reason when it is not WebGPU. */
export function preferredFor(adapter: AdapterSummary): { preferred: Backend; preferredReason?: string } {
  return isSoftwareAdapter(adapter) ? { preferred: 'wasm', preferredReason: SOFTWARE_GPU_REASON } : { preferred: 'webgpu' };
}

export async function detectCapabilities(): Promise<Capabilities> {
  const isolated = !!globalThis.crossOriginIsolated;
  const threads = isolated ? Math.min(4, globalThis.navigator?.hardwareConcurrency ?? 1) : 1;
  const base = { crossOriginIsolated: isolated, threads, shaderF16: false };
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu) return { ...base, webgpu: false, webgpuReason: 'This browser has no WebGPU (navigator.gpu is missing).', preferred: 'wasm' };
  let adapter: GPUAdapter | null = null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { ...base, webgpu: false, webgpuReason: `WebGPU adapter request failed: ${(e as Error).message}`, preferred: 'wasm' };
  }
  if (!adapter) return { ...base, webgpu: false, webgpuReason: 'WebGPU is present but no adapter is available (blocklisted GPU or disabled).', preferred: 'wasm' };
  const info = adapter.info;
  const summary: AdapterSummary = {
    vendor: info.vendor,
    architecture: info.architecture,
    description: info.description,
    isFallbackAdapter: !!(info as { isFallbackAdapter?: boolean }).isFallbackAdapter,
  };
  return {
    ...base,
    webgpu: true,
    adapter: summary,
    shaderF16: adapter.features.has('shader-f16'),
    maxBufferSize: adapter.limits.maxBufferSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    ...preferredFor(summary),
  };
}
