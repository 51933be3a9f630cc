// bench-results.json, the one file `npm run bench` writes for other tools to read: its shape, the keys every backend
// run must carry, the targets (as ratios, from issue 27) with their pass/fail marks, and a checker that names every
// missing or mistyped key. The targets are printed by the bench, never asserted in `npm test` (timings on shared
// machines are noisy); the schema is (tests/bench/results.test.ts).

export const BENCH_SCHEMA = 1;
export type BackendName = 'cpu' | 'wasm' | 'webgpu';
export const BACKENDS: readonly BackendName[] = ['cpu', 'wasm', 'webgpu'];

/** One backend's numbers: the PSA demo bundle, CFG 7.5, euler, warm medians unless named otherwise. */
export interface BackendResult {
  /** Total time of one image / time inside ORT session.run (JS tokenizer, schedulers, CFG, copies on top). */
  overhead_ratio: number;
  /** GPU→CPU reads inside the denoising loop, per step (WebGPU: buffers mapped for reading, measured; CPU/WASM: 0, the tensors live on the CPU). */
  readbacks_per_step: number;
  /** U-Net session runs per step with CFG (target: 1, batch 2) … */
  unet_calls_per_step: number;
  unet_batch: number;
  /** … and with Safe Latent Diffusion (target: 1, batch 3). */
  sld_unet_calls_per_step: number;
  sld_unet_batch: number;
  /** U-Net ms per step, PSA bundle / plain bundle (same weights otherwise). */
  psa_overhead_ratio: number;
  /** Cold first image after load (ms) / warm image (ms). */
  warm_speedup: number;
  /** Denoising loop ms per step (warm median). */
  ms_per_step: number;
  /** From the load request to the first finished image: load_ms + cold_image_ms. */
  first_image_ms: number;
  load_ms: number;
  cold_image_ms: number;
  warm_image_ms: number;
  /** Noise gauge: coefficient of variation (stdev / mean) of the warm images' total ms over identical runs. */
  noise_cv: number;
  /** Warm runs timed (after the cold one and the warm-ups). */
  runs: number;
  steps: number;
  /** What the EP reported: e.g. the WebGPU adapter when this backend ran on one. */
  device: string;
}

export interface Machine {
  cpu_model: string;
  cores: number;
  memory_bytes: number;
  platform: string;
  node: string;
  /** Chromium's version, when a browser backend ran; null otherwise. */
  chromium_version: string | null;
  /** The WebGPU adapter Chromium gave (vendor, architecture, description, fallback), when WebGPU ran; else null. */
  adapter: { vendor: string; architecture: string; description: string; isFallbackAdapter: boolean } | null;
}

export interface Target {
  name: string;
  backend: BackendName | 'app';
  value: number;
  /** e.g. "≤ 1.05", "= 0", "≥ 3". */
  target: string;
  pass: boolean;
}

export interface BenchResults {
  schema: typeof BENCH_SCHEMA;
  created_at: string;
  model: string;
  machine: Machine;
  /** Gzip bytes of the JavaScript the app's first screen loads (scripts/build/js-budget.ts, production build). */
  js_gzip_bytes: number;
  js_budget_bytes: number;
  backends: Partial<Record<BackendName, BackendResult>>;
  /** Backends asked for that could not run, with why (never silently absent). */
  skipped: Partial<Record<BackendName, string>>;
  targets: Target[];
  /** Filled by the full-size measurement (issue 27 item 1); null until it has run. */
  full_size: Record<string, unknown> | null;
}

export const BACKEND_KEYS: readonly (keyof BackendResult)[] = [
  'overhead_ratio', 'readbacks_per_step', 'unet_calls_per_step', 'unet_batch', 'sld_unet_calls_per_step', 'sld_unet_batch',
  'psa_overhead_ratio', 'warm_speedup', 'ms_per_step', 'first_image_ms', 'load_ms', 'cold_image_ms', 'warm_image_ms',
  'noise_cv', 'runs', 'steps', 'device',
];

/** The targets for the backends that ran, each with its mark. */
export function targetsOf(backends: BenchResults['backends'], js: { bytes: number; budget: number }): Target[] {
  const out: Target[] = [];
  const t = (name: string, backend: Target['backend'], value: number, target: string, pass: boolean) => out.push({ name, backend, value, target, pass });
  for (const b of BACKENDS) {
    const r = backends[b];
    if (!r) continue;
    t('overhead_ratio', b, r.overhead_ratio, '≤ 1.05', r.overhead_ratio <= 1.05);
    t('psa_overhead_ratio', b, r.psa_overhead_ratio, '≤ 1.05 (≤ 1.01 at real shapes)', r.psa_overhead_ratio <= 1.05);
    if (b === 'webgpu') t('readbacks_per_step', b, r.readbacks_per_step, '= 0', r.readbacks_per_step === 0);
    t('unet_calls_per_step (CFG, batch 2)', b, r.unet_calls_per_step, '= 1 at batch 2', r.unet_calls_per_step === 1 && r.unet_batch === 2);
    t('sld_unet_calls_per_step (SLD, batch 3)', b, r.sld_unet_calls_per_step, '= 1 at batch 3', r.sld_unet_calls_per_step === 1 && r.sld_unet_batch === 3);
    t('warm_speedup', b, r.warm_speedup, '≥ 3', r.warm_speedup >= 3);
  }
  t('js_gzip_bytes', 'app', js.bytes, `≤ ${js.budget}`, js.bytes <= js.budget);
  return out;
}

/** Every problem with a parsed bench-results.json (missing keys, wrong types, a backend neither run nor skipped). */
export function checkBenchResults(x: unknown, expected: readonly BackendName[] = []): string[] {
  const problems: string[] = [];
  if (!x || typeof x !== 'object') return ['not a JSON object'];
  const r = x as Record<string, unknown>;
  const num = (o: Record<string, unknown>, k: string, where: string) => {
    if (typeof o[k] !== 'number' || !Number.isFinite(o[k])) problems.push(`${where}.${k}: expected a finite number, got ${JSON.stringify(o[k])}`);
  };
  const str = (o: Record<string, unknown>, k: string, where: string) => {
    if (typeof o[k] !== 'string' || !(o[k] as string).length) problems.push(`${where}.${k}: expected a string, got ${JSON.stringify(o[k])}`);
  };
  if (r.schema !== BENCH_SCHEMA) problems.push(`schema: expected ${BENCH_SCHEMA}, got ${JSON.stringify(r.schema)}`);
  str(r, 'created_at', '');
  str(r, 'model', '');
  num(r, 'js_gzip_bytes', '');
  num(r, 'js_budget_bytes', '');
  if (!('full_size' in r) || (r.full_size !== null && typeof r.full_size !== 'object')) problems.push('.full_size: expected null or an object');
  const m = r.machine as Record<string, unknown> | undefined;
  if (!m || typeof m !== 'object') problems.push('.machine: missing');
  else {
    str(m, 'cpu_model', '.machine');
    num(m, 'cores', '.machine');
    num(m, 'memory_bytes', '.machine');
    str(m, 'platform', '.machine');
    str(m, 'node', '.machine');
    if (!('chromium_version' in m)) problems.push('.machine.chromium_version: missing');
    if (!('adapter' in m)) problems.push('.machine.adapter: missing');
  }
  const backends = (r.backends ?? {}) as Record<string, Record<string, unknown>>;
  const skipped = (r.skipped ?? {}) as Record<string, unknown>;
  if (typeof r.backends !== 'object' || r.backends === null) problems.push('.backends: missing');
  for (const [name, b] of Object.entries(backends)) {
    if (!BACKENDS.includes(name as BackendName)) problems.push(`.backends.${name}: not a backend (${BACKENDS.join(', ')})`);
    for (const k of BACKEND_KEYS) (k === 'device' ? str : num)(b, k, `.backends.${name}`);
  }
  for (const b of expected) if (!backends[b] && typeof skipped[b] !== 'string') problems.push(`.backends.${b}: neither run nor skipped with a reason`);
  if ((backends.wasm || backends.webgpu) && m && typeof m.chromium_version !== 'string') problems.push('.machine.chromium_version: a browser backend ran, so Chromium\'s version is expected');
  if (backends.webgpu && m && (typeof m.adapter !== 'object' || m.adapter === null)) problems.push('.machine.adapter: WebGPU ran, so its adapter is expected');
  if (!Array.isArray(r.targets)) problems.push('.targets: expected a list');
  else for (const [i, t] of (r.targets as Record<string, unknown>[]).entries()) {
    str(t, 'name', `.targets[${i}]`);
    str(t, 'target', `.targets[${i}]`);
    num(t, 'value', `.targets[${i}]`);
    if (typeof t.pass !== 'boolean') problems.push(`.targets[${i}].pass: expected a boolean`);
  }
  return problems;
}
