// The semantic prompt check's engine half (issue 16, item 1, optional path): embeds texts with the bundle's own text
// encoder and pools them as the bundle says; the concept phrases once per loaded bundle (cached on the models), the
// prompt once per request, before any U-Net step. The verdict is pure arithmetic in ../../safety/semantic.ts.
//
// The prompt is encoded by its own batch-1 text-encoder run rather than by reading the generation's conditioning:
// the check must come first (a 'steer' hit changes the negative and SLD rows of that batch), and on WebGPU the
// conditioning stays on the GPU. One extra text-encoder pass (≪ one U-Net step) and one small read, counted in
// the check's own timer so the image's readback counts keep meaning what they say.

import { CLIP_EOS, CLIP_MAX_LENGTH } from '../../shared/contract';
import type { SemanticGuardEntry } from '../../shared/bundle';
import type { GenerateParams, SemanticGuardResult } from '../../shared/types';
import { decideSemantic, poolRow, type ConceptSet } from '../../safety/semantic';
import { encodeClip } from '../clip-tokenizer';
import type { LoadedModels } from '../models';
import type { Runtime } from '../sessions';
import { idsTensor } from '../tensors';
import { dispose, read, run, type Timer } from './ort-calls';

/** Pooled text-encoder embeddings of `texts`, one vector per text (one batched run). */
export async function embedTexts(rt: Runtime, m: LoadedModels, texts: readonly string[], pooling: SemanticGuardEntry['pooling'], timer: Timer): Promise<Float32Array[]> {
  const rows = texts.map((t) => encodeClip(m.tokenizer, t).ids);
  const out = await run(rt, m.text, { input_ids: idsTensor(rt.ort, m.io.idsType, rows) }, timer, ['last_hidden_state']);
  const t = out.last_hidden_state;
  try {
    const states = await read(t, timer);
    const hidden = m.io.hidden;
    return rows.map((ids, r) => poolRow(states, r, CLIP_MAX_LENGTH, hidden, ids.indexOf(CLIP_EOS), pooling));
  } finally {
    dispose(t);
  }
}

/** The bundle's concept phrases embedded once per loaded models (a failed attempt is forgotten, so it can retry). */
const conceptCache = new WeakMap<LoadedModels, Promise<ConceptSet[]>>();
export function conceptEmbeddings(rt: Runtime, m: LoadedModels, sg: SemanticGuardEntry, timer: Timer): Promise<ConceptSet[]> {
  let cached = conceptCache.get(m);
  if (!cached) {
    cached = embedConcepts(rt, m, sg, timer);
    conceptCache.set(m, cached);
    cached.catch(() => conceptCache.delete(m));
  }
  return cached;
}

async function embedConcepts(rt: Runtime, m: LoadedModels, sg: SemanticGuardEntry, timer: Timer): Promise<ConceptSet[]> {
  const entries = Object.entries(sg.concepts);
  const vectors = await embedTexts(rt, m, entries.flatMap(([, c]) => c.phrases), sg.pooling, timer);
  let at = 0;
  return entries.map(([category, c]) => ({ category, threshold: c.threshold, vectors: vectors.slice(at, (at += c.phrases.length)) }));
}

/**
 * Runs the check when the request asks for it and the bundle has concepts for at least one asked category;
 * otherwise undefined (skipped). `timer` is the check's own.
 */
export async function semanticCheck(rt: Runtime, m: LoadedModels, p: GenerateParams, timer: Timer): Promise<SemanticGuardResult | undefined> {
  const sg = m.bundle.semanticGuard;
  const asked = p.semanticGuard?.categories;
  if (!sg || !asked || !Object.keys(asked).some((c) => sg.concepts[c])) return undefined;
  const concepts = await conceptEmbeddings(rt, m, sg, timer);
  const [prompt] = await embedTexts(rt, m, [p.prompt], sg.pooling, timer);
  return { stage: 'text', source: 'semantic', ...decideSemantic(prompt, concepts, asked) };
}

/** The request as it goes on after the check: a steered verdict applies the request's steering, if it carries one. */
export function afterCheck(p: GenerateParams, verdict: SemanticGuardResult | undefined): GenerateParams {
  const steer = p.semanticGuard?.steer;
  if (verdict?.decision !== 'steered' || !steer) return p;
  return { ...p, negativePrompt: steer.negativePrompt, ...(steer.sld ? { sld: steer.sld } : {}) };
}
