// The slice of the onnxruntime API the engine uses. onnxruntime-web (browser) and onnxruntime-node (CLI, tests)
// both implement it, so the pipeline is written once and handed whichever module fits where it runs.
import type { InferenceSession, Tensor } from 'onnxruntime-common';

export type { InferenceSession, Tensor };

export interface OrtLike {
  InferenceSession: { create(bytes: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  Tensor: typeof Tensor;
}
