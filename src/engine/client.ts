// The main thread's only door to the engine: spawns the module worker, sends typed requests, routes events by
// request id, and turns each request's terminal event into a settled promise (errors as AppError with a code).

import { AppError } from '../shared/errors';
import { isTerminal, type EngineEvent, type EngineRequest, type LoadOptions } from '../shared/protocol';
import type { Capabilities, EmbedResult, GenerateParams, GenerateResult, LoadedBundleInfo, StepInfo } from '../shared/types';

type Listener = (e: EngineEvent) => void;
type Req = EngineRequest extends infer R ? (R extends { id: string } ? Omit<R, 'id'> : never) : never;

let counter = 0;
const newId = () => `r${Date.now().toString(36)}-${(counter++).toString(36)}`;

export interface GenerateHandle {
  id: string;
  result: Promise<GenerateResult>;
  cancel(): void;
}

export class EngineClient {
  private listeners = new Map<string, Listener>();
  private noticeListeners = new Set<(code: string, message: string) => void>();
  private worker: Worker;

  constructor(worker?: Worker) {
    this.worker = worker ?? new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'psa-engine' });
    this.worker.onmessage = (e: MessageEvent<EngineEvent>) => {
      const ev = e.data;
      if (ev.type === 'notice') for (const l of this.noticeListeners) l(ev.code, ev.message);
      this.listeners.get(ev.id)?.(ev);
    };
    this.worker.onerror = (e) => {
      // A worker that fails to start (e.g. a script error) must not leave requests hanging.
      const err = { type: 'error' as const, error: { code: 'INTERNAL' as const, message: `engine worker failed: ${e.message}` } };
      for (const [id, l] of [...this.listeners]) l({ ...err, id });
    };
  }

  private request<T>(req: Req, onEvent?: Listener, id = newId()): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.listeners.set(id, (ev) => {
        onEvent?.(ev);
        if (!isTerminal(ev)) return;
        this.listeners.delete(id);
        if (ev.type === 'error') reject(new AppError(ev.error.code, ev.error.message));
        else if (ev.type === 'cancelled') reject(new AppError('CANCELLED', 'generation was cancelled'));
        else resolve(ev as T);
      });
      this.worker.postMessage({ ...req, id } as EngineRequest);
    });
  }

  async detect(): Promise<Capabilities> {
    const ev = await this.request<Extract<EngineEvent, { type: 'detected' }>>({ type: 'detect' });
    return ev.caps;
  }

  async load(options: LoadOptions, onProgress?: (file: string, loaded: number, total: number) => void): Promise<LoadedBundleInfo> {
    const ev = await this.request<Extract<EngineEvent, { type: 'loaded' }>>({ type: 'load', options }, (e) => {
      if (e.type === 'load-progress') onProgress?.(e.file, e.loaded, e.total);
    });
    return ev.info;
  }

  generate(params: GenerateParams, onStep?: (s: StepInfo) => void): GenerateHandle {
    const id = newId();
    const result = this.request<Extract<EngineEvent, { type: 'generated' }>>({ type: 'generate', params }, (e) => {
      if (e.type === 'step') onStep?.(e.info);
    }, id).then((ev) => ev.result);
    return { id, result, cancel: () => void this.cancel(id) };
  }

  /**
   * PSA user embedding of `text` (the rendered embedding template: `renderEmbeddingText(info.profileEncoder.template,
   * fields)`) with the loaded bundle's profile encoder (or `opts.encoderUrl`, a standalone encoder folder). Progress:
   * 'tokenize', 'load' (bytes), 'run', 'release'. The encoder's session exists only during this call.
   */
  async embed(
    text: string,
    onProgress?: (phase: 'load' | 'tokenize' | 'run' | 'release', loaded?: number, total?: number) => void,
    opts: { encoderUrl?: string } = {},
  ): Promise<EmbedResult> {
    const req = opts.encoderUrl ? { type: 'embed' as const, text, encoderUrl: opts.encoderUrl } : { type: 'embed' as const, text };
    const ev = await this.request<Extract<EngineEvent, { type: 'embedded' }>>(req, (e) => {
      if (e.type === 'embed-progress') onProgress?.(e.phase, e.loaded, e.total);
    });
    return ev.result;
  }

  /** Test hook: profile-encoder sessions alive in the worker (0 unless an embedding is being computed) and created so far. */
  async encoderSessions(): Promise<{ live: number; created: number }> {
    const ev = await this.request<Extract<EngineEvent, { type: 'debug-info' }>>({ type: 'debug-info' });
    return { live: ev.liveEncoderSessions, created: ev.encoderSessionsCreated };
  }

  async cancel(target: string): Promise<void> {
    await this.request({ type: 'cancel', target });
  }

  async unload(): Promise<void> {
    await this.request({ type: 'unload' });
  }

  /** Test hook: see the 'debug' request in shared/protocol. */
  async debug(action: 'lose-device' | 'lose-gpu'): Promise<void> {
    await this.request({ type: 'debug', action });
  }

  onNotice(fn: (code: string, message: string) => void): () => void {
    this.noticeListeners.add(fn);
    return () => this.noticeListeners.delete(fn);
  }

  terminate(): void {
    this.worker.terminate();
  }
}

// Model bundles (downloads into OPFS, folder import, storage): a second worker behind the same door.
export { BundlesClient, type InstallCallbacks, type InstallOutcome } from './bundles/client';
export type { InstallProgress, FileProgress, StoredBundle, StorageInfo, InstallStatus, BundleSource, BundlePlan } from './bundles/protocol';
