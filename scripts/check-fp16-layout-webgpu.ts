// `npx tsx scripts/check-fp16-layout-webgpu.ts --mesa ROOT [--bundle DIR]` (opt-in, not part of CI): an fp16
// Optimum-layout export (default: fixtures/layouts/fp16 over the parity export) through the whole engine —
// loadModels' float16 detection, external data named by each .onnx, the pipeline — on onnxruntime-node's WebGPU EP
// with shader-f16 (Mesa ≥ 25 lavapipe under ROOT; see README "Use the real model" for the dpkg -x recipe), and the
// same on the CPU EP; prints both pictures' difference. Exit 0 when the WebGPU picture is a picture (not flat) and
// within 4 levels on average of the CPU one; 1 otherwise; 2 usage. Runs the engine in a child with Mesa's env.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { mesaEnv } from './lib/mesa-env';

const ROOT = path.resolve(import.meta.dirname, '..');

async function child(dir: string): Promise<void> {
  const ort = await import('onnxruntime-node');
  const { Engine } = await import('../src/engine/engine');
  const { nodeCapabilities } = await import('../src/engine/node-host');
  const { fsReader } = await import('../src/engine/node-reader');
  const { directSerial } = await import('../src/engine/sessions');
  const pics: Record<string, Uint8ClampedArray> = {};
  for (const backend of ['cpu', 'webgpu'] as const) {
    const engine = new Engine({
      detect: async () => ({ ...nodeCapabilities, webgpu: backend === 'webgpu', shaderF16: true, preferred: backend }),
      // onnxruntime-node aborts on `preferredOutputLocation: 'gpu-buffer'` (a browser-only feature): outputs come
      // back on the CPU here, which the pipeline handles (it checks each tensor's location).
      runtime: () => ({ ort: { ...ort, InferenceSession: { create: (m: Uint8Array, o: Record<string, unknown>) => ort.InferenceSession.create(m, { ...o, preferredOutputLocation: undefined } as never) } } as never, backend, serial: directSerial }),
      reader: fsReader,
    });
    const info = await engine.load({ url: dir, backend });
    const r = await engine.generate(backend, { prompt: 'a photo of a cat', seed: 1, steps: 4, scheduler: 'ddim', guidance: 7.5, width: 64, height: 64 });
    console.log(`${backend}: variants ${JSON.stringify(info.variants ?? {})}, ${r.timings.totalMs.toFixed(0)} ms`);
    pics[backend] = r.rgba;
    await engine.unload();
  }
  let max = 0;
  let sum = 0;
  let n = 0;
  let lo = 255;
  let hi = 0;
  for (let i = 0; i < pics.cpu.length; i++) {
    if (i % 4 === 3) continue;
    const d = Math.abs(pics.cpu[i] - pics.webgpu[i]);
    max = Math.max(max, d);
    sum += d;
    n++;
    lo = Math.min(lo, pics.webgpu[i]);
    hi = Math.max(hi, pics.webgpu[i]);
  }
  console.log(`webgpu (shader-f16) vs cpu: max ${max}, mean ${(sum / n).toFixed(2)}; webgpu range ${lo}..${hi}`);
  process.exit(hi - lo > 50 && sum / n < 4 ? 0 : 1);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { mesa: { type: 'string' }, bundle: { type: 'string' }, child: { type: 'string' } } });
  if (values.child) return child(values.child);
  if (!values.mesa) {
    console.error('usage: npx tsx scripts/check-fp16-layout-webgpu.ts --mesa ROOT [--bundle DIR]');
    process.exit(2);
  }
  let dir = values.bundle;
  let cleanup = () => undefined as void;
  if (!dir) {
    const { assembleLayout, removeLayout } = await import('../tests/helpers/layouts');
    dir = assembleLayout('fp16');
    const d = dir;
    cleanup = () => removeLayout(d);
  }
  const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), import.meta.filename, '--child', dir], { env: mesaEnv(values.mesa), stdio: 'inherit' });
  cleanup();
  process.exit(r.status ?? 1);
}

void main();
