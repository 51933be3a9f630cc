// Plain data types shared by the engine, the state and the UI: generation parameters and results, capabilities,
// the loaded bundle's description. Everything here is structured-cloneable (it crosses the worker boundary).

import type { Variant } from './bundle';
import type { SizeRule } from './image-size';

export const SCHEDULER_NAMES = ['ddim', 'pndm', 'euler', 'euler-ancestral', 'dpmpp-2m', 'dpmpp-2m-karras', 'lcm'] as const;
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

export type Backend = 'webgpu' | 'wasm' | 'cpu';

export interface Capabilities {
  webgpu: boolean;
  /** Why WebGPU is unusable, in plain words (absent when usable). */
  webgpuReason?: string;
  adapter?: { vendor: string; architecture: string; description: string; isFallbackAdapter: boolean };
  shaderF16: boolean;
  maxBufferSize?: number;
  maxStorageBufferBindingSize?: number;
  crossOriginIsolated: boolean;
  threads: number;
  /** The backend the engine will use by default (`auto`). */
  preferred: Backend;
  /** Why `preferred` is not the obvious choice, in plain words (e.g. WASM although WebGPU works: a software GPU). */
  preferredReason?: string;
}

/**
 * Safe Latent Diffusion (diffusers' StableDiffusionPipelineSafe; safety.md §2): a third U-Net row conditioned on the
 * safety concept steers each step away from it. Fields are __call__'s sld_* arguments; presets: src/safety/sld.ts.
 * Active only when guidance > 1 and guidanceScale > 1 (as diffusers); otherwise ignored.
 */
export interface SldParams {
  /** The safety concept text (CLIP-encoded like a prompt: 77 tokens, longer text is cut and reported). */
  concept: string;
  /** sld_warmup_steps δ: steps (0-based index < δ) that only build momentum before g ← g − γ applies. */
  warmupSteps: number;
  /** sld_guidance_scale s_S: μ = min(s_S·|ε_p − ε_S|, 1). */
  guidanceScale: number;
  /** sld_threshold λ: μ = 0 where ε_p − ε_S ≥ λ. */
  threshold: number;
  /** sld_momentum_scale s_m: γ = μ⊙(ε_S − ε_∅) + s_m·ν. */
  momentumScale: number;
  /** sld_mom_beta β_m: ν ← β_m·ν + (1 − β_m)·γ, every step (warm-up included). */
  momentumBeta: number;
}

export interface GenerateParams {
  prompt: string;
  negativePrompt?: string;
  seed: number;
  steps: number;
  scheduler: SchedulerName;
  /** Classifier-free guidance scale; ≤ 1 disables CFG (one batch-1 U-Net call per step, as diffusers). */
  guidance: number;
  width: number;
  height: number;
  /** PSA user embedding (length E of the bundle); absent → zero embedding (no personalization). */
  userEmbedding?: number[] | Float32Array;
  /** PSA strength; ignored by plain bundles. Default 1. */
  psaScale?: number;
  /** Initial standard-normal noise [4·h·w] (diffusers' `latents=`); multiplied by initNoiseSigma. Overrides seed. */
  initialNoise?: Float32Array;
  /** DDIM eta (stochasticity); default 0. */
  eta?: number;
  /** Emit a cheap latent→RGB preview every this many ms (0/undefined = no previews). */
  previewEveryMs?: number;
  /** Also return the final latents (costs one extra readback on WebGPU); for parity checks. */
  returnLatents?: boolean;
  /** Which profile `userEmbedding` was made for (a label, e.g. its name or preset); echoed in the result. */
  profile?: string;
  /**
   * Image stage: run the bundle's SD1.5 safety checker on the image (the app asks for it when the profile bans
   * Sexuality). `adjustment` lowers every concept threshold (diffusers' `adjustment`: larger = stricter, e.g. for
   * minors; 0 = the bundle's thresholds; diffusers' +0.01 special-care rule applies on top). `blur`: a flagged image
   * is blurred in the worker, so the page never receives its pixels. Ignored when the bundle has no checker
   * (then the result has no `imageCheck`).
   * `concepts` (default true): whether the checker's own (sexual-content) verdict counts toward the blur; false for
   * a profile that bans other categories only. `q16`: also run Q16 on the checker's image embedding (the app asks
   * for it when the profile bans any non-sexual category); flagged when P(inappropriate) > `threshold` (Q16's own
   * rule is argmax of its two classes: 0.5).
   */
  imageCheck?: { adjustment: number; blur: boolean; concepts?: boolean; q16?: { threshold: number } };
  /** Safe Latent Diffusion: one batch-3 U-Net call per step ([negative, prompt, concept]) instead of batch 2. */
  sld?: SldParams;
  /**
   * Semantic prompt check (after the text guard, before any U-Net step): the categories to check against the
   * bundle's `semanticGuard` concepts and what a hit does. Ignored when the bundle has no such section.
   */
  semanticGuard?: SemanticGuardParams;
}

/** What the semantic check does on a hit, per category (the profile's action for it). */
export type SemanticAction = 'block' | 'steer';

export interface SemanticGuardParams {
  /** Category name (as in the bundle's concepts) → action. Categories the bundle has no concepts for are skipped. */
  categories: Record<string, SemanticAction>;
  /** Applied when a 'steer' category fired and none blocked: the profile's negative prompt and SLD. */
  steer?: { negativePrompt?: string; sld?: SldParams };
}

/** One category that fired: its best cosine over its phrases and the bundle's threshold. */
export interface SemanticHit {
  category: string;
  action: SemanticAction;
  score: number;
  threshold: number;
}

/**
 * The semantic check's outcome. 'blocked': no U-Net step ran and `rgba` is blank (all zeros) — show the
 * explanation instead. 'steered': `steer` was applied (if it was given) before denoising.
 */
export interface SemanticGuardResult {
  stage: 'text';
  source: 'semantic';
  decision: 'blocked' | 'steered' | 'allowed';
  /** Categories that fired, highest score first (empty when allowed). */
  hits: SemanticHit[];
  /** Best cosine per checked category (for calibration and the parent view; never shown in child style). */
  scores: Record<string, number>;
}

export interface StepInfo {
  step: number;
  total: number;
  elapsedMs: number;
  preview?: { width: number; height: number; rgba: Uint8ClampedArray };
}

export interface GenerateResult {
  width: number;
  height: number;
  rgba: Uint8ClampedArray;
  seed: number;
  backend: Backend;
  /** Tokens dropped from the prompt / negative prompt (/ SLD concept) because CLIP takes 77 (incl. BOS/EOS). */
  truncated: { prompt: number; negative: number; concept?: number };
  timings: { totalMs: number; textMs: number; denoiseMs: number; vaeMs: number; unetRunMs: number; sessionRunMs: number };
  /** GPU→CPU reads made for this image (1 on WebGPU without previews: the final image). */
  readbacks: number;
  /**
   * Measured (browser WebGPU only): GPU buffers mapped for reading, by phase — ours and ORT's own. The loop should
   * be 0 (plus previews) and decode 1; the text phase may show ORT reading the text encoder's pooler index.
   */
  gpuMapReads?: { text: number; loop: number; decode: number };
  /** The initial standard-normal noise used (before × initNoiseSigma): what --save-latents writes. */
  noise?: Float32Array;
  /** Final latents before the 1/scaling and the VAE, when `returnLatents` was asked. */
  latents?: Float32Array;
  /** The profile the image was made for (GenerateParams.profile), when one was given. */
  profile?: string;
  /**
   * What the image stage found (only when `imageCheck` was asked and the bundle has a checker): per-concept scores
   * (cosine − threshold + adjustment [+ 0.01 under special care]; > 0 = fired), the special-care scores, the verdict,
   * and whether `rgba` is the blurred image. `q16`: Q16's probability of "inappropriate" and its verdict, when asked.
   */
  imageCheck?: { flagged: boolean; scores: number[]; specialScores: number[]; blurred: boolean; q16?: { probability: number; flagged: boolean } };
  /** The SLD safety concept applied (diffusers' applied_safety_concept); absent when SLD was off or inactive. */
  appliedSafetyConcept?: string;
  /** U-Net session runs for this image and their batch (rows): 1 call per step; batch 3 with SLD, 2 with CFG. */
  unet?: { calls: number; batch: number };
  /** The semantic check's outcome, when it was asked for and the bundle has concepts for it. */
  semanticGuard?: SemanticGuardResult;
}

/** A PSA user embedding computed by the profile encoder (masked mean of its last hidden state). */
export interface EmbedResult {
  /** [E] float32, E = the encoder's hidden size (= the bundle's psa.embeddingSize). */
  embedding: Float32Array;
  /** Identity of encoder + tokenizer + chat template (SHA-256 hex); part of the embedding cache key. */
  encoderId: string;
  /** Tokens the encoder read (chat template included). */
  tokens: number;
  /** Wall time of the whole computation (load, tokenize, run, release). */
  ms: number;
}

export interface LoadedBundleInfo {
  id: string;
  name: string;
  version: string;
  /** 'manifest' = a psa-web bundle; 'optimum' = a diffusers/Optimum ONNX export folder. */
  layout: 'manifest' | 'optimum';
  psa: boolean;
  userTokens: number;
  embeddingSize: number;
  backend: Backend;
  /** The onnxruntime-web build the browser runs: 'jspi' where WebAssembly.Suspending exists, else 'asyncify'. */
  ortBuild?: 'jspi' | 'asyncify';
  variants: Record<string, Variant>;
  defaultSize: { width: number; height: number };
  /** The sizes the model accepts (image-size.ts): what the generate form offers and the engine checks. */
  sizes: SizeRule;
  defaultScheduler: SchedulerName;
  hiddenSize: number;
  /**
   * The bundle's profile encoder (loaded only while an embedding is computed): `id` identifies encoder + tokenizer +
   * chat template; `template` is the bundle's embedding template text (PSA's get_embeds.txt unless the bundle ships
   * another). Absent when the bundle has no profile encoder.
   */
  /** `removed`: the user deleted the encoder's files to save space (cached embeddings still apply; new ones cannot be computed). */
  profileEncoder?: { id: string; template: string; removed?: boolean };
  /** The bundle has an image safety checker (the image stage a Sexuality ban relies on). */
  imageChecker: boolean;
}
