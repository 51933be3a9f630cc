// `npx tsx scripts/convert/measure-overhead.ts [--runs N] [--batch B] [--size PX] [--threads N] [--ep cpu|webgpu]
//   [--mesa ROOT] [--sd15 DIR --psa FILE] [--forms broadcast,attention]`: PSA's cost per U-Net step on
// onnxruntime-node: a plain U-Net against the same U-Net converted with PSA (each graft form asked for), same sample
// shapes, psa_scale 1, runs interleaved so machine load hits all alike (5 warm-up rounds dropped). Prints medians
// and ratios; a measurement, never pass/fail.
// - Default: the committed tiny fixture (fixtures/convert/unet + psa_adapter.bin), both graft forms.
// - `--sd15 DIR --psa FILE`: any Optimum SD1.5 export + PSA checkpoint, e.g. the full-size synthetic one
//   (`psa_convert_fixture.py --synthetic-sd15 DIR` writes DIR/unet + DIR/psa_adapter.bin); default form: broadcast.
// - `--ep webgpu`: onnxruntime-node's WebGPU EP (Dawn). `--mesa ROOT` points it at an unpacked Mesa lavapipe (see
//   scripts/lib/mesa-env.ts); the script then re-runs itself in a child with that environment.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { mesaEnv } from '../lib/mesa-env';
import { convert } from './bundle';
import type { GraftForm } from './graft';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const FIX = path.join(ROOT, 'fixtures', 'convert');
const PARITY = path.join(ROOT, 'fixtures', 'parity', 'bundle');
const CHILD_MARK = 'PSA_MEASURE_OVERHEAD_CHILD';

const { values } = parseArgs({
  options: {
    runs: { type: 'string' }, batch: { type: 'string' }, size: { type: 'string' }, threads: { type: 'string' },
    ep: { type: 'string' }, mesa: { type: 'string' }, sd15: { type: 'string' }, psa: { type: 'string' }, forms: { type: 'string' },
  },
});
const runs = Number(values.runs ?? 60), B = Number(values.batch ?? 2), px = Number(values.size ?? 64);
const threads = Number(values.threads ?? 1);
const ep = values.ep ?? 'cpu';
if (ep !== 'cpu' && ep !== 'webgpu') throw new Error(`--ep ${ep}: cpu or webgpu`);
if (!!values.sd15 !== !!values.psa) throw new Error('--sd15 and --psa go together');
const forms = (values.forms ?? (values.sd15 ? 'broadcast' : 'broadcast,attention')).split(',') as GraftForm[];

if (values.mesa && !process.env[CHILD_MARK]) {
  // LD_LIBRARY_PATH is read when the process starts: measure in a child that starts with Mesa's environment.
  const r = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env: { ...mesaEnv(values.mesa), [CHILD_MARK]: '1' } });
  process.exit(r.status ?? 1);
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'psa-overhead-'));
try {
  // Only the U-Net is measured: components the given export lacks (the synthetic one has only unet/) come from the
  // tiny parity fixture, so the converter has a complete layout. The U-Net folder is linked, never copied.
  const src = values.sd15 ? path.resolve(values.sd15) : undefined;
  const psaFile = values.psa ? path.resolve(values.psa) : path.join(FIX, 'psa_adapter.bin');
  const sd15 = path.join(tmp, 'sd15');
  for (const f of ['model_index.json', 'scheduler', 'text_encoder', 'tokenizer', 'vae_decoder']) {
    cpSync(src && existsSync(path.join(src, f)) ? path.join(src, f) : path.join(PARITY, f), path.join(sd15, f), { recursive: true });
  }
  symlinkSync(src ? path.join(src, 'unet') : path.join(FIX, 'unet'), path.join(sd15, 'unet'), 'dir');
  const width = Number(JSON.parse(readFileSync(path.join(sd15, 'unet', 'config.json'), 'utf8')).cross_attention_dim);
  const models: Record<string, { file: string; psa: boolean }> = { plain: { file: path.join(sd15, 'unet', 'model.onnx'), psa: false } };
  for (const form of forms) {
    const t0 = performance.now();
    const r = convert({ sd15, psa: psaFile, out: path.join(tmp, form), graft: form });
    models[form] = { file: path.join(r.dir, 'unet', 'model.onnx'), psa: true };
    if (values.sd15) console.log(`converted (${form}) in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  const opts: ort.InferenceSession.SessionOptions = { logSeverityLevel: 3, intraOpNumThreads: threads, interOpNumThreads: 1, executionProviders: [ep] };
  const sessions: Record<string, ort.InferenceSession> = {};
  for (const [k, m] of Object.entries(models)) sessions[k] = await ort.InferenceSession.create(m.file, opts); // one at a time: full-size peak memory
  const h = px / 8;
  const rnd = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * 0.8);
  const feeds = (psa: boolean): Record<string, ort.Tensor> => ({
    sample: new ort.Tensor('float32', rnd(B * 4 * h * h), [B, 4, h, h]),
    timestep: new ort.Tensor('int64', BigInt64Array.of(501n), [1]),
    encoder_hidden_states: new ort.Tensor('float32', rnd(B * (psa ? 78 : 77) * width), [B, psa ? 78 : 77, width]),
    ...(psa ? { psa_scale: new ort.Tensor('float32', Float32Array.of(1), [1]) } : {}),
  });
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(models).map((k) => [k, []]));
  const warm = values.sd15 ? 1 : 5; // full size: one warm-up round (a run takes seconds)
  for (let i = 0; i < runs + warm; i++) {
    const order = Object.entries(sessions);
    if (i % 2) order.reverse(); // neither model always runs right after the other
    for (const [k, s] of order) {
      const f = feeds(models[k].psa);
      const t0 = performance.now();
      const out = await s.run(f);
      if (i >= warm) times[k].push(performance.now() - t0);
      if (!(out.out_sample.data as Float32Array).every(Number.isFinite)) throw new Error(`${k}: non-finite output`);
    }
  }
  const med = (a: number[]) => {
    const s = [...a].sort((x, y) => x - y);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const base = med(times.plain);
  const where = ep === 'webgpu' ? `WebGPU EP${values.mesa ? ' (Mesa lavapipe)' : ''}` : `CPU, ${threads} thread${threads > 1 ? 's' : ''}`;
  console.log(`U-Net step (${src ? path.basename(src) : 'tiny fixture'}), batch ${B}, ${px}×${px} px (latent ${h}×${h}), ${runs} interleaved runs, onnxruntime-node ${where} (load ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores)`);
  for (const [k, t] of Object.entries(times)) console.log(`  ${k.padEnd(10)} median ${med(t).toFixed(3)} ms  (×${(med(t) / base).toFixed(3)} vs plain)`);
  for (const s of Object.values(sessions)) await s.release();
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
