// PSA's adapter checkpoint as PSAlign saves and loads it (train.py save_psa_weights / PSAAdapter.load_psa_adapter):
// torch.save({"psa_adapter": ModuleList(PSA processors in unet.attn_processors order).state_dict(),
//             "user_proj": PSAProjection.state_dict()})
// or a .safetensors file with the same keys prefixed "psa_adapter." / "user_proj.". Processor keys are
// `<i>.to_k_user.<g>.weight` / `<i>.to_v_user.<g>.weight` ([hidden_i, cross], bias-free; g = user-token group,
// one group in PSA), projection keys `proj.weight` [U·D, E], `proj.bias`, `norm.weight` [D], `norm.bias`.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { ConvertError } from './errors';
import { safeTensorsOrTorch } from './psa-checkpoint-read';
import { shapeText, type CheckpointDType, type Tensor } from './tensor';

export interface PsaProcessor {
  /** to_k_user[g].weight, [hidden, cross] per group. */
  toK: Tensor[];
  /** to_v_user[g].weight, [hidden, cross] per group. */
  toV: Tensor[];
}

export interface PsaCheckpoint {
  file: string;
  format: 'torch' | 'safetensors';
  dtypes: CheckpointDType[];
  processors: PsaProcessor[];
  userProj: { projWeight: Tensor; projBias: Tensor; normWeight: Tensor; normBias: Tensor };
  /** E: size of the profile encoder's embedding (3584 for Qwen2.5-7B). */
  embeddingSize: number;
  /** U: user tokens the projection makes. */
  userTokens: number;
  /** D: the U-Net's cross-attention width the projection targets (768 for SD1.5). */
  crossDim: number;
}

const PROC_KEY = /^(\d+)\.(to_k_user|to_v_user)\.(\d+)\.weight$/;

export function loadPsaCheckpoint(path: string): PsaCheckpoint {
  const label = basename(path);
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new ConvertError(`cannot read the PSA checkpoint ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const { format, groups } = safeTensorsOrTorch(buf, label, path.toLowerCase().endsWith('.safetensors'));
  const adapter = groups.get('psa_adapter');
  const proj = groups.get('user_proj');
  if (!adapter || !proj) throw new ConvertError(`${label} is not a PSA adapter checkpoint: it needs "psa_adapter" and "user_proj" entries (found ${[...groups.keys()].join(', ') || 'none'})`);

  const procs: { k: Map<number, Tensor>; v: Map<number, Tensor> }[] = [];
  for (const [key, t] of adapter) {
    const m = PROC_KEY.exec(key);
    if (!m) throw new ConvertError(`${label}: unexpected key psa_adapter.${key} (PSAlign's processors hold only <i>.to_k_user.<g>.weight / <i>.to_v_user.<g>.weight)`);
    const i = Number(m[1]);
    procs[i] ??= { k: new Map(), v: new Map() };
    (m[2] === 'to_k_user' ? procs[i].k : procs[i].v).set(Number(m[3]), t);
  }
  if (!procs.length) throw new ConvertError(`${label}: psa_adapter holds no processors`);
  const processors: PsaProcessor[] = [];
  for (let i = 0; i < procs.length; i++) {
    const p = procs[i];
    if (!p) throw new ConvertError(`${label}: psa_adapter has no processor ${i} (indices must run 0…${procs.length - 1})`);
    const n = Math.max(p.k.size, p.v.size);
    const toK: Tensor[] = [], toV: Tensor[] = [];
    for (let g = 0; g < n; g++) {
      const k = p.k.get(g), v = p.v.get(g);
      if (!k || !v) throw new ConvertError(`${label}: processor ${i} lacks ${k ? 'to_v_user' : 'to_k_user'}.${g}.weight`);
      if (k.shape.length !== 2 || shapeText(k.shape) !== shapeText(v.shape)) throw new ConvertError(`${label}: processor ${i} group ${g}: to_k_user ${shapeText(k.shape)} and to_v_user ${shapeText(v.shape)} must be equal 2-D [hidden, cross]`);
      toK.push(k);
      toV.push(v);
    }
    processors.push({ toK, toV });
  }

  const need = (k: string): Tensor => {
    const t = proj.get(k);
    if (!t) throw new ConvertError(`${label}: user_proj.${k} is missing (PSAProjection has proj.weight, proj.bias, norm.weight, norm.bias)`);
    return t;
  };
  const projWeight = need('proj.weight'), projBias = need('proj.bias'), normWeight = need('norm.weight'), normBias = need('norm.bias');
  for (const k of proj.keys()) if (!['proj.weight', 'proj.bias', 'norm.weight', 'norm.bias'].includes(k)) throw new ConvertError(`${label}: unexpected key user_proj.${k}`);
  const crossDim = normWeight.shape[0];
  const [rows, embeddingSize] = projWeight.shape;
  if (projWeight.shape.length !== 2 || rows % crossDim || projBias.shape[0] !== rows || normBias.shape[0] !== crossDim) {
    throw new ConvertError(`${label}: user_proj shapes do not fit Linear(E → U·D) + LayerNorm(D): proj.weight ${shapeText(projWeight.shape)}, proj.bias ${shapeText(projBias.shape)}, norm.weight ${shapeText(normWeight.shape)}`);
  }
  const dtypes = new Set<CheckpointDType>();
  for (const t of [...adapter.values(), ...proj.values()]) dtypes.add(t.dtype);
  return {
    file: path,
    format,
    dtypes: [...dtypes].sort(),
    processors,
    userProj: { projWeight, projBias, normWeight, normBias },
    embeddingSize,
    userTokens: rows / crossDim,
    crossDim,
  };
}

