// One image: check the request → the optional semantic prompt check (semantic-guard.ts; a block ends here) →
// condition the batch's rows (conditioning.ts: text encoder, PSA user tokens) → scheduler and seeded noise → one of
// two denoising loops with the same arithmetic (loops.ts: CPU reference loop, or the device-resident step-kernel
// loop on WebGPU) → VAE → RGBA. Setup and teardown (timings, GPU read counts, freeing device tensors on every exit)
// live here once; the loops only denoise.

import { LATENT_CHANNELS, VAE_FACTOR } from '../../shared/contract';
import { AppError } from '../../shared/errors';
import type { GenerateParams, GenerateResult, SemanticGuardResult, StepInfo } from '../../shared/types';
import { encodeClip } from '../clip-tokenizer';
import { latentPreview, vaeToRgba } from '../image';
import { applyImageCheck } from '../image-check';
import type { LoadedModels } from '../models';
import type { Tensor } from '../ort-types';
import { SeededNormal } from '../rng';
import { createScheduler, type Scheduler } from '../schedulers';
import type { Runtime } from '../sessions';
import { floatData, timestepTensor } from '../tensors';
import { encodeConditioning, rowRoles } from './conditioning';
import { attentionBytes, kernelLoop, referenceLoop, WASM_ATTENTION_BYTES, type LoopContext, type LoopMode } from './loops';
import { dispose, run, type Timer } from './ort-calls';
import { checkParams } from './params';
import { afterCheck, semanticCheck } from './semantic-guard';

export { checkParams, MAX_SIDE, MAX_STEPS } from './params';
export { releaseKernels } from './ort-calls';
export type { LoopMode } from './loops';

export interface GenerateHooks {
  signal?: AbortSignal;
  onStep?: (info: StepInfo) => void;
  /** Which loop; default: kernel on WebGPU, reference elsewhere. */
  loop?: LoopMode;
  /** Reference loop: one U-Net call per row above this attentionBytes (default WASM_ATTENTION_BYTES on WASM, else none). */
  rowSplitBytes?: number;
}

export async function generate(rt: Runtime, m: LoadedModels, asked: GenerateParams, hooks: GenerateHooks = {}): Promise<GenerateResult> {
  checkParams(asked, m);
  const t0 = performance.now();
  // 0. Semantic prompt check (semantic-guard.ts): before any U-Net step; a block ends the request here.
  const semantic = await semanticCheck(rt, m, asked, newTimer());
  if (semantic?.decision === 'blocked') return blockedResult(rt, m, asked, semantic, t0);
  const p = afterCheck(asked, semantic);
  const { ort } = rt;
  const io = m.io;
  const timer = newTimer();
  const reads0 = rt.gpuReads?.();
  const cancelled = () => {
    if (hooks.signal?.aborted) throw new AppError('CANCELLED', 'generation was cancelled');
  };
  const loop: LoopMode = hooks.loop ?? (rt.backend === 'webgpu' ? 'kernel' : 'reference');
  const lh = p.height / VAE_FACTOR;
  const lw = p.width / VAE_FACTOR;
  const n = LATENT_CHANNELS * lh * lw;

  // 1. Conditioning of every row of the U-Net batch.
  const cond = await encodeConditioning(rt, m, p, rowRoles(p), timer);
  const textMs = performance.now() - t0;
  const readsText = rt.gpuReads?.();
  // Device tensors to free on every exit: the conditioning's, and whatever the loop registers.
  let loopTensors: () => (Tensor | undefined)[] = () => [];
  try {
    cancelled();
    // 2. Scheduler and initial noise (diffusers' latents= semantics: standard normal × init_noise_sigma).
    const scheduler = makeScheduler(m, p);
    const rng = new SeededNormal(p.seed);
    const noise0 = p.initialNoise ? Float32Array.from(p.initialNoise) : rng.fill(new Float32Array(n));
    const psaFeed: Record<string, Tensor> = io.hasPsaScale ? { psa_scale: new ort.Tensor('float32', Float32Array.of(p.psaScale ?? 1), [1]) } : {};
    let lastPreview = -Infinity;
    // One U-Net call per row where a batch call's attention would not fit (loops.ts WASM_ATTENTION_BYTES); only where
    // the U-Net takes batch 1 (a timestep of batch 1, no static batch size).
    const cap = hooks.rowSplitBytes ?? (rt.backend === 'wasm' ? WASM_ATTENTION_BYTES : Infinity);
    const rows = cond.roles.length;
    const staticBatch = Object.keys(m.bundle.staticDims?.unet ?? {}).some((k) => /batch/i.test(k));
    const rowEhs = loop === 'reference' && rows > 1 && io.timestepBatch === 1 && !staticBatch && attentionBytes(rows, lh, lw) > cap
      ? ehsRows(rt, cond.ehs, rows)
      : undefined;
    const ctx: LoopContext = {
      rt, m, p, timer, lh, lw, scheduler,
      checkpoint: async () => {
        await yieldToEvents();
        cancelled();
      },
      roles: cond.roles,
      timesteps: scheduler.timesteps,
      latents: Float32Array.from(noise0, (x) => x * scheduler.initNoiseSigma),
      unetFeeds: (sample, t, row) => ({
        sample, timestep: timestepTensor(ort, io.timestepType, t, io.timestepBatch), encoder_hidden_states: row === undefined ? cond.ehs : rowEhs![row], ...psaFeed,
      }),
      rowByRow: !!rowEhs,
      stepNoise: () => (scheduler.needsNoise ? rng.fill(new Float32Array(n)) : undefined),
      async emitStep(i, current) {
        const info: StepInfo = { step: i + 1, total: scheduler.timesteps.length, elapsedMs: performance.now() - t0 };
        if (p.previewEveryMs && performance.now() - lastPreview >= p.previewEveryMs) {
          lastPreview = performance.now();
          info.preview = { width: lw, height: lh, rgba: latentPreview(await current(), lw, lh) };
        }
        hooks.onStep?.(info);
      },
      track: (live) => (loopTensors = live),
    };

    // 3. Denoising.
    const tLoop = performance.now();
    const { vaeInput, latents } = await (loop === 'reference' ? referenceLoop : kernelLoop)(ctx);
    cancelled();
    const denoiseMs = performance.now() - tLoop;
    const readsLoop = rt.gpuReads?.();

    // 4. VAE and the result.
    const v0 = performance.now();
    const decoded = await run(rt, m.vae, { latent_sample: vaeInput }, timer);
    dispose(vaeInput);
    if (rt.backend === 'webgpu') timer.readbacks++; // the VAE's output comes back to the CPU: the one planned read
    const rgba = vaeToRgba(floatData(decoded.sample), p.width, p.height);
    const vaeMs = performance.now() - v0;
    // 5. Image stage (safety checker; blurs `rgba` in place on a flag), before the image can leave the worker.
    const imageCheck = await applyImageCheck(m.imageChecker, p, rgba, p.width, p.height);
    return {
      width: p.width,
      height: p.height,
      rgba,
      seed: p.seed,
      backend: rt.backend,
      truncated: cond.truncated,
      timings: { totalMs: performance.now() - t0, textMs, denoiseMs, vaeMs, unetRunMs: timer.unetRunMs, sessionRunMs: timer.sessionRunMs },
      readbacks: timer.readbacks,
      gpuMapReads:
        reads0 === undefined ? undefined : { text: readsText! - reads0, loop: readsLoop! - readsText!, decode: rt.gpuReads!() - readsLoop! },
      noise: noise0,
      latents,
      ...(imageCheck ? { imageCheck } : {}),
      ...(cond.roles.includes('safety') ? { appliedSafetyConcept: p.sld!.concept } : {}),
      unet: { calls: timer.unetCalls, batch: timer.unetBatch },
      ...(semantic ? { semanticGuard: semantic } : {}),
    };
  } finally {
    dispose(cond.ehs, ...loopTensors());
  }
}

const newTimer = (): Timer => ({ sessionRunMs: 0, unetRunMs: 0, readbacks: 0, unetCalls: 0, unetBatch: 0 });

/** A request the semantic check blocked: no denoising ran; the image is blank (all zeros) and must not be shown. */
function blockedResult(rt: Runtime, m: LoadedModels, p: GenerateParams, semanticGuard: SemanticGuardResult, t0: number): GenerateResult {
  const totalMs = performance.now() - t0;
  return {
    width: p.width,
    height: p.height,
    rgba: new Uint8ClampedArray(p.width * p.height * 4),
    seed: p.seed,
    backend: rt.backend,
    truncated: { prompt: encodeClip(m.tokenizer, p.prompt).truncated, negative: encodeClip(m.tokenizer, p.negativePrompt ?? '').truncated },
    timings: { totalMs, textMs: totalMs, denoiseMs: 0, vaeMs: 0, unetRunMs: 0, sessionRunMs: 0 },
    readbacks: 0,
    unet: { calls: 0, batch: 0 },
    semanticGuard,
  };
}

/** Resolves after the event loop ran once: pending messages (a cancel request) are handled first. */
function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(null);
  });
}

function makeScheduler(m: LoadedModels, p: GenerateParams): Scheduler {
  let scheduler: Scheduler;
  try {
    scheduler = createScheduler(p.scheduler, { ...m.bundle.schedulerConfig, ...(p.eta !== undefined ? { eta: p.eta } : {}) });
  } catch (e) {
    throw new AppError('INVALID_REQUEST', `scheduler ${p.scheduler}: ${(e as Error).message}`);
  }
  scheduler.setTimesteps(p.steps);
  return scheduler;
}

/** encoder_hidden_states [rows, S, H] as one [1, S, H] tensor per row: views of its CPU data (reference loop only). */
function ehsRows(rt: Runtime, ehs: Tensor, rows: number): Tensor[] {
  const data = ehs.data as Float32Array | Uint16Array;
  const per = data.length / rows;
  return Array.from({ length: rows }, (_, r) => new rt.ort.Tensor(ehs.type as 'float32', data.subarray(r * per, (r + 1) * per) as Float32Array, [1, ...ehs.dims.slice(1)]));
}
