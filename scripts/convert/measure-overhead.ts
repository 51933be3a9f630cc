// `npx tsx scripts/convert/measure-overhead.ts [--runs N] [--batch B] [--size PX]`: PSA's cost per U-Net step on
// onnxruntime-node (CPU), using the committed tiny fixture: the plain U-Net (fixtures/convert/unet) against the
// same U-Net converted with PSA (broadcast and attention forms), same sample shape, runs interleaved so machine
// load hits all alike. Prints medians and ratios; a measurement, never pass/fail.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { convert } from './bundle';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const FIX = path.join(ROOT, 'fixtures', 'convert');
const PARITY = path.join(ROOT, 'fixtures', 'parity', 'bundle');

const { values } = parseArgs({ options: { runs: { type: 'string' }, batch: { type: 'string' }, size: { type: 'string' } } });
const runs = Number(values.runs ?? 60), B = Number(values.batch ?? 2), px = Number(values.size ?? 64);

const tmp = mkdtempSync(path.join(os.tmpdir(), 'psa-overhead-'));
try {
  const sd15 = path.join(tmp, 'sd15');
  for (const f of ['model_index.json', 'scheduler', 'text_encoder', 'tokenizer', 'vae_decoder']) cpSync(path.join(PARITY, f), path.join(sd15, f), { recursive: true });
  cpSync(path.join(FIX, 'unet'), path.join(sd15, 'unet'), { recursive: true });
  const models: Record<string, { file: string; psa: boolean }> = { plain: { file: path.join(FIX, 'unet', 'model.onnx'), psa: false } };
  for (const form of ['broadcast', 'attention'] as const) {
    const r = convert({ sd15, psa: path.join(FIX, 'psa_adapter.bin'), out: path.join(tmp, form), graft: form });
    models[form] = { file: path.join(r.dir, 'unet', 'model.onnx'), psa: true };
  }
  const opts: ort.InferenceSession.SessionOptions = { logSeverityLevel: 3, intraOpNumThreads: 1, interOpNumThreads: 1 };
  const sessions = Object.fromEntries(await Promise.all(Object.entries(models).map(async ([k, m]) => [k, await ort.InferenceSession.create(m.file, opts)] as const)));
  const h = px / 8;
  const rnd = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.8);
  const feeds = (psa: boolean): Record<string, ort.Tensor> => ({
    sample: new ort.Tensor('float32', rnd(B * 4 * h * h), [B, 4, h, h]),
    timestep: new ort.Tensor('int64', BigInt64Array.of(501n), [1]),
    encoder_hidden_states: new ort.Tensor('float32', rnd(B * (psa ? 78 : 77) * 16), [B, psa ? 78 : 77, 16]),
    ...(psa ? { psa_scale: new ort.Tensor('float32', Float32Array.of(1), [1]) } : {}),
  });
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(models).map((k) => [k, []]));
  for (let i = 0; i < runs + 5; i++) {
    for (const [k, s] of Object.entries(sessions)) {
      const f = feeds(models[k].psa);
      const t0 = performance.now();
      await s.run(f);
      if (i >= 5) times[k].push(performance.now() - t0); // 5 warm-up rounds
    }
  }
  const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  const base = med(times.plain);
  console.log(`U-Net step, batch ${B}, ${px}×${px} px, ${runs} interleaved runs, 1 thread, onnxruntime-node CPU (load ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores)`);
  for (const [k, t] of Object.entries(times)) console.log(`  ${k.padEnd(10)} median ${med(t).toFixed(3)} ms  (×${(med(t) / base).toFixed(3)} vs plain)`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
