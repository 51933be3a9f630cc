// Test-only browser harness (harness.html): `window.__harness.run(modelUrl, ep, feeds)` fetches one model, creates a
// session on 'webgpu' or 'wasm' through the app's ORT setup (engine/ort-web: native WebGPU EP build, own wasm, one
// serial chain), runs it on plain-array feeds and returns plain-array outputs; `adapterInfo()` describes the WebGPU
// adapter. `{ verbose: true }` gives that session ORT's verbose log (node placement, printed to the console).
import type * as OrtTypes from 'onnxruntime-web/webgpu';
import { loadOrt, serial } from '../ort-web';

// The app's own build choice (JSPI where the browser has it), loaded before the harness is offered.
const { ort, build: ortBuild } = await loadOrt();

export interface PlainTensor {
  type: 'float32' | 'int64' | 'int32';
  dims: number[];
  data: number[];
}
export interface RunResult {
  outputs: Record<string, PlainTensor>;
  createMs: number;
  /** First run (includes WebGPU shader compilation). */
  runMs: number;
  /** Every run when `repeat` > 1 (outputs are from the last one). */
  runsMs: number[];
}
export interface AdapterSummary {
  available: boolean;
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
  features: string[];
}

function toOrt(t: PlainTensor): OrtTypes.Tensor {
  if (t.type === 'int64') return new ort.Tensor('int64', BigInt64Array.from(t.data, (v) => BigInt(v)), t.dims);
  if (t.type === 'int32') return new ort.Tensor('int32', Int32Array.from(t.data), t.dims);
  return new ort.Tensor('float32', Float32Array.from(t.data), t.dims);
}

function fromOrt(t: OrtTypes.Tensor): PlainTensor {
  const data = t.data as Float32Array | Int32Array | BigInt64Array;
  const plain = data instanceof BigInt64Array ? Array.from(data, Number) : Array.from(data);
  return { type: t.type as PlainTensor['type'], dims: [...t.dims], data: plain };
}

async function fetchModel(url: string): Promise<Uint8Array> {
  const res = await fetch(url);
  const type = res.headers.get('content-type') ?? '';
  // The preview server answers unknown paths with index.html (200): treat HTML as "not found".
  if (!res.ok || type.includes('text/html')) throw new Error(`model ${url} not found (HTTP ${res.status}, ${type || 'no content-type'})`);
  return new Uint8Array(await res.arrayBuffer());
}

function run(modelUrl: string, ep: 'webgpu' | 'wasm', feeds: Record<string, PlainTensor>, opts: { repeat?: number; verbose?: boolean } = {}): Promise<RunResult> {
  return serial(async () => {
    const bytes = await fetchModel(modelUrl);
    const t0 = performance.now();
    const session = await ort.InferenceSession.create(bytes, {
      executionProviders: [ep],
      graphOptimizationLevel: 'all',
      logSeverityLevel: opts.verbose ? 0 : 3,
      logVerbosityLevel: 0,
      logId: modelUrl,
    });
    const t1 = performance.now();
    try {
      const inputs = Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, toOrt(v)]));
      const runsMs: number[] = [];
      let out: OrtTypes.InferenceSession.ReturnType = {};
      for (let i = 0; i < Math.max(1, opts.repeat ?? 1); i++) {
        const t = performance.now();
        out = await session.run(inputs);
        runsMs.push(performance.now() - t);
      }
      const outputs: Record<string, PlainTensor> = {};
      for (const name of session.outputNames) outputs[name] = fromOrt(out[name] as OrtTypes.Tensor);
      return { outputs, createMs: t1 - t0, runMs: runsMs[0], runsMs };
    } finally {
      await session.release();
    }
  });
}

async function adapterInfo(): Promise<AdapterSummary> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  const adapter = gpu ? await gpu.requestAdapter() : null;
  if (!adapter) return { available: false, features: [] };
  const info = adapter.info;
  return {
    available: true,
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallbackAdapter: (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter,
    features: [...adapter.features].sort(),
  };
}

const harness = { run, adapterInfo, ortVersion: ort.env.versions?.web ?? '', ortBuild };
declare global {
  interface Window {
    __harness?: typeof harness;
  }
}
window.__harness = harness;
document.getElementById('status')!.textContent = 'ready';
