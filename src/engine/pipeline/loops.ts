// The two denoising loops, with the same arithmetic. Each takes the shared LoopContext (set up once by `generate`)
// and returns the VAE's input; neither knows how the batch's rows are conditioned (conditioning.ts does).
// - referenceLoop: CFG (+ SLD) combine and scheduler.step on the CPU (the reference form; used on WASM and the CPU).
// - kernelLoop: latents, model outputs, scheduler history and SLD's momentum stay on the device; each step is one
//   step-kernel run with the scheduler's coefficients (used on WebGPU: the only readback is the final image).

import { LATENT_CHANNELS } from '../../shared/contract';
import type { GenerateParams } from '../../shared/types';
import { buildStepKernel } from '../kernels';
import type { LoadedModels } from '../models';
import type { Tensor } from '../ort-types';
import type { Scheduler } from '../schedulers';
import type { Runtime } from '../sessions';
import { floatTensor } from '../tensors';
import { makeCombiner, repeatRows, unetDims, type RowRole } from './conditioning';
import { dispose, kernelSession, read, run, type Timer } from './ort-calls';
import { sldApplies, sldKernelInput } from './sld';

export type LoopMode = 'reference' | 'kernel';

/**
 * Attention's score tensor in one U-Net call, estimated for SD1.5 (8 heads over the first block's lh·lw tokens,
 * float32): batch × 8 × (lh·lw)² × 4 bytes — 1 GiB for CFG's batch 2 at 512×512, and the softmax of it as much again.
 */
export const attentionBytes = (batch: number, lh: number, lw: number): number => batch * 8 * (lh * lw) ** 2 * 4;

/**
 * Largest attentionBytes of one U-Net call on WASM; above it the reference loop runs the batch one row per call.
 * Why: WASM's memory is one wasm32 heap of at most 4 GiB that also holds every model's weights. At full size
 * (e2e/measure/full-size.spec.ts: int8 U-Net + text encoder + VAE, 1.57 GB of weights) CFG's batch-2 call at 512²
 * failed with std::bad_alloc; one row per call halves the attention peak, and on the CPU costs no more arithmetic.
 */
export const WASM_ATTENTION_BYTES = 512 * 2 ** 20;

export interface LoopContext {
  rt: Runtime;
  m: LoadedModels;
  p: GenerateParams;
  timer: Timer;
  roles: RowRole[];
  scheduler: Scheduler;
  timesteps: number[];
  /** The starting latents (standard normal × initNoiseSigma), [n] = [1,4,lh,lw]. */
  latents: Float32Array;
  lh: number;
  lw: number;
  /** The U-Net feeds besides the sample: timestep, encoder_hidden_states (of one row when `row` is given), psa_scale. */
  unetFeeds(sample: Tensor, t: number, row?: number): Record<string, Tensor>;
  /** Reference loop only: run the U-Net one row per call (see WASM_ATTENTION_BYTES). */
  rowByRow?: boolean;
  /** The step's fresh noise (drawn from the seeded generator) when the scheduler needs it. */
  stepNoise(): Float32Array | undefined;
  /** Reports step i (and a preview, when due, read lazily from `current`). */
  emitStep(i: number, current: () => Promise<Float32Array>): Promise<void>;
  /**
   * Once per step: lets the worker take its messages (a Stop), then throws CANCELLED if the request was cancelled.
   * Needed because WASM session runs resolve without a macrotask: a loop of them would never see the cancel message.
   */
  checkpoint(): Promise<void>;
  /** Registers the loop's live device tensors: `generate` frees them on every exit (cancel and errors too). */
  track(live: () => (Tensor | undefined)[]): void;
}

export interface LoopResult {
  /** The VAE's latent_sample (already ÷ the VAE scaling factor). */
  vaeInput: Tensor;
  /** Final latents before the ÷ scaling, when `returnLatents` was asked. */
  latents?: Float32Array;
}

async function unet(c: LoopContext, sample: Tensor, t: number, row?: number): Promise<Tensor> {
  const u0 = performance.now();
  const out = await run(c.rt, c.m.unet, c.unetFeeds(sample, t, row), c.timer);
  c.timer.unetRunMs += performance.now() - u0;
  c.timer.unetCalls++;
  c.timer.unetBatch = sample.dims[0];
  return out.out_sample;
}

export async function referenceLoop(c: LoopContext): Promise<LoopResult> {
  const { ort } = c.rt;
  const io = c.m.io;
  const n = c.latents.length;
  let x = c.latents;
  const combine = makeCombiner(c.roles, c.p, n);
  for (let i = 0; i < c.timesteps.length; i++) {
    await c.checkpoint();
    const t = c.timesteps[i];
    const input = repeatRows(c.roles, c.scheduler.scaleModelInput(x, t));
    let o: Float32Array;
    if (c.rowByRow) {
      o = new Float32Array(input.length);
      for (let r = 0; r < c.roles.length; r++) {
        const out = await unet(c, floatTensor(ort, io.unetIn, input.subarray(r * n, (r + 1) * n), [1, LATENT_CHANNELS, c.lh, c.lw]), t, r);
        o.set(await read(out, c.timer), r * n);
        dispose(out);
      }
    } else {
      const outSample = await unet(c, floatTensor(ort, io.unetIn, input, unetDims(c.roles, c.lh, c.lw)), t);
      o = await read(outSample, c.timer);
      dispose(outSample);
    }
    x = c.scheduler.step(combine(o, i), t, x, c.stepNoise());
    const xi = x;
    await c.emitStep(i, async () => xi);
  }
  const inv = new Float32Array(n);
  for (let k = 0; k < n; k++) inv[k] = x[k] / c.m.bundle.vaeScalingFactor;
  return { vaeInput: floatTensor(ort, io.vaeIn, inv, [1, LATENT_CHANNELS, c.lh, c.lw]), latents: c.p.returnLatents ? x : undefined };
}

export async function kernelLoop(c: LoopContext): Promise<LoopResult> {
  const { ort } = c.rt;
  const io = c.m.io;
  const { lh, lw, timesteps, scheduler } = c;
  const batch = c.roles.length as 1 | 2 | 3;
  const latentDims = [1, LATENT_CHANNELS, lh, lw];
  const n = c.latents.length;
  const step = await kernelSession(c.rt, c.m, `step-${batch}-${lh}x${lw}`, () =>
    buildStepKernel({ batch, channels: LATENT_CHANNELS, height: lh, width: lw, unetOut: io.unetOut, unetIn: io.unetIn }),
  );
  // SLD (batch 3): the momentum ν lives on the device like the scheduler history; its scalars are two fixed CPU
  // tensors (warm-up: momentum only; after: g ← g − γ too), so nothing is read back inside the loop.
  const sld = batch === 3 ? c.p.sld! : undefined;
  const sldIn = sld && [false, true].map((on) => new ort.Tensor('float32', sldKernelInput(sld, on), [6]));
  const zeros = new ort.Tensor('float32', new Float32Array(n), latentDims);
  let sample: Tensor = new ort.Tensor('float32', c.latents, latentDims);
  let hist: Tensor[] = [zeros, zeros, zeros];
  let nu: Tensor = zeros;
  const s0 = scheduler.inputScale(timesteps[0]);
  let input: Tensor = floatTensor(ort, io.unetIn, repeatRows(c.roles, Float32Array.from(c.latents, (x) => x * s0)), unetDims(c.roles, lh, lw));
  const guidance = new ort.Tensor('float32', Float32Array.of(c.p.guidance), [1]);
  let scaled: Tensor | undefined;
  let unetOut: Tensor | undefined;
  const live = () => [unetOut, input, sample, ...hist, nu, scaled];
  c.track(live);
  for (let i = 0; i < timesteps.length; i++) {
    await c.checkpoint();
    const t = timesteps[i];
    unetOut = await unet(c, input, t);
    const plan = scheduler.planStep(t);
    const last = i === timesteps.length - 1;
    // The `scaled` row feeds the next U-Net call (× its input scale) or, after the last step, the VAE (÷ scaling).
    const sNext = last ? 1 / c.m.bundle.vaeScalingFactor : scheduler.inputScale(timesteps[i + 1]);
    const coef = new Float32Array(30);
    coef.set(plan.out, 0);
    plan.hist.forEach((h, j) => coef.set([...h, 0], 6 * (j + 1)));
    coef.set(plan.out.map((x) => x * sNext), 24);
    const nz = plan.noise ? c.stepNoise() : undefined;
    const res = await run(c.rt, step, {
      unet_out: unetOut,
      sample,
      h0: hist[0], h1: hist[1], h2: hist[2],
      noise: nz ? new ort.Tensor('float32', nz, latentDims) : zeros,
      coef: new ort.Tensor('float32', coef, [5, 6]),
      guidance,
      ...(sldIn ? { nu, sld: sldIn[sldApplies(sld!, i) ? 1 : 0] } : {}),
    }, c.timer);
    dispose(...live());
    sample = res.next;
    hist = [res.h0_out, res.h1_out, res.h2_out];
    if (sldIn) nu = res.nu_out;
    input = res.next_input;
    scaled = res.scaled;
    const cur = sample;
    await c.emitStep(i, () => read(cur, c.timer));
  }
  const latents = c.p.returnLatents ? Float32Array.from(await read(sample, c.timer)) : undefined;
  dispose(input, sample, ...hist, nu);
  const vaeInput = io.vaeIn === 'float32' ? scaled! : floatTensor(ort, io.vaeIn, await read(scaled!, c.timer), latentDims);
  return { vaeInput, latents };
}
