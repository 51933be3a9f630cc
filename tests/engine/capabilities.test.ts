// The backend `auto` picks: a software WebGPU adapter (reported fallback, or SwiftShader/llvmpipe/lavapipe by name)
// means WASM with a reason in plain words; a real GPU keeps WebGPU; an explicit wish still wins.
import { describe, expect, it } from 'vitest';
import { isSoftwareAdapter, preferredFor, SOFTWARE_GPU_REASON, type AdapterSummary } from '../../src/engine/capabilities';
import { pickBackend } from '../../src/engine/engine';
import type { Capabilities } from '../../src/shared/types';

const gpu = (o: Partial<AdapterSummary>): AdapterSummary => ({ vendor: '', architecture: '', description: '', isFallbackAdapter: false, ...o });
const caps = (adapter: AdapterSummary): Capabilities => ({ webgpu: true, adapter, shaderF16: false, crossOriginIsolated: false, threads: 1, ...preferredFor(adapter) });

// Adapter infos as Chromium reports them (SwiftShader headless, Mesa's software drivers) and real GPUs.
const software = {
  'Chromium SwiftShader': gpu({ vendor: 'google', architecture: 'swiftshader', isFallbackAdapter: true }),
  'SwiftShader without the fallback flag': gpu({ vendor: 'google', architecture: 'swiftshader' }),
  'Mesa llvmpipe (description only)': gpu({ vendor: 'mesa', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }),
  'Mesa lavapipe, upper case': gpu({ architecture: 'LAVAPIPE' }),
  'fallback flag alone': gpu({ vendor: 'unknown', isFallbackAdapter: true }),
};
const hardware = {
  'NVIDIA': gpu({ vendor: 'nvidia', architecture: 'ada', description: 'NVIDIA GeForce RTX 4070' }),
  'Apple': gpu({ vendor: 'apple', architecture: 'metal-3' }),
  'Intel (empty strings, as privacy-limited info)': gpu({ vendor: 'intel' }),
};

describe('auto backend choice', () => {
  for (const [name, a] of Object.entries(software)) {
    it(`software adapter → WASM with the reason: ${name}`, () => {
      expect(isSoftwareAdapter(a)).toBe(true);
      expect(preferredFor(a)).toEqual({ preferred: 'wasm', preferredReason: SOFTWARE_GPU_REASON });
      expect(pickBackend('auto', caps(a))).toBe('wasm');
    });
  }
  for (const [name, a] of Object.entries(hardware)) {
    it(`real GPU keeps WebGPU: ${name}`, () => {
      expect(isSoftwareAdapter(a)).toBe(false);
      expect(preferredFor(a)).toEqual({ preferred: 'webgpu' });
      expect(pickBackend('auto', caps(a))).toBe('webgpu');
    });
  }
  it('the reason is plain words a person can read', () => {
    expect(SOFTWARE_GPU_REASON).toMatch(/software GPU.*processor is faster/);
  });
  it('an explicit wish wins: WebGPU can be forced on a software adapter, WASM on a real GPU', () => {
    expect(pickBackend('webgpu', caps(software['Chromium SwiftShader']))).toBe('webgpu');
    expect(pickBackend('wasm', caps(hardware.NVIDIA))).toBe('wasm');
  });
  it('forcing WebGPU without an adapter is refused with the reason', () => {
    const none: Capabilities = { webgpu: false, webgpuReason: 'no adapter here', shaderF16: false, crossOriginIsolated: false, threads: 1, preferred: 'wasm' };
    expect(() => pickBackend('webgpu', none)).toThrow(/no adapter here/);
  });
});
