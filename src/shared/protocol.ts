// The worker protocol: one discriminated union of requests (main → worker) and one of events (worker → main).
// Every request carries an `id`; every request ends in exactly one terminal event with that id
// (see TERMINAL_EVENTS). Errors cross as `{code, message}` only.

import type { ErrorInfo } from './errors';
import type { Backend, Capabilities, EmbedResult, GenerateParams, GenerateResult, LoadedBundleInfo, StepInfo } from './types';
import type { Variant } from './bundle';

export interface LoadOptions {
  /** Base URL of the bundle folder (manifest.json or model_index.json at its root). */
  url: string;
  /** Backend wish; 'auto' = WebGPU when usable, else WASM. */
  backend?: Backend | 'auto';
  /** Weight variant wish for the U-Net (default: the best the device supports). */
  variant?: Variant;
}

export type EngineRequest =
  | { type: 'detect'; id: string }
  | { type: 'load'; id: string; options: LoadOptions }
  | { type: 'generate'; id: string; params: GenerateParams }
  /**
   * PSA user embedding of `text` (the rendered embedding template) with the loaded bundle's profile encoder, or with
   * the standalone encoder folder at `encoderUrl` (Optimum / transformers.js feature-extraction layout).
   */
  | { type: 'embed'; id: string; text: string; encoderUrl?: string }
  | { type: 'cancel'; id: string; target: string }
  | { type: 'unload'; id: string }
  /** Test hooks (used by the e2e suite): simulated GPU failures, see engine/ort-web `simulateGpuFailure`. */
  | { type: 'debug'; id: string; action: 'lose-device' | 'lose-gpu' }
  /** Test hook: counts of live sessions (answered by `debug-info`). */
  | { type: 'debug-info'; id: string };

export type EngineEvent =
  | { type: 'detected'; id: string; caps: Capabilities }
  | { type: 'load-progress'; id: string; file: string; loaded: number; total: number }
  | { type: 'loaded'; id: string; info: LoadedBundleInfo }
  | { type: 'step'; id: string; info: StepInfo }
  | { type: 'generated'; id: string; result: GenerateResult }
  | { type: 'embed-progress'; id: string; phase: 'load' | 'tokenize' | 'run' | 'release'; loaded?: number; total?: number }
  | { type: 'embedded'; id: string; result: EmbedResult }
  | { type: 'debug-info'; id: string; liveEncoderSessions: number; encoderSessionsCreated: number }
  | { type: 'cancelled'; id: string }
  | { type: 'done'; id: string }
  | { type: 'notice'; id: string; code: string; message: string }
  | { type: 'error'; id: string; error: ErrorInfo };

export const TERMINAL_EVENTS = ['detected', 'loaded', 'generated', 'embedded', 'debug-info', 'cancelled', 'done', 'error'] as const;
export type TerminalEvent = Extract<EngineEvent, { type: (typeof TERMINAL_EVENTS)[number] }>;

export function isTerminal(e: EngineEvent): e is TerminalEvent {
  return (TERMINAL_EVENTS as readonly string[]).includes(e.type);
}
