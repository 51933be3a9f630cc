// What this device can do, detected inside the worker: WebGPU adapter (info, limits, shader-f16) and WASM threads.
// The result picks the backend (WebGPU when an adapter exists, else WASM) and, through it, the weight variant.

import type { Capabilities } from '../shared/types';

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
  return {
    ...base,
    webgpu: true,
    adapter: { vendor: info.vendor, architecture: info.architecture, description: info.description, isFallbackAdapter: !!(info as { isFallbackAdapter?: boolean }).isFallbackAdapter },
    shaderF16: adapter.features.has('shader-f16'),
    maxBufferSize: adapter.limits.maxBufferSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    preferred: 'webgpu',
  };
}
