// The engine's host for Node (CLI, tests, benchmarks): onnxruntime-node on the CPU, bundles from disk.
// Never imported by browser code.
import * as ort from 'onnxruntime-node';
import type { Capabilities } from '../shared/types';
import { Engine, type EngineHost } from './engine';
import { fsReader } from './node-reader';
import { directSerial, type Runtime } from './sessions';
import type { OrtLike } from './ort-types';

export const nodeCapabilities: Capabilities = {
  webgpu: false,
  webgpuReason: 'the Node CLI runs on the CPU (onnxruntime-node)',
  shaderF16: false,
  crossOriginIsolated: false,
  threads: 1,
  preferred: 'cpu',
};

export function nodeRuntime(): Runtime {
  return { ort: ort as unknown as OrtLike, backend: 'cpu', serial: directSerial };
}

export function nodeEngine(notice?: EngineHost['notice']): Engine {
  return new Engine({ detect: async () => nodeCapabilities, runtime: nodeRuntime, reader: fsReader, notice });
}
