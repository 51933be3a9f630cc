// Opens a PSA checkpoint file in either format and returns its two state dicts ("psa_adapter", "user_proj") as
// name → tensor maps, whatever the container (torch.save nested dicts, or prefixed flat safetensors keys).
import { ConvertError } from './errors';
import { PyDict } from './pickle';
import { readSafetensors } from './safetensors';
import type { Tensor } from './tensor';
import { isTensor, readTorchCheckpoint } from './torch-checkpoint';

export function safeTensorsOrTorch(buf: Buffer, label: string, safetensors: boolean): { format: 'torch' | 'safetensors'; groups: Map<string, Map<string, Tensor>> } {
  const groups = new Map<string, Map<string, Tensor>>();
  if (safetensors) {
    for (const [key, t] of readSafetensors(buf, label)) {
      const dot = key.indexOf('.');
      const group = dot < 0 ? key : key.slice(0, dot);
      if (!groups.has(group)) groups.set(group, new Map());
      groups.get(group)!.set(key.slice(dot + 1), t);
    }
    return { format: 'safetensors', groups };
  }
  const top = readTorchCheckpoint(buf, label);
  if (!(top instanceof PyDict)) throw new ConvertError(`${label}: torch.save holds a ${Array.isArray(top) ? 'list' : typeof top}, not a dict of state dicts`);
  for (const [k, v] of top.map) {
    if (typeof k !== 'string' || !(v instanceof PyDict)) throw new ConvertError(`${label}: entry ${String(k)} is not a state dict`);
    const m = new Map<string, Tensor>();
    for (const [name, t] of v.map) {
      if (typeof name !== 'string' || !isTensor(t)) throw new ConvertError(`${label}: ${k}.${String(name)} is not a tensor`);
      m.set(name, t);
    }
    groups.set(k, m);
  }
  return { format: 'torch', groups };
}
