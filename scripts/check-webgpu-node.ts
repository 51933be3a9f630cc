// `npm run check:webgpu-node -- [--bundle DIR] [--mesa ROOT] [--json]` (opt-in; not part of CI): runs a bundle's
// U-Net variants on onnxruntime-node's WebGPU EP (Dawn → Vulkan) — the one place without a GPU where float16
// WebGPU kernels run, on Mesa ≥ 25 lavapipe (shader-f16) — and checks that
//   - every node computing on weights or activations is on the WebGPU EP (ORT's verbose placement log), and
//   - its output matches the same variant on the CPU EP.
// Without --bundle it converts the tiny fixture (fixtures/convert) with --quantize none,fp16,int8,q4 and q4f16.
// --mesa ROOT points at an unpacked Mesa (dpkg -x of bookworm-backports' mesa-vulkan-drivers, libdrm2,
// libdrm-amdgpu1 and libvulkan1): the script then sets VK_ICD_FILENAMES and LD_LIBRARY_PATH for the child runs.
// Exit: 0 all checked variants pass; 1 a variant fails; 2 usage; 3 no WebGPU EP / adapter; 4 no shader-f16 (the
// fp16 variants are then reported as skipped, the others still checked).
// Each model runs in a child process (`--child`), whose stderr carries ORT's native verbose log.
import { spawnSync } from 'node:child_process';
import { closeSync, cpSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { BundleManifest, ModelFile } from '../src/shared/bundle';
import { loadOnnx, num, onnx } from './convert/onnx-model';
import { mesaEnv } from './lib/mesa-env';
import { judgePlacement, parsePlacements } from './convert/quantize/placement';

const ROOT = path.resolve(import.meta.dirname, '..');
const USAGE = 'usage: npm run check:webgpu-node -- [--bundle DIR] [--mesa ROOT] [--json]';

interface ChildResult {
  ok: boolean;
  error?: string;
  webgpu?: number[];
  cpu?: number[];
  createMs?: number;
  runMs?: number;
}

// ---------- child: one model on the WebGPU EP (verbose) and on the CPU EP ----------
async function child(model: string, userTokens: number): Promise<void> {
  const ort = await import('onnxruntime-node');
  const m = loadOnnx(model, path.dirname(model), model);
  const dims = (name: string) => m.model.graph!.input!.find((i) => i.name === name)?.type?.tensorType?.shape?.dim?.map((d) => num(d.dimValue ?? 0)) ?? [];
  const elem = (name: string) => m.model.graph!.input!.find((i) => i.name === name)?.type?.tensorType?.elemType;
  const hidden = dims('encoder_hidden_states')[2] || 768;
  let seed = 1;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const floats = (n: number) => Float32Array.from({ length: n }, rnd);
  const feeds: Record<string, import('onnxruntime-node').Tensor> = {
    sample: new ort.Tensor('float32', floats(4 * 8 * 8), [1, 4, 8, 8]),
    timestep: elem('timestep') === 7 ? new ort.Tensor('int64', BigInt64Array.of(500n), [1]) : new ort.Tensor('float32', Float32Array.of(500), [1]),
    encoder_hidden_states: new ort.Tensor('float32', floats((77 + userTokens) * hidden), [1, 77 + userTokens, hidden]),
  };
  if (elem('psa_scale')) feeds.psa_scale = new ort.Tensor('float32', Float32Array.of(1), [1]);
  const result: ChildResult = { ok: false };
  try {
    const t0 = performance.now();
    const s = await ort.InferenceSession.create(model, { executionProviders: ['webgpu'], logSeverityLevel: 0, logVerbosityLevel: 0 });
    const t1 = performance.now();
    result.webgpu = Array.from((await s.run(feeds)).out_sample.data as Float32Array);
    Object.assign(result, { createMs: t1 - t0, runMs: performance.now() - t1 });
    await s.release();
    // 'basic': the CPU EP's default level fuses DequantizeLinear + MatMul into an 8-bit MatMulNBits (~3e-3 off);
    // basic keeps the dequantize-then-float math the WebGPU EP does.
    const c = await ort.InferenceSession.create(model, { executionProviders: ['cpu'], logSeverityLevel: 3, graphOptimizationLevel: 'basic' });
    result.cpu = Array.from((await c.run(feeds)).out_sample.data as Float32Array);
    result.ok = true;
  } catch (e) {
    result.error = String((e as Error).message ?? e).split('\n')[0];
  }
  process.stdout.write(`@@RESULT ${JSON.stringify(result)}\n`);
}

// ---------- parent ----------
function relErr(a: number[], b: number[]): number {
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

function runChild(model: string, userTokens: number, env: NodeJS.ProcessEnv, logFile: string): { result: ChildResult; log: string[] } {
  // stderr (ORT's native verbose log) goes straight to a file: read through a pipe, parts of it went missing.
  const fd = openSync(logFile, 'w');
  let r;
  try {
    r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'scripts/check-webgpu-node.ts'), '--child', model, '--user-tokens', String(userTokens)], {
      cwd: ROOT, env, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', fd],
    });
  } finally {
    closeSync(fd);
  }
  const lines = readFileSync(logFile, 'utf8').split('\n');
  const line = `${r.stdout}`.split('\n').find((l) => l.startsWith('@@RESULT '));
  const result: ChildResult = line ? JSON.parse(line.slice(9)) : { ok: false, error: `child exited ${r.status}: ${lines.filter((l) => /error|fail/i.test(l)).slice(-1)[0] ?? ''}` };
  return { result, log: lines };
}

/** A tiny float16 Add: runs on the WebGPU EP only where the adapter has shader-f16. */
function f16Probe(dir: string): string {
  const vi = (name: string) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: 10, shape: { dim: [{ dimValue: 4 }] } } } });
  const model = onnx.ModelProto.create({
    irVersion: 8, opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'f16', node: [{ opType: 'Add', input: ['a', 'b'], output: ['c'] }], input: [vi('a'), vi('b')], output: [vi('c')] },
  });
  const file = path.join(dir, 'f16-probe.onnx');
  writeFileSync(file, onnx.ModelProto.encode(model).finish());
  return file;
}

function probeAdapter(dir: string, env: NodeJS.ProcessEnv): { webgpu: boolean; f16: boolean; detail: string } {
  const code = `const ort = require('onnxruntime-node');
    (async () => { const r = {};
      try { const s = await ort.InferenceSession.create(${JSON.stringify(f16Probe(dir))}, { executionProviders: ['webgpu'], logSeverityLevel: 3 });
        const h = new ort.Tensor('float16', Uint16Array.of(0x3c00, 0x4000, 0x4200, 0x4400), [4]);
        const out = await s.run({ a: h, b: h }); r.f16 = Array.from(out.c.data).join(',') === '16384,17408,17920,18432'; r.webgpu = true;
      } catch (e) { r.error = String(e.message).split('\\n')[0]; }
      console.log('@@PROBE ' + JSON.stringify(r)); })();`;
  const p = spawnSync(process.execPath, ['-e', code], { cwd: ROOT, env, encoding: 'utf8' });
  const line = `${p.stdout}`.split('\n').find((l) => l.startsWith('@@PROBE '));
  const r = line ? JSON.parse(line.slice(8)) : { error: `probe exited ${p.status}: ${p.stderr.split('\n').filter(Boolean).slice(-1)[0] ?? ''}` };
  if (r.webgpu) return { webgpu: true, f16: !!r.f16, detail: r.f16 ? 'WebGPU EP with shader-f16' : 'WebGPU EP, fp16 result wrong' };
  const noF16 = /f16/i.test(r.error ?? '');
  return { webgpu: noF16, f16: false, detail: r.error ?? 'unknown' };
}

function tinyBundles(tmp: string): string[] {
  const sd15 = path.join(tmp, 'sd15');
  const parity = path.join(ROOT, 'fixtures/parity/bundle');
  for (const f of ['model_index.json', 'scheduler', 'text_encoder', 'tokenizer', 'vae_decoder']) cpSync(path.join(parity, f), path.join(sd15, f), { recursive: true });
  cpSync(path.join(ROOT, 'fixtures/convert/unet-external'), path.join(sd15, 'unet'), { recursive: true });
  const out: string[] = [];
  for (const [name, quantize] of [['all', 'none,fp16,int8,q4'], ['q4f16', 'q4f16']]) {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'scripts/convert.ts'), '--sd15', sd15, '--psa', path.join(ROOT, 'fixtures/convert/psa_adapter.bin'), '--quantize', quantize, '--out', path.join(tmp, name), '--json'], { cwd: ROOT, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`converting the tiny fixture failed: ${r.stderr.trim().split('\n').pop()}`);
    out.push(path.join(tmp, name));
  }
  return out;
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ options: { bundle: { type: 'string', multiple: true }, mesa: { type: 'string' }, json: { type: 'boolean' }, child: { type: 'string' }, 'user-tokens': { type: 'string' }, help: { type: 'boolean' } }, strict: true }));
  } catch (e) {
    console.error(`check-webgpu-node: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.child) {
    await child(values.child, Number(values['user-tokens'] ?? 0));
    return 0;
  }

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'check-webgpu-node-'));
  try {
    const env = mesaEnv(values.mesa);
    const adapter = probeAdapter(tmp, env);
    if (!adapter.webgpu) {
      console.error(`check-webgpu-node: onnxruntime-node's WebGPU EP is unavailable here: ${adapter.detail}\n  (no Vulkan driver Dawn accepts; Mesa ≥ 25 lavapipe works — see docs: --mesa ROOT)`);
      return 3;
    }
    console.log(`adapter: ${adapter.detail}${adapter.f16 ? '' : ' — NO shader-f16: fp16 and q4f16 variants are skipped'}`);
    const bundles = values.bundle ?? (mkdirSync(path.join(tmp, 'b')), tinyBundles(path.join(tmp, 'b')));
    const rows: Record<string, unknown>[] = [];
    let failed = false;
    for (const dir of bundles) {
      const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as BundleManifest;
      for (const [variant, f] of Object.entries(manifest.components.unet.variants) as [string, ModelFile][]) {
        const needsF16 = variant === 'fp16' || (f.requires ?? []).includes('shader-f16');
        const label = `${path.basename(dir)}/${f.path}`;
        if (needsF16 && !adapter.f16) {
          rows.push({ model: label, variant, skipped: 'no shader-f16' });
          console.log(`${label.padEnd(34)} skipped: the adapter has no shader-f16`);
          continue;
        }
        const file = path.join(dir, f.path);
        const { result, log } = runChild(file, manifest.psa?.userTokens ?? 0, env, path.join(tmp, 'child.log'));
        const verdict = judgePlacement(parsePlacements(log), loadOnnx(file, path.dirname(file), label).model);
        const err = result.ok ? relErr(result.webgpu!, result.cpu!) : NaN;
        const pass = result.ok && verdict.cpuFloat.length === 0 && (verdict.counts.WebGpuExecutionProvider ?? 0) > 0 && err < (needsF16 ? 5e-2 : 1e-3);
        failed ||= !pass;
        rows.push({ model: label, variant, pass, relErrVsCpu: err, placement: verdict.counts, cpuFallbacks: verdict.cpuFloat, cpuScalarFloat: verdict.cpuScalarFloat.length, error: result.error, createMs: result.createMs, runMs: result.runMs });
        console.log(`${label.padEnd(34)} ${pass ? 'PASS' : 'FAIL'}  placement ${JSON.stringify(verdict.counts)}, weight/activation ops on CPU: ${verdict.cpuFloat.length}${verdict.cpuFloat.length ? ` (${verdict.cpuFloat.slice(0, 5).join('; ')})` : ''}, rel err vs CPU EP ${result.ok ? err.toExponential(2) : `— ${result.error}`}`);
      }
    }
    if (values.json) console.log(JSON.stringify({ adapter, rows }, null, 2));
    if (failed) return 1;
    return adapter.f16 ? 0 : 4;
  } catch (e) {
    console.error(`check-webgpu-node: ${(e as Error).message}`);
    return 1;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// exitCode, not process.exit(): a child must end normally so the native log buffered in std::clog is flushed.
main().then((code) => (process.exitCode = code));
