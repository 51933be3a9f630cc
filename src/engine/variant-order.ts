// Which model variant a backend prefers, best first. Its own module because the bundle download worker needs it to
// plan a download and must not pull in the engine's model loading (onnxruntime-web, transformers.js) with it.

import type { Variant } from '../shared/bundle';
import type { Backend } from '../shared/types';

/** Variant preference per backend: fp16 only where the GPU has shader-f16. */
export function variantOrder(backend: Backend, shaderF16: boolean): Variant[] {
  if (backend === 'webgpu') return shaderF16 ? ['fp16', 'fp32', 'int8', 'q4'] : ['fp32', 'int8', 'q4'];
  return ['fp32', 'int8', 'fp16', 'q4'];
}
