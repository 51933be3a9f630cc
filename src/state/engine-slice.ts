// Engine slice: talks to the engine only through EngineClient; holds what the UI shows about it.
import type { StateCreator } from 'zustand';
import { EngineClient } from '../engine/client';
import { toErrorInfo, type ErrorInfo } from '../shared/errors';
import type { Backend, Capabilities, GenerateParams, GenerateResult, LoadedBundleInfo, StepInfo } from '../shared/types';

export const DEMO_BUNDLE_URL = `${import.meta.env.BASE_URL}models/demo/`;

export type EngineStatus = 'starting' | 'loading' | 'ready' | 'generating' | 'error';
/** What the person asked to run on: 'auto' lets the engine decide (WASM on a software GPU, else WebGPU). */
export type BackendChoice = Backend | 'auto';

export interface EngineSlice {
  status: EngineStatus;
  caps?: Capabilities;
  bundle?: LoadedBundleInfo;
  loadProgress?: { file: string; loaded: number; total: number };
  step?: StepInfo;
  result?: GenerateResult;
  error?: ErrorInfo;
  notice?: string;
  backendChoice: BackendChoice;
  /** Loads `url` (default: the last one, else the demo bundle) on `backend` (default: the last choice, else auto). */
  startEngine(url?: string, backend?: BackendChoice): Promise<void>;
  generate(params: GenerateParams): Promise<void>;
  cancel(): void;
}

let client: EngineClient | undefined;
let running: ReturnType<EngineClient['generate']> | undefined;

/** The engine client once started, for other slices that need the engine (the profiles slice's embeddings). */
export function engineClient(): EngineClient | undefined {
  return client;
}
let lastUrl: string | undefined;

export const createEngineSlice: StateCreator<EngineSlice, [], [], EngineSlice> = (set, get) => ({
  status: 'starting',
  backendChoice: 'auto',
  async startEngine(url = lastUrl ?? DEMO_BUNDLE_URL, backend = get().backendChoice) {
    // React's StrictMode runs mount effects twice in development: one start at a time.
    if (get().status === 'loading') return;
    if (!client) {
      client = new EngineClient();
      client.onNotice((_code, message) => set({ notice: message }));
    }
    lastUrl = url;
    // The old bundle's description goes: the engine unloads it, and the status line must not show its backend.
    set({ status: 'loading', error: undefined, backendChoice: backend, bundle: undefined });
    try {
      const caps = await client.detect();
      set({ caps });
      const bundle = await client.load({ url, backend }, (file, loaded, total) => set({ loadProgress: { file, loaded, total } }));
      set({ bundle, status: 'ready', loadProgress: undefined });
    } catch (e) {
      set({ status: 'error', error: toErrorInfo(e) });
    }
  },
  async generate(params) {
    if (!client) return;
    set({ status: 'generating', error: undefined, notice: undefined, step: undefined });
    running = client.generate(params, (step) => set({ step }));
    try {
      const result = await running.result;
      set({ result, status: 'ready' });
    } catch (e) {
      const error = toErrorInfo(e);
      set({ status: 'ready', error: error.code === 'CANCELLED' ? undefined : error, notice: error.code === 'CANCELLED' ? 'Stopped.' : undefined });
    } finally {
      running = undefined;
    }
  },
  cancel() {
    running?.cancel();
  },
});
