// The engine's state machine, the same in the worker and the Node CLI: one loaded bundle, one generation at a
// time (a second request while busy is refused with BUSY), cancel by request id, and recovery after a lost
// device or an out-of-memory error (sessions are recreated; if WebGPU cannot come back, WASM with a notice).

import type { Variant } from '../shared/bundle';
import { AppError, toErrorInfo } from '../shared/errors';
import type { LoadOptions } from '../shared/protocol';
import type { Backend, Capabilities, EmbedResult, GenerateParams, GenerateResult, LoadedBundleInfo, StepInfo } from '../shared/types';
import type { BundleReader } from './bundle-reader';
import { resolveBundle } from './bundle-resolve';
import { loadModels, releaseModels, type LoadedModels, type Progress } from './models';
import { generate, releaseKernels, type LoopMode } from './pipeline';
import type { Runtime } from './sessions';
import { describeBundleEncoder, type BundleEncoderInfo } from './embedding/bundle-encoder';
import { computeEmbedding, type EmbedProgress } from './embedding/compute';
import { folderEncoder } from './embedding/encoder-source';
import { locateChecker } from './image-check';

export interface EngineHost {
  detect(): Promise<Capabilities>;
  runtime(backend: Backend): Runtime;
  reader(url: string): BundleReader;
  notice?(code: string, message: string): void;
}

export class Engine {
  private models?: LoadedModels;
  private rt?: Runtime;
  private loaded?: { options: LoadOptions; info: LoadedBundleInfo };
  private caps?: Capabilities;
  private running?: { id: string; controller: AbortController };
  private loading = false;
  /** The loaded bundle's profile encoder (files and identity only: its session exists only inside `embed`). */
  private encoder?: BundleEncoderInfo;
  /** Loop override (tests compare the kernel loop with the reference loop). */
  loop?: LoopMode;
  /** Override of the reference loop's one-row-per-call cap (pipeline GenerateHooks.rowSplitBytes; tests). */
  rowSplitBytes?: number;

  constructor(private host: EngineHost) {}

  async detect(): Promise<Capabilities> {
    this.caps ??= await this.host.detect();
    return this.caps;
  }

  get info(): LoadedBundleInfo | undefined {
    return this.loaded?.info;
  }

  async load(options: LoadOptions, onProgress?: Progress): Promise<LoadedBundleInfo> {
    if (this.running || this.loading) throw new AppError('BUSY', 'the engine is busy; wait for the current request or cancel it');
    this.loading = true;
    try {
      const caps = await this.detect();
      const backend = pickBackend(options.backend ?? 'auto', caps);
      await this.unload();
      const reader = this.host.reader(options.url);
      const bundle = await resolveBundle(reader);
      const rt = this.host.runtime(backend);
      const models = await loadModels(rt, reader, bundle, { shaderF16: caps.shaderF16, unetVariant: options.variant, onProgress });
      this.models = models;
      this.rt = rt;
      const encoder = await describeBundleEncoder(reader, bundle, backend, caps.shaderF16);
      this.encoder = encoder;
      const info: LoadedBundleInfo = {
        id: bundle.id,
        name: bundle.name,
        version: bundle.version,
        layout: bundle.layout,
        psa: !!models.userProjection,
        userTokens: models.io.userTokens,
        embeddingSize: models.io.embeddingSize,
        backend,
        ...(rt.ortBuild ? { ortBuild: rt.ortBuild } : {}),
        variants: models.variants as Record<string, Variant>,
        defaultSize: bundle.image,
        sizes: bundle.sizes,
        defaultScheduler: bundle.defaultScheduler,
        hiddenSize: models.io.hidden,
        imageChecker: (await locateChecker(reader, bundle, []).catch(() => undefined)) !== undefined,
        ...(encoder ? { profileEncoder: { id: encoder.id, template: encoder.template, ...(encoder.removed ? { removed: true } : {}) } } : {}),
      };
      this.loaded = { options, info };
      return info;
    } finally {
      this.loading = false;
    }
  }

  async generate(id: string, params: GenerateParams, onStep?: (s: StepInfo) => void): Promise<GenerateResult> {
    if (this.running || this.loading) throw new AppError('BUSY', 'another request is running; wait for it or cancel it');
    if (!this.models || !this.rt) throw new AppError('NOT_LOADED', 'no model bundle is loaded');
    const controller = new AbortController();
    this.running = { id, controller };
    try {
      const result = await generate(this.rt, this.models, params, { signal: controller.signal, onStep, loop: this.loop, rowSplitBytes: this.rowSplitBytes });
      if (params.profile !== undefined) result.profile = params.profile;
      return result;
    } catch (e) {
      const info = toErrorInfo(e);
      this.running = undefined;
      if (info.code === 'DEVICE_LOST' || (info.code === 'OUT_OF_MEMORY' && this.rt.backend === 'webgpu')) await this.recover(info.code);
      throw e instanceof AppError ? e : new AppError(info.code, info.message);
    } finally {
      this.running = undefined;
    }
  }

  /**
   * The PSA user embedding of `text` (the rendered embedding template) with the loaded bundle's profile encoder:
   * its session is created for this call and released before it returns (also on error and cancel). Busy rules as
   * for generate: one request at a time.
   */
  async embed(id: string, text: string, onProgress?: EmbedProgress, opts: { encoderUrl?: string } = {}): Promise<EmbedResult> {
    if (this.running || this.loading) throw new AppError('BUSY', 'another request is running; wait for it or cancel it');
    if (!this.models || !this.rt) throw new AppError('NOT_LOADED', 'no model bundle is loaded');
    if (!this.encoder && !opts.encoderUrl) throw new AppError('INVALID_REQUEST', `the loaded bundle (${this.loaded?.info.name ?? 'unknown'}) has no profile encoder`);
    if (!opts.encoderUrl && this.encoder!.removed) {
      throw new AppError('MODEL_FILE_MISSING', `the profile encoder of ${this.loaded?.info.name ?? 'the loaded bundle'} was removed to save space; download the bundle again to compute new profile embeddings`);
    }
    const rt = this.rt;
    const controller = new AbortController();
    this.running = { id, controller };
    try {
      // A standalone encoder folder (Optimum layout) runs on the loaded bundle's backend.
      const source = opts.encoderUrl ? await folderEncoder(this.host.reader(opts.encoderUrl)) : this.encoder!.source;
      const { details: _details, ...result } = await computeEmbedding(rt, source, text, { signal: controller.signal, onProgress });
      return result;
    } finally {
      this.running = undefined;
    }
  }

  /** Cancels the running generation if its id matches; true when something was cancelled. */
  cancel(target: string): boolean {
    if (this.running?.id !== target) return false;
    this.running.controller.abort();
    return true;
  }

  async unload(): Promise<void> {
    if (this.models) {
      await releaseKernels(this.models);
      await releaseModels(this.models);
    }
    this.models = undefined;
    this.rt = undefined;
    this.loaded = undefined;
    this.encoder = undefined;
  }

  /** Recreates the sessions after a lost device; falls back to WASM when WebGPU does not come back. */
  private async recover(code: string): Promise<void> {
    const prev = this.loaded;
    await this.unload().catch(() => undefined);
    if (!prev) return;
    // Ask for an adapter again before touching ORT: with the GPU gone, ORT's own device request never settles.
    this.caps = undefined;
    const caps = await this.detect();
    try {
      if (!caps.webgpu) throw new AppError('NO_WEBGPU', caps.webgpuReason ?? 'WebGPU is gone');
      await this.load(prev.options);
      this.host.notice?.('RECOVERED', `The graphics device failed (${code}); the model was reloaded.`);
    } catch {
      await this.load({ ...prev.options, backend: 'wasm' });
      this.host.notice?.('FELL_BACK_TO_WASM', `The graphics device failed (${code}); generation continues on the CPU (WASM), which is slower.`);
    }
  }
}

export function pickBackend(wish: Backend | 'auto', caps: Capabilities): Backend {
  if (wish === 'auto') return caps.preferred;
  if (wish === 'webgpu' && !caps.webgpu) throw new AppError('NO_WEBGPU', caps.webgpuReason ?? 'WebGPU is not available in this browser');
  return wish;
}
