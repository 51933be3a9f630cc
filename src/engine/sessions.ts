// Creating ORT sessions for bundle files: bytes in, a validated session out. Every failure says which file and
// which tensor: an unparsable/truncated file → MODEL_FILE_CORRUPT, I/O against the contract → CONTRACT_MISMATCH.

import { validateModelIO, type ModelRole } from '../shared/contract';
import { AppError } from '../shared/errors';
import type { Backend } from '../shared/types';
import type { InferenceSession, OrtLike } from './ort-types';
import { RangedBytes } from './bundles/ranged-bytes';

export interface Runtime {
  ort: OrtLike;
  backend: Backend;
  /** Serializes ORT calls (the browser build breaks when session creations overlap). */
  serial<T>(fn: () => Promise<T>): Promise<T>;
  /** Extra session options (e.g. verbose logging in tests). */
  sessionOptions?: InferenceSession.SessionOptions;
  /** Running count of real GPU→CPU buffer reads (WebGPU in a browser), when it can be measured. */
  gpuReads?: () => number;
  /** Which onnxruntime-web build runs (browser only; engine/ort-web.ts). */
  ortBuild?: 'jspi' | 'asyncify';
}

export const directSerial = <T>(fn: () => Promise<T>): Promise<T> => fn();

export interface CreateOptions {
  /** For messages: the file the bytes came from. */
  file: string;
  role?: ModelRole;
  externalData?: { path: string; data: Uint8Array }[];
  /** Keep outputs in GPU buffers (WebGPU only; ignored elsewhere). */
  gpuOutputs?: boolean;
  /**
   * The manifest's static sizes for this model's symbolic dimensions (component `staticDims`), handed to ORT as
   * `freeDimensionOverrides` so it can plan buffers and fuse shapes for the one size the bundle runs.
   */
  staticDims?: Record<string, number>;
}

function providers(backend: Backend): InferenceSession.SessionOptions['executionProviders'] {
  // Measurement build only (VITE_ORT_WEBGPU_CACHE=disabled|lazyRelease|simple|bucket): ORT's WebGPU storage-buffer
  // pool mode, compared at full size by e2e/measure/full-size.spec.ts (its default pools freed buffers by size).
  const env = import.meta.env as Record<string, string | undefined> | undefined; // undefined under plain Node (tsx)
  const cache = env?.VITE_ORT_WEBGPU_CACHE;
  if (backend === 'webgpu') return cache ? [{ name: 'webgpu', storageBufferCacheMode: cache } as never] : ['webgpu'];
  if (backend === 'wasm') return ['wasm'];
  return ['cpu'];
}

/** The ORT session options for one model: backend, optimisation, logging, external data, output placement, static dims. */
export function sessionOptions(rt: Pick<Runtime, 'backend' | 'sessionOptions' | 'ortBuild'>, o: Omit<CreateOptions, 'file' | 'role'>): InferenceSession.SessionOptions {
  const options: InferenceSession.SessionOptions = {
    executionProviders: providers(rt.backend),
    graphOptimizationLevel: 'all',
    // Errors only. A session's logger does not follow env.logLevel (that sets only ORT's default logger): it
    // defaults to warnings, and ORT-web prints those as console errors — e.g. "Some nodes were not assigned to the
    // preferred execution providers" for the shape ops ORT puts on the CPU on purpose. Tests may ask for more.
    logSeverityLevel: 3,
    ...rt.sessionOptions,
  };
  // ORT's JSPI build reads each initializer's range from a Blob itself (onnxruntime PR #29477; ort-web.ts): the
  // stored File goes in place of the RangedBytes, which the asyncify build needs.
  if (o.externalData) options.externalData = o.externalData.map((x) => (rt.ortBuild === 'jspi' && x.data instanceof RangedBytes && x.data.source ? { path: x.path, data: x.data.source as unknown as Uint8Array } : x));
  if (o.gpuOutputs && rt.backend === 'webgpu') options.preferredOutputLocation = 'gpu-buffer';
  if (o.staticDims && Object.keys(o.staticDims).length) {
    // Runtime-given overrides (tests) win over the manifest's for the same name.
    options.freeDimensionOverrides = { ...o.staticDims, ...rt.sessionOptions?.freeDimensionOverrides };
  }
  return options;
}

export async function createSession(rt: Runtime, bytes: Uint8Array, o: CreateOptions): Promise<InferenceSession> {
  const options = sessionOptions(rt, o);
  let session: InferenceSession;
  try {
    session = await rt.serial(() => rt.ort.InferenceSession.create(bytes, options)).finally(() => releaseRanged(rt, o));
  } catch (e) {
    const msg = firstLine(e);
    if (/protobuf|parse|Failed to load model|invalid model|Load model from .* failed|ModelProto|truncated/i.test(msg)) {
      throw new AppError('MODEL_FILE_CORRUPT', `${o.file} is not a readable ONNX model (truncated or corrupt file?): ${msg}`);
    }
    if (/external data|onnx_data|weights\.pb/i.test(msg)) {
      throw new AppError('MODEL_FILE_MISSING', `${o.file} needs external data that could not be read: ${msg}`);
    }
    if (/f16|shader-f16|float16/i.test(msg)) {
      throw new AppError('BACKEND_INIT_FAILED', `${o.file} needs float16 support that this device lacks: ${msg}`);
    }
    throw new AppError(rt.backend === 'webgpu' && /webgpu|adapter|device/i.test(msg) ? 'BACKEND_INIT_FAILED' : 'MODEL_FILE_CORRUPT', `${o.file}: ${msg}`);
  }
  if (o.role) {
    const problems = validateModelIO(o.role, { inputs: session.inputMetadata, outputs: session.outputMetadata }, o.file);
    if (problems.length) {
      await session.release().catch(() => undefined);
      throw new AppError('CONTRACT_MISMATCH', problems.map((p) => p.message).join('; '));
    }
  }
  return session;
}

/** ORT has copied every initializer once creation ends: free the last one read from disk now (ranged-bytes.ts). */
function releaseRanged(rt: Runtime, o: CreateOptions): void {
  for (const x of o.externalData ?? []) {
    if (!(x.data instanceof RangedBytes)) continue;
    if (rt.ortBuild === 'jspi' && x.data.source) x.data.readBySource();
    x.data.release();
  }
}

function firstLine(e: unknown): string {
  const s = e instanceof Error ? e.message : String(e);
  return s.split('\n').find((l) => l.trim())?.trim().slice(0, 400) ?? s;
}

/** Metadata of one input (type + declared shape), or undefined if the model has no such input. */
export function inputMeta(s: InferenceSession, name: string): { type: string; shape: readonly (number | string)[] } | undefined {
  const m = s.inputMetadata.find((v) => v.name === name);
  return m && m.isTensor ? { type: m.type, shape: m.shape } : undefined;
}

export function outputMeta(s: InferenceSession, name: string): { type: string; shape: readonly (number | string)[] } | undefined {
  const m = s.outputMetadata.find((v) => v.name === name);
  return m && m.isTensor ? { type: m.type, shape: m.shape } : undefined;
}
