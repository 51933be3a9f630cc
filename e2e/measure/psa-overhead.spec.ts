// Measurement (e2e/measure.config.ts, never in `npm test`): PSA's cost per U-Net step in Chromium, on the WASM EP
// and on the WebGPU EP (SwiftShader here), through the app's ORT-web setup (harness.html). The committed plain tiny
// U-Net (fixtures/convert/unet, diffusers' own export) against the same U-Net converted with PSA's fixture adapter
// (default broadcast graft), batch 2 as CFG runs it, same sample shapes, psa_scale 1. Rounds alternate plain and PSA
// (each round: a new session, one warm-up run dropped, then timed runs), so load on the machine hits both alike.
// Prints medians and the PSA / plain ratio and records them in .tmp/measurements.json after each size; asserts only
// that both models ran and gave finite outputs, never a time. Env: PSA_OVERHEAD_ROUNDS (default 10),
// PSA_OVERHEAD_RUNS (runs timed per round, default 2), PSA_OVERHEAD_SIZES_WASM / _WEBGPU (image sizes in px; default
// "64,256" on WASM, "64" on WebGPU: SwiftShader runs a 256 px batch for seconds, and the test has 15 minutes).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { convert } from '../../scripts/convert/bundle';
import { noise } from '../../scripts/models/feeds';
import type { PlainTensor, RunResult } from '../../src/engine/dev/harness';
import { makeSd15, tmpDir } from '../../tests/convert/helpers';
import { record, ROOT } from '../helpers';

const ROUNDS = Number(process.env.PSA_OVERHEAD_ROUNDS ?? 10);
const RUNS = Number(process.env.PSA_OVERHEAD_RUNS ?? 2);
const SIZES = {
  wasm: (process.env.PSA_OVERHEAD_SIZES_WASM ?? '64,256').split(',').map(Number),
  webgpu: (process.env.PSA_OVERHEAD_SIZES_WEBGPU ?? '64').split(',').map(Number),
};
const B = 2;
const WIDTH = 16; // the fixture's cross_attention_dim
const OUT = join(ROOT, 'dist', 'psa-overhead-e2e'); // served by `vite preview` with the build
const PLAIN_URL = '/__fixtures/convert/unet/model.onnx';
const PSA_URL = '/psa-overhead-e2e/unet/model.onnx';

test.describe.configure({ mode: 'serial' });

let page: Page;
test.beforeAll(async ({ browser }) => {
  rmSync(OUT, { recursive: true, force: true });
  const tmp = tmpDir('psa-overhead-e2e-');
  try {
    // Inline weights (the fixture's plain unet/): the harness loads one .onnx file per model.
    convert({ sd15: makeSd15(tmp, 'unet'), psa: join(ROOT, 'fixtures/convert/psa_adapter.bin'), out: OUT });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  page = await browser.newPage();
  await page.goto('/harness.html');
  await page.waitForFunction(() => !!window.__harness);
});
test.afterAll(async () => {
  await page?.close();
  rmSync(OUT, { recursive: true, force: true });
});

function feeds(px: number, psa: boolean): Record<string, PlainTensor> {
  const h = px / 8;
  const tokens = psa ? 78 : 77;
  return {
    sample: { type: 'float32', dims: [B, 4, h, h], data: noise(`overhead.sample.${px}`, B * 4 * h * h) },
    timestep: { type: 'int64', dims: [1], data: [501] },
    encoder_hidden_states: { type: 'float32', dims: [B, tokens, WIDTH], data: noise(`overhead.ehs.${tokens}`, B * tokens * WIDTH) },
    ...(psa ? { psa_scale: { type: 'float32' as const, dims: [1], data: [1] } } : {}),
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

for (const ep of ['wasm', 'webgpu'] as const) {
  test(`${ep}: PSA U-Net vs plain U-Net step time, batch ${B}`, async () => {
    const adapter = await page.evaluate(() => window.__harness!.adapterInfo());
    const rows: Record<string, unknown>[] = [];
    for (const px of SIZES[ep]) {
      const times = { plain: [] as number[], psa: [] as number[] };
      for (let r = 0; r < ROUNDS; r++) {
        for (const kind of (r % 2 ? ['psa', 'plain'] : ['plain', 'psa']) as ('plain' | 'psa')[]) {
          const res = (await page.evaluate(
            ([u, e, f, n]) => window.__harness!.run(u, e, f, { repeat: n }),
            [kind === 'psa' ? PSA_URL : PLAIN_URL, ep, feeds(px, kind === 'psa'), RUNS + 1] as const,
          )) as RunResult;
          const out = res.outputs.out_sample;
          expect(out.dims).toEqual([B, 4, px / 8, px / 8]);
          expect(out.data.every(Number.isFinite)).toBe(true);
          times[kind].push(...res.runsMs.slice(1)); // the first run of a session (shader compilation, allocation) is dropped
        }
      }
      const plain = median(times.plain), psa = median(times.psa);
      const row = { px, latent: px / 8, runs: times.plain.length, plainMs: +plain.toFixed(3), psaMs: +psa.toFixed(3), ratio: +(psa / plain).toFixed(3) };
      rows.push(row);
      console.log(`psa-overhead ${ep}${ep === 'webgpu' ? ` (${adapter.vendor ?? '?'} ${adapter.architecture ?? ''})` : ''}: ${px}×${px} px, batch ${B}, ${row.runs} runs each — plain ${row.plainMs} ms, PSA ${row.psaMs} ms, ×${row.ratio}`);
      record(`psa-overhead-${ep}`, { batch: B, rounds: ROUNDS, runsPerRound: RUNS, adapter: ep === 'webgpu' ? adapter : undefined, rows });
    }
  });
}
