// A GPUDevice of its own for one profile-encoder layer group (browser WebGPU only), so that releasing the group
// really gives its GPU memory back.
// Why: onnxruntime-web 1.30's WebGPU EP keeps one WebGPU context per device, shared by every session on it (the
// U-Net, text encoder and VAE keep the default one alive for the app's whole life). A released session's buffers
// go back to that context's buffer cache (storage buffers: "bucket" mode, sizes rounded up to buckets and kept for
// reuse), not to the GPU; and, per ORT's source (webgpu_context.cc, webgpu_provider_factory.cc), the cache modes
// are context settings fixed once, when the context is made, so a later session cannot opt out. Measured with the
// GPU ledger (groups-ledger.ts) on the shared device: each released tiny group left its 37 472 B of weights live.
// A device passed in the EP options gets its own context (its own buffer manager, with the cache mode given here);
// that context ends with its only session, and the ledger then shows live bytes back at the start level from ORT's
// release alone. Destroying the device afterwards is the guarantee: by the WebGPU spec it frees every buffer still
// made on it, whatever a cache kept. The shared context, its sessions and their bucket cache (which the denoising
// loop relies on) are untouched: only encoder groups get these options.
import type { InferenceSession } from '../ort-types';

export interface GroupDevice {
  /** Session options that put the session on this device. */
  options: InferenceSession.SessionOptions;
  /** Destroys the device: every GPU buffer made on it is freed. Call after the session is released. */
  destroy(): void;
}

/** Features onnxruntime's WebGPU context asks for when it makes its own device (webgpu_context.cc), if offered. */
const ORT_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query', 'chromium-experimental-subgroup-matrix'] as const;
/** Limits it raises to the adapter's values (same file, GetRequiredLimits). */
const ORT_LIMITS = [
  'maxBindGroups',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
] as const;

/**
 * A fresh device like the one ORT would make (same features and limits, so the same kernels run), or undefined
 * where there is no browser WebGPU (Node, WASM backend) or no adapter — the caller then uses ORT's shared device.
 */
export async function groupDevice(): Promise<GroupDevice | undefined> {
  const gpu = (globalThis.navigator as Navigator | undefined)?.gpu;
  if (!gpu || typeof GPUDevice === 'undefined') return undefined;
  let device: GPUDevice;
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return undefined;
    const requiredFeatures = ORT_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
    const requiredLimits: Record<string, number> = {};
    for (const k of ORT_LIMITS) {
      const v = (adapter.limits as unknown as Record<string, number | undefined>)[k];
      if (typeof v === 'number') requiredLimits[k] = v;
    }
    device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'psa-web profile encoder group' });
  } catch {
    return undefined;
  }
  return {
    options: {
      executionProviders: [
        {
          name: 'webgpu',
          device,
          // Plain sizes, freed after the submit that used them: no bucket rounding (up to +30 % on a weight) and
          // no cache to outlive the session. One forward pass per group gains nothing from reuse.
          storageBufferCacheMode: 'lazyRelease',
        },
      ],
    },
    destroy: () => device.destroy(),
  };
}
