// One image: tokenize → text encoder on [negative-or-empty ; prompt] as one batch → PSA conditioning
// ([text ; user token] for the prompt half, [negative text ; projection of a zero embedding] for the unconditional
// half) → seeded latents → denoising loop with CFG as one batch-2 U-Net call per step → VAE → RGBA.
// Two loops with the same arithmetic: `reference` does CFG + scheduler on the CPU (the reference form, used on
// WASM/CPU), `kernel` keeps latents, model outputs and scheduler history on the device and applies each step with
// the step kernel (used on WebGPU: the only readback is the final image).

import { LATENT_CHANNELS, VAE_FACTOR } from '../shared/contract';
import { AppError } from '../shared/errors';
import { SCHEDULER_NAMES, type GenerateParams, type GenerateResult, type StepInfo } from '../shared/types';
import { encodeClip } from './clip-tokenizer';
import { latentPreview, vaeToRgba } from './image';
import { buildConcatKernel, buildStepKernel } from './kernels';
import type { LoadedModels } from './models';
import type { InferenceSession, Tensor } from './ort-types';
import { SeededNormal } from './rng';
import { createScheduler } from './schedulers';
import { createSession, type Runtime } from './sessions';
import { floatData, floatTensor, fromHalf, idsTensor, timestepTensor } from './tensors';

export type LoopMode = 'reference' | 'kernel';

export interface GenerateHooks {
  signal?: AbortSignal;
  onStep?: (info: StepInfo) => void;
  /** Which loop; default: kernel on WebGPU, reference elsewhere. */
  loop?: LoopMode;
}

export const MAX_SIDE = 2048;
export const MAX_STEPS = 1000;

/** Parameter checks with messages a person can act on. */
export function checkParams(p: GenerateParams, m: LoadedModels): void {
  const bad = (msg: string) => {
    throw new AppError('INVALID_REQUEST', msg);
  };
  if (typeof p.prompt !== 'string') bad('the prompt must be text');
  for (const [k, v] of [['width', p.width], ['height', p.height]] as const) {
    if (!Number.isInteger(v) || v < VAE_FACTOR || v > MAX_SIDE || v % VAE_FACTOR) bad(`${k} must be a multiple of 8 between 8 and ${MAX_SIDE} (got ${v})`);
  }
  if (!Number.isInteger(p.steps) || p.steps < 1 || p.steps > MAX_STEPS) bad(`steps must be a whole number from 1 to ${MAX_STEPS} (got ${p.steps})`);
  if (!Number.isFinite(p.guidance) || p.guidance < 0 || p.guidance > 50) bad(`guidance must be between 0 and 50 (got ${p.guidance})`);
  if (!Number.isSafeInteger(p.seed) || p.seed < 0) bad(`the seed must be a whole number ≥ 0 (got ${p.seed})`);
  if (!(SCHEDULER_NAMES as readonly string[]).includes(p.scheduler)) bad(`unknown scheduler "${p.scheduler}"; choose one of ${SCHEDULER_NAMES.join(', ')}`);
  const latentSize = LATENT_CHANNELS * (p.width / VAE_FACTOR) * (p.height / VAE_FACTOR);
  if (p.initialNoise && p.initialNoise.length !== latentSize) {
    bad(`initial noise has ${p.initialNoise.length} values; ${p.width}×${p.height} needs [1,4,${p.height / 8},${p.width / 8}] = ${latentSize}`);
  }
  if (p.userEmbedding) {
    if (!m.userProjection) bad('this bundle is not personalized (no PSA user projection): a user embedding cannot be used');
    if (p.userEmbedding.length !== m.io.embeddingSize) bad(`the user embedding has ${p.userEmbedding.length} values; this bundle expects ${m.io.embeddingSize}`);
    for (const x of p.userEmbedding) if (!Number.isFinite(x)) bad('the user embedding contains a value that is not a finite number');
  }
  if (p.psaScale !== undefined && !Number.isFinite(p.psaScale)) bad('psa_scale must be a finite number');
}

interface Timer {
  sessionRunMs: number;
  unetRunMs: number;
  readbacks: number;
}

async function run(rt: Runtime, s: InferenceSession, feeds: Record<string, Tensor>, timer: Timer, fetches?: string[]): Promise<InferenceSession.ReturnType> {
  const t0 = performance.now();
  const out = await rt.serial(() => (fetches ? s.run(feeds, fetches) : s.run(feeds)));
  timer.sessionRunMs += performance.now() - t0;
  return out;
}

/** Reads a tensor to the CPU, counting it when it lives on the GPU. */
async function read(t: Tensor, timer: Timer): Promise<Float32Array> {
  if (t.location === 'gpu-buffer') {
    timer.readbacks++;
    const d = await t.getData();
    return t.type === 'float16' ? Float32Array.from(d as Uint16Array, fromHalf) : (d as Float32Array);
  }
  return floatData(t);
}

const released = new WeakSet<Tensor>();
/** Frees GPU tensors ORT handed us (once each; CPU tensors are left to the garbage collector). */
function dispose(...ts: (Tensor | undefined)[]): void {
  for (const t of ts) {
    if (t && t.location === 'gpu-buffer' && !released.has(t)) {
      released.add(t);
      t.dispose();
    }
  }
}

export async function generate(rt: Runtime, m: LoadedModels, p: GenerateParams, hooks: GenerateHooks = {}): Promise<GenerateResult> {
  checkParams(p, m);
  const { ort } = rt;
  const io = m.io;
  const t0 = performance.now();
  const timer: Timer = { sessionRunMs: 0, unetRunMs: 0, readbacks: 0 };
  const reads0 = rt.gpuReads?.();
  const cancelled = () => {
    if (hooks.signal?.aborted) throw new AppError('CANCELLED', 'generation was cancelled');
  };
  const loop: LoopMode = hooks.loop ?? (rt.backend === 'webgpu' ? 'kernel' : 'reference');
  const cfg = p.guidance > 1;
  const batch = cfg ? 2 : 1;
  const lh = p.height / VAE_FACTOR;
  const lw = p.width / VAE_FACTOR;
  const latentDims = [1, LATENT_CHANNELS, lh, lw];
  const n = LATENT_CHANNELS * lh * lw;

  // 1. Text conditioning, [uncond ; cond] like diffusers' torch.cat([negative_prompt_embeds, prompt_embeds]).
  const prompt = encodeClip(m.tokenizer, p.prompt);
  const negative = encodeClip(m.tokenizer, p.negativePrompt ?? '');
  const rows = cfg ? [negative.ids, prompt.ids] : [prompt.ids];
  // Only last_hidden_state is fetched (the pooler output is unused). ORT still evaluates the pooler's ArgMax and
  // reads its 16-byte index back for a CPU-placed Gather: the one GPU read outside ours (see gpuMapReads.text).
  const text = await run(rt, m.text, { input_ids: idsTensor(ort, io.idsType, rows) }, timer, ['last_hidden_state']);
  const textStates = text.last_hidden_state;
  let ehs: Tensor = textStates;
  if (m.userProjection) {
    // Unconditional half: projection of a zero embedding (PSA's CFG recipe).
    const E = io.embeddingSize;
    const emb = new Float32Array(batch * E);
    if (p.userEmbedding) emb.set(Float32Array.from(p.userEmbedding), (batch - 1) * E);
    const user = await run(rt, m.userProjection, { user_embeds: floatTensor(ort, io.userIn, emb, [batch, E]) }, timer);
    const concat = await kernelSession(rt, m, 'concat', () =>
      buildConcatKernel({ batch, textTokens: 77, userTokens: io.userTokens, hidden: io.hidden, text: io.textOut, user: io.userOut, out: io.ehsType }),
    );
    const joined = await run(rt, concat, { text: textStates, user: user.user_tokens }, timer);
    dispose(textStates, user.user_tokens);
    ehs = joined.encoder_hidden_states;
  }
  const textMs = performance.now() - t0;
  const readsText = rt.gpuReads?.();
  cancelled();

  // 2. Scheduler and initial noise (diffusers' latents= semantics: standard normal × init_noise_sigma).
  let scheduler: ReturnType<typeof createScheduler>;
  try {
    scheduler = createScheduler(p.scheduler, { ...m.bundle.schedulerConfig, ...(p.eta !== undefined ? { eta: p.eta } : {}) });
  } catch (e) {
    throw new AppError('INVALID_REQUEST', `scheduler ${p.scheduler}: ${(e as Error).message}`);
  }
  scheduler.setTimesteps(p.steps);
  const rng = new SeededNormal(p.seed);
  const noise0 = p.initialNoise ? Float32Array.from(p.initialNoise) : rng.fill(new Float32Array(n));
  const latents = Float32Array.from(noise0, (x) => x * scheduler.initNoiseSigma);
  const timesteps = scheduler.timesteps;
  const psaFeed: Record<string, Tensor> = io.hasPsaScale ? { psa_scale: new ort.Tensor('float32', Float32Array.of(p.psaScale ?? 1), [1]) } : {};
  const unetFeeds = (sample: Tensor, t: number): Record<string, Tensor> => ({
    sample,
    timestep: timestepTensor(ort, io.timestepType, t, io.timestepBatch),
    encoder_hidden_states: ehs,
    ...psaFeed,
  });
  const tLoop = performance.now();
  let lastPreview = -Infinity;
  const emitStep = async (i: number, current: () => Promise<Float32Array>) => {
    const info: StepInfo = { step: i + 1, total: timesteps.length, elapsedMs: performance.now() - t0 };
    if (p.previewEveryMs && performance.now() - lastPreview >= p.previewEveryMs) {
      lastPreview = performance.now();
      info.preview = { width: lw, height: lh, rgba: latentPreview(await current(), lw, lh) };
    }
    hooks.onStep?.(info);
  };
  const stepNoise = () => (scheduler.needsNoise ? rng.fill(new Float32Array(n)) : undefined);

  let vaeInput: Tensor;
  let finalLatents: Float32Array | undefined;
  // The device loop's current tensors, freed in `finally` too: a cancel or an error mid-loop must not leak them.
  let loopTensors: () => (Tensor | undefined)[] = () => [];
  try {
    if (loop === 'reference') {
      let x: Float32Array = latents;
      for (let i = 0; i < timesteps.length; i++) {
        cancelled();
        const t = timesteps[i];
        const scaled = scheduler.scaleModelInput(x, t);
        const input = new Float32Array(batch * n);
        for (let b = 0; b < batch; b++) input.set(scaled, b * n);
        const u0 = performance.now();
        const out = await run(rt, m.unet, unetFeeds(floatTensor(ort, io.unetIn, input, [batch, LATENT_CHANNELS, lh, lw]), t), timer);
        timer.unetRunMs += performance.now() - u0;
        const o = await read(out.out_sample, timer);
        dispose(out.out_sample);
        let eps: Float32Array = o;
        if (cfg) {
          eps = new Float32Array(n);
          const g = Math.fround(p.guidance);
          // float32 at every operation, as torch (and the step kernel) compute it.
          for (let k = 0; k < n; k++) eps[k] = Math.fround(o[k] + Math.fround(g * Math.fround(o[n + k] - o[k])));
        }
        x = scheduler.step(eps, t, x, stepNoise());
        const xi = x;
        await emitStep(i, async () => xi);
      }
      if (p.returnLatents) finalLatents = x;
      const inv = new Float32Array(n);
      for (let k = 0; k < n; k++) inv[k] = x[k] / m.bundle.vaeScalingFactor;
      vaeInput = floatTensor(ort, io.vaeIn, inv, latentDims);
    } else {
      const step = await kernelSession(rt, m, `step-${batch}-${lh}x${lw}`, () =>
        buildStepKernel({ batch, channels: LATENT_CHANNELS, height: lh, width: lw, unetOut: io.unetOut, unetIn: io.unetIn }),
      );
      const zeros = new ort.Tensor('float32', new Float32Array(n), latentDims);
      let sample: Tensor = new ort.Tensor('float32', latents, latentDims);
      let hist: Tensor[] = [zeros, zeros, zeros];
      const s0 = scheduler.inputScale(timesteps[0]);
      const first = new Float32Array(batch * n);
      for (let b = 0; b < batch; b++) for (let k = 0; k < n; k++) first[b * n + k] = latents[k] * s0;
      let input: Tensor = floatTensor(ort, io.unetIn, first, [batch, LATENT_CHANNELS, lh, lw]);
      const guidance = new ort.Tensor('float32', Float32Array.of(p.guidance), [1]);
      let scaled: Tensor | undefined;
      let unetOut: Tensor | undefined;
      loopTensors = () => [unetOut, input, sample, ...hist, scaled];
      for (let i = 0; i < timesteps.length; i++) {
        cancelled();
        const t = timesteps[i];
        const u0 = performance.now();
        unetOut = (await run(rt, m.unet, unetFeeds(input, t), timer)).out_sample;
        timer.unetRunMs += performance.now() - u0;
        const plan = scheduler.planStep(t);
        const last = i === timesteps.length - 1;
        // The `scaled` row feeds the next U-Net call (× its input scale) or, after the last step, the VAE (÷ scaling).
        const sNext = last ? 1 / m.bundle.vaeScalingFactor : scheduler.inputScale(timesteps[i + 1]);
        const coef = new Float32Array(30);
        coef.set(plan.out, 0);
        plan.hist.forEach((h, j) => coef.set([...h, 0], 6 * (j + 1)));
        coef.set(plan.out.map((c) => c * sNext), 24);
        const nz = plan.noise ? stepNoise() : undefined;
        const res = await run(rt, step, {
          unet_out: unetOut,
          sample,
          h0: hist[0], h1: hist[1], h2: hist[2],
          noise: nz ? new ort.Tensor('float32', nz, latentDims) : zeros,
          coef: new ort.Tensor('float32', coef, [5, 6]),
          guidance,
        }, timer);
        dispose(...loopTensors());
        sample = res.next;
        hist = [res.h0_out, res.h1_out, res.h2_out];
        input = res.next_input;
        scaled = res.scaled;
        const cur = sample;
        await emitStep(i, () => read(cur, timer));
      }
      if (p.returnLatents) finalLatents = Float32Array.from(await read(sample, timer));
      dispose(input, sample, ...hist);
      vaeInput = scaled!;
      if (io.vaeIn !== 'float32') vaeInput = floatTensor(ort, io.vaeIn, await read(scaled!, timer), latentDims);
    }
    cancelled();
    const denoiseMs = performance.now() - tLoop;
    const readsLoop = rt.gpuReads?.();
    const v0 = performance.now();
    const decoded = await run(rt, m.vae, { latent_sample: vaeInput }, timer);
    dispose(vaeInput);
    if (rt.backend === 'webgpu') timer.readbacks++; // the VAE's output comes back to the CPU: the one planned read
    const rgba = vaeToRgba(floatData(decoded.sample), p.width, p.height);
    const vaeMs = performance.now() - v0;
    return {
      width: p.width,
      height: p.height,
      rgba,
      seed: p.seed,
      backend: rt.backend,
      truncated: { prompt: prompt.truncated, negative: negative.truncated },
      timings: { totalMs: performance.now() - t0, textMs, denoiseMs, vaeMs, unetRunMs: timer.unetRunMs, sessionRunMs: timer.sessionRunMs },
      readbacks: timer.readbacks,
      gpuMapReads:
        reads0 === undefined
          ? undefined
          : { text: readsText! - reads0, loop: readsLoop! - readsText!, decode: rt.gpuReads!() - readsLoop! },
      noise: noise0,
      latents: finalLatents,
    };
  } finally {
    dispose(ehs, ...loopTensors());
  }
}

/** Helper graphs are built once per shape and cached on the loaded models. */
const kernels = new WeakMap<LoadedModels, Map<string, Promise<InferenceSession>>>();
function kernelSession(rt: Runtime, m: LoadedModels, key: string, build: () => Uint8Array): Promise<InferenceSession> {
  let map = kernels.get(m);
  if (!map) kernels.set(m, (map = new Map()));
  let s = map.get(key);
  if (!s) {
    s = createSession(rt, build(), { file: `engine:${key}`, gpuOutputs: true });
    map.set(key, s);
    s.catch(() => map!.delete(key));
  }
  return s;
}

export async function releaseKernels(m: LoadedModels): Promise<void> {
  const map = kernels.get(m);
  if (!map) return;
  kernels.delete(m);
  for (const s of map.values()) await (await s.catch(() => undefined))?.release().catch(() => undefined);
}
