// Test-only: window.__engine drives the real engine worker through EngineClient (the main thread's only door)
// with JSON-friendly arguments and results, for the Playwright specs of the engine and of diffusers parity.
import { EngineClient } from '../client';
import { toErrorInfo } from '../../shared/errors';
import type { LoadOptions } from '../../shared/protocol';
import type { GenerateParams, StepInfo } from '../../shared/types';

type JsonParams = Omit<GenerateParams, 'initialNoise' | 'userEmbedding'> & { initialNoise?: number[]; userEmbedding?: number[] };

const client = new EngineClient();
const notices: string[] = [];
client.onNotice((code) => notices.push(code));

const toParams = (p: JsonParams): GenerateParams => ({ ...p, initialNoise: p.initialNoise ? Float32Array.from(p.initialNoise) : undefined });

async function generate(p: JsonParams, opts: { cancelAtStep?: number } = {}) {
  const steps: Omit<StepInfo, 'preview'>[] = [];
  let previews = 0;
  const h = client.generate(toParams(p), (s) => {
    steps.push({ step: s.step, total: s.total, elapsedMs: s.elapsedMs });
    if (s.preview) previews++;
    if (opts.cancelAtStep !== undefined && s.step === opts.cancelAtStep) h.cancel();
  });
  try {
    const r = await h.result;
    return {
      ok: true as const,
      width: r.width,
      height: r.height,
      rgba: Array.from(r.rgba),
      latents: r.latents ? Array.from(r.latents) : undefined,
      backend: r.backend,
      readbacks: r.readbacks,
      gpuMapReads: r.gpuMapReads,
      timings: r.timings,
      truncated: r.truncated,
      unet: r.unet,
      appliedSafetyConcept: r.appliedSafetyConcept,
      steps,
      previews,
    };
  } catch (e) {
    return { ok: false as const, error: toErrorInfo(e), steps, previews };
  }
}

const api = {
  detect: () => client.detect(),
  load: (o: LoadOptions) => client.load(o).catch((e) => ({ error: toErrorInfo(e) })),
  unload: () => client.unload(),
  generate,
  /** Starts two generations at once: the second must be refused (BUSY) while the first finishes. */
  async concurrent(p: JsonParams) {
    const [a, b] = await Promise.all([generate(p), generate(p)]);
    return [a.ok ? 'ok' : a.error.code, b.ok ? 'ok' : b.error.code];
  },
  notices: () => notices.slice(),
  /** PSA user embedding (e2e/embedding.spec.ts): plain-JSON result with the progress phases seen. */
  async embed(text: string, opts: { encoderUrl?: string } = {}) {
    const phases: string[] = [];
    try {
      const r = await client.embed(text, (p) => phases.at(-1) !== p && phases.push(p), opts);
      return { ok: true as const, embedding: Array.from(r.embedding), encoderId: r.encoderId, tokens: r.tokens, ms: r.ms, phases };
    } catch (e) {
      return { ok: false as const, error: toErrorInfo(e), phases };
    }
  },
  encoderSessions: () => client.encoderSessions(),
  loseDevice: () => client.debug('lose-device'),
  loseGpu: () => client.debug('lose-gpu'),
};

(window as unknown as { __engine: typeof api }).__engine = api;
document.getElementById('status')!.textContent = 'ready';
