// How psa-web gets per-concept scores out of a standard safety-checker export, whose only outputs are `out_images`
// and the boolean `has_nsfw_concepts`.
//
// Design: extend the graph at load time, do not re-implement it. The export is diffusers' `forward_onnx` traced by
// torch.onnx (diffusers' convert script and Optimum do the same), so the graph holds, by construction:
//   special_scores = special_cos − special_thresholds (+ 0.0)       → Greater(·, 0) → Cast → ReduceSum → Greater → …
//   concept_scores = cos − thresholds + 0.01·special_care (bcast)   → Greater(·, 0) → Cast → ReduceSum → Greater
//                                                                      = has_nsfw_concepts
// We read only the node list of model.onnx (a small protobuf scan that skips the weights), walk back from
// `has_nsfw_concepts` through the boolean plumbing (Greater/Cast/Reduce*) to the last `Greater`'s float input: that
// is concept_scores. Among its ancestors, the first `Greater` leads the same way to special_scores. Both tensors are
// then made graph outputs by appending a second `graph` field with two `output` entries (protobuf merges it; the
// original bytes are untouched — a 1.2 GB checker is not re-serialized). One session run then yields the boolean and
// both score vectors, computed by the bundle's own graph at adjustment 0; scores.ts applies psa-web's adjustment and
// diffusers' special-care rule on those [17]+[3] numbers, and checks its own verdict at adjustment 0 against the
// graph's boolean on every image, so a misread graph cannot pass silently.
// A graph that does not have this shape is refused with CONTRACT_MISMATCH (the image stage fails closed).
// The same edit exposes `image_embeds` (vision tower pooled output → visual_projection) for Q16 (q16.ts): in
// forward_onnx, cosine_distance(image_embeds, concept_embeds) = normalize(image_embeds) @ normalize(concepts)ᵀ, so
// behind concept_scores' Sub lies a MatMul/Gemm whose first input is a Div (the normalisation) of image_embeds.
// Every SD1.5 checker export (the tiny demo's and a real bundle's alike) gets it at load time; nothing is converted.

import { AppError } from '../../shared/errors';
import { appendGraphOutputs, type OnnxElem } from '../onnx-writer';

interface NodeInfo {
  op: string;
  inputs: string[];
  outputs: string[];
}

export interface CheckerGraph {
  nodes: NodeInfo[];
  inputs: { name: string; elem?: number }[];
  outputs: string[];
}

// ---- a minimal protobuf reader: only what the node scan needs ----

function varint(b: Uint8Array, pos: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (;;) {
    if (pos >= b.length) throw new Error('truncated varint');
    const x = b[pos++];
    v += (x & 0x7f) * mul;
    if (x < 0x80) return [v, pos];
    mul *= 128;
  }
}

/** Calls `visit(field, wire, start, end)` for each field of the message in b[start, end); end = value end. */
function scan(b: Uint8Array, start: number, end: number, visit: (field: number, wire: number, vStart: number, vEnd: number, value: number) => void): void {
  let pos = start;
  while (pos < end) {
    let key: number;
    [key, pos] = varint(b, pos);
    const field = Math.floor(key / 8);
    const wire = key & 7;
    if (wire === 0) {
      let v: number;
      [v, pos] = varint(b, pos);
      visit(field, wire, pos, pos, v);
    } else if (wire === 2) {
      let len: number;
      [len, pos] = varint(b, pos);
      if (pos + len > end) throw new Error('truncated field');
      visit(field, wire, pos, pos + len, len);
      pos += len;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new Error(`unsupported wire type ${wire}`);
  }
}

const utf8 = new TextDecoder();

/** Nodes, graph inputs (with element type) and graph output names of a serialized ONNX model. */
export function readCheckerGraph(model: Uint8Array): CheckerGraph {
  const g: CheckerGraph = { nodes: [], inputs: [], outputs: [] };
  scan(model, 0, model.length, (f, w, s, e) => {
    if (f !== 7 || w !== 2) return; // ModelProto.graph (every occurrence: they merge)
    scan(model, s, e, (gf, gw, gs, ge) => {
      if (gw !== 2) return;
      if (gf === 1) {
        const n: NodeInfo = { op: '', inputs: [], outputs: [] };
        scan(model, gs, ge, (nf, nw, ns, ne) => {
          if (nw !== 2) return;
          const str = () => utf8.decode(model.subarray(ns, ne));
          if (nf === 1) n.inputs.push(str());
          else if (nf === 2) n.outputs.push(str());
          else if (nf === 4) n.op = str();
        });
        g.nodes.push(n);
      } else if (gf === 11 || gf === 12) {
        let name = '';
        let elem: number | undefined;
        scan(model, gs, ge, (vf, vw, vs, ve) => {
          if (vf === 1 && vw === 2) name = utf8.decode(model.subarray(vs, ve));
          else if (vf === 2 && vw === 2) {
            // TypeProto.tensor_type (1) → elem_type (1)
            scan(model, vs, ve, (tf, tw, ts, te) => {
              if (tf === 1 && tw === 2) scan(model, ts, te, (ef, ew, _s, _e, v) => { if (ef === 1 && ew === 0) elem = v; });
            });
          }
        });
        if (gf === 11) g.inputs.push({ name, elem });
        else g.outputs.push(name);
      }
    });
  });
  return g;
}

/** Each tensor's producing node. */
function producersOf(g: CheckerGraph): Map<string, NodeInfo> {
  const producer = new Map<string, NodeInfo>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  return producer;
}

/**
 * Breadth-first over the nodes producing `start` and their ancestors, each tensor visited once (`seen` may hold
 * tensors to pass over). The caller stops the walk by returning from its loop.
 */
function* ancestors(producer: Map<string, NodeInfo>, start: string[], seen = new Set<string>()): Generator<NodeInfo> {
  const queue = [...start];
  while (queue.length) {
    const t = queue.shift()!;
    if (seen.has(t)) continue;
    seen.add(t);
    const n = producer.get(t);
    if (!n) continue;
    yield n;
    queue.push(...n.inputs);
  }
}

/** Ops that carry the boolean verdict from a score tensor to `has_nsfw_concepts` (torch.any's export and kin). */
const PLUMBING = new Set(['Greater', 'GreaterOrEqual', 'Cast', 'ReduceSum', 'ReduceMax', 'Not', 'Identity']);

/** The score tensors of diffusers' forward_onnx graph: [concept_scores, special_scores] tensor names. */
export function findScoreTensors(g: CheckerGraph, file: string): { concept: string; special: string } {
  const producer = producersOf(g);
  const fail = (what: string): never => {
    throw new AppError('CONTRACT_MISMATCH', `${file}: ${what}; psa-web needs the per-concept scores of diffusers' StableDiffusionSafetyChecker.forward_onnx export (clip_input, images → out_images, has_nsfw_concepts)`);
  };
  // Walk back through the plumbing; the last Greater passed compares the scores with 0.
  const scoresBehind = (tensor: string): string | undefined => {
    let found: string | undefined;
    let node = producer.get(tensor);
    while (node && PLUMBING.has(node.op)) {
      if (node.op.startsWith('Greater')) found = node.inputs[0];
      node = producer.get(node.inputs[0]);
    }
    return found && producer.has(found) ? found : undefined;
  };
  if (!g.outputs.includes('has_nsfw_concepts')) fail('the model has no output `has_nsfw_concepts`');
  const concept = scoresBehind('has_nsfw_concepts') ?? fail('no score comparison found behind `has_nsfw_concepts`');
  // Breadth-first over concept_scores' ancestors: the first Greater is the special-care verdict.
  for (const n of ancestors(producer, producer.get(concept)!.inputs, new Set([concept]))) {
    if (n.op.startsWith('Greater')) {
      const special = scoresBehind(n.outputs[0]);
      if (special && special !== concept) return { concept, special };
    }
  }
  return fail('no special-care score comparison found before the concept scores');
}

/** Ops that may sit between tensors without changing what they mean (fp16 exports add Casts). */
const PASS_THROUGH = new Set(['Cast', 'Identity']);

/**
 * The checker's image embedding (visual_projection's output) behind `concept` scores: the cosine's MatMul/Gemm
 * nearest to them, its first input's normalising Div, that Div's numerator.
 */
export function findImageEmbeds(g: CheckerGraph, concept: string, file: string): string {
  const producer = producersOf(g);
  const skip = (t: string): NodeInfo | undefined => {
    let n = producer.get(t);
    while (n && PASS_THROUGH.has(n.op)) n = producer.get(n.inputs[0]);
    return n;
  };
  for (const n of ancestors(producer, [concept])) {
    if (n.op === 'MatMul' || n.op === 'Gemm') {
      const div = skip(n.inputs[0]);
      if (div?.op === 'Div' && producer.has(div.inputs[0])) return div.inputs[0];
      break;
    }
  }
  throw new AppError('CONTRACT_MISMATCH', `${file}: no normalised image embedding (visual_projection output → Div → MatMul) found behind the concept scores; Q16 needs diffusers' StableDiffusionSafetyChecker.forward_onnx export`);
}

const ELEM_NAMES: Record<number, OnnxElem> = { 1: 'float32', 10: 'float16' };

/** The model bytes with the two score tensors and the image embedding added as outputs (see the header). */
export function withScoreOutputs(model: Uint8Array, file: string): { bytes: Uint8Array; concept: string; special: string; imageEmbeds?: string } {
  let g: CheckerGraph;
  try {
    g = readCheckerGraph(model);
  } catch (e) {
    throw new AppError('MODEL_FILE_CORRUPT', `${file} is not a readable ONNX model: ${(e as Error).message}`);
  }
  const { concept, special } = findScoreTensors(g, file);
  // Without it the checker still works; only a Q16 request fails (loadImageChecker says why).
  let imageEmbeds: string | undefined;
  try {
    imageEmbeds = findImageEmbeds(g, concept, file);
  } catch {
    imageEmbeds = undefined;
  }
  const clip = g.inputs.find((i) => i.name === 'clip_input');
  const elem = ELEM_NAMES[clip?.elem ?? 1];
  if (!elem) throw new AppError('CONTRACT_MISMATCH', `${file}: clip_input has element type ${clip?.elem}; expected float32 or float16`);
  const extra = appendGraphOutputs([
    { name: concept, type: elem, shape: ['batch', 'concepts'] },
    { name: special, type: elem, shape: ['batch', 'special_concepts'] },
    ...(imageEmbeds ? [{ name: imageEmbeds, type: elem, shape: ['batch', 'projection_dim'] }] : []),
  ]);
  const bytes = new Uint8Array(model.length + extra.length);
  bytes.set(model, 0);
  bytes.set(extra, model.length);
  return { bytes, concept, special, imageEmbeds };
}
