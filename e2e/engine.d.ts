// Types of the test-only window API of engine-harness.html.
import type { LoadOptions } from '../src/shared/protocol';
import type { Capabilities, GenerateParams, LoadedBundleInfo } from '../src/shared/types';
import type { ErrorInfo } from '../src/shared/errors';

export type JsonParams = Omit<GenerateParams, 'initialNoise' | 'userEmbedding'> & { initialNoise?: number[]; userEmbedding?: number[] };
export type HarnessResult =
  | { ok: true; width: number; height: number; rgba: number[]; latents?: number[]; backend: string; readbacks: number; gpuMapReads?: { text: number; loop: number; decode: number }; timings: Record<string, number>; truncated: { prompt: number; negative: number; concept?: number }; unet?: { calls: number; batch: number }; appliedSafetyConcept?: string; steps: { step: number; total: number; elapsedMs: number }[]; previews: number }
  | { ok: false; error: ErrorInfo; steps: { step: number }[]; previews: number };

declare global {
  interface Window {
    __engine?: {
      detect(): Promise<Capabilities>;
      load(o: LoadOptions): Promise<LoadedBundleInfo | { error: ErrorInfo }>;
      unload(): Promise<void>;
      generate(p: JsonParams, opts?: { cancelAtStep?: number }): Promise<HarnessResult>;
      concurrent(p: JsonParams): Promise<string[]>;
      notices(): string[];
      loseDevice(): Promise<void>;
      loseGpu(): Promise<void>;
    };
  }
}
