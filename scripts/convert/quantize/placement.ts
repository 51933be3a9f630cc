// Reading ORT's verbose "Node placements" log (session log level 0: `VerifyEachNodeIsAssignedToAnEp`) and judging
// it for a model: ORT deliberately keeps shape bookkeeping (Shape/Gather/Concat/… on int64) on the CPU, and a few
// scalar float nodes computed from shapes (the timestep Cast, ConstantOfShape of attention scales) — in the float32
// graph too. So "every node on the GPU" means: no node that computes on weights or activations (Conv, MatMul,
// MatMulNBits, DequantizeLinear, norms, Softmax, …) is on the CPU; the scalar float nodes are reported apart.
import type { ModelProto } from '../onnx-model';
import { FLOAT, FLOAT16, valueTypes } from './graph';

/** EP name → "OpType (node name)" lines. */
export function parsePlacements(lines: readonly string[]): Map<string, string[]> {
  const byEp = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const l of lines) {
    const ep = /Node\(s\) placed on \[(\w+)\]/.exec(l);
    if (ep) {
      current = [];
      byEp.set(ep[1], current);
      continue;
    }
    const node = /VerifyEachNodeIsAssignedToAnEp\]\s{3}(\S+ \(.*\))\s*$/.exec(l);
    if (node && current) current.push(node[1]);
    else if (!/VerifyEachNodeIsAssignedToAnEp/.test(l)) current = undefined;
  }
  return byEp;
}

const FLOAT_COMPUTE = /^(Conv|MatMul|Gemm|MatMulNBits|DequantizeLinear|Softmax|LayerNormalization|InstanceNormalization|GroupNorm|SkipLayerNormalization|Sin|Cos|Erf|Gelu|FastGelu|BiasGelu|Sigmoid|Resize|MultiHeadAttention|Attention|FusedConv|FusedMatMul|QuickGelu|BiasAdd|BiasSplitGelu)$/;

export interface PlacementVerdict {
  /** Nodes per EP. */
  counts: Record<string, number>;
  /** CPU nodes that compute on weights or activations: must be empty. */
  cpuFloat: string[];
  /** Other CPU nodes of the source graph that write a float value (scalars from shapes). */
  cpuScalarFloat: string[];
}

export function judgePlacement(placed: Map<string, string[]>, model: ModelProto, gpuEp = 'WebGpuExecutionProvider'): PlacementVerdict {
  const types = valueTypes(model.graph!);
  const byName = new Map((model.graph!.node ?? []).map((n) => [n.name ?? '', n]));
  const counts = Object.fromEntries([...placed].map(([ep, n]) => [ep, n.length]));
  const cpuFloat: string[] = [];
  const cpuScalarFloat: string[] = [];
  for (const [ep, nodes] of placed) {
    if (ep === gpuEp) continue;
    for (const entry of nodes) {
      const m = /^(\S+) \((.*)\)$/.exec(entry);
      if (!m) continue;
      const [, op, name] = m;
      const src = byName.get(name);
      const writesFloat = !!src && (src.output ?? []).some((o) => [FLOAT, FLOAT16].includes(types.get(o) ?? 0));
      if (FLOAT_COMPUTE.test(op)) cpuFloat.push(`${ep}: ${entry}`);
      else if (writesFloat) cpuScalarFloat.push(`${ep}: ${entry}`);
    }
  }
  return { counts, cpuFloat, cpuScalarFloat };
}
