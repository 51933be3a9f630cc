// Neural-network building blocks emitted as ONNX ops the way torch.onnx (opset 17) exports them: Linear as
// MatMul(+Add) on 3-D inputs or Gemm(transB=1) on 2-D ones, Conv with every attribute explicit, GroupNorm as
// Reshape → InstanceNormalization → Reshape → Mul → Add, LayerNormalization, SiLU/QuickGELU/GELU(erf) decomposed,
// multi-head attention from MatMul/Softmax, nearest Resize. Parameters are named like PyTorch state-dict keys under
// the builder's current scope and drawn from `Params` by that name.
import { A, GraphBuilder } from './onnx-builder';
import type { Params } from './rng';

export const INT64_MAX = Number.MAX_SAFE_INTEGER; // stored as int64; any value past the end works for Slice

export class Layers {
  constructor(
    readonly g: GraphBuilder,
    readonly p: Params,
  ) {}

  private pname(local: string): string {
    return this.g.prefix + local;
  }

  /** Runs `fn` inside a child scope (both node names and parameter names). */
  in<T>(name: string, fn: () => T): T {
    return this.g.scope(name, fn);
  }

  /** torch Linear on a ≥3-D input: MatMul with the weight stored as [in, out], then Add bias. */
  linear(x: string, inF: number, outF: number, name: string, opts: { bias?: boolean; gain?: number } = {}): string {
    const { bias = true, gain = 1 } = opts;
    return this.in(name, () => {
      const w = this.g.init(this.pname('weight'), [inF, outF], this.p.weight(this.pname('weight'), inF * outF, inF, gain));
      let y = this.g.op('MatMul', [x, w]);
      if (bias) {
        const b = this.g.init(this.pname('bias'), [outF], this.p.bias(this.pname('bias'), outF, inF));
        y = this.g.op('Add', [b, y]);
      }
      return y;
    });
  }

  /** torch Linear on a 2-D input: Gemm(transB=1) with the weight stored as [out, in]. */
  gemm(x: string, inF: number, outF: number, name: string, opts: { gain?: number } = {}): string {
    return this.in(name, () => {
      const w = this.g.init(this.pname('weight'), [outF, inF], this.p.weight(this.pname('weight'), inF * outF, inF, opts.gain ?? 1));
      const b = this.g.init(this.pname('bias'), [outF], this.p.bias(this.pname('bias'), outF, inF));
      return this.g.op('Gemm', [x, w, b], { alpha: A.f(1), beta: A.f(1), transB: A.i(1) });
    });
  }

  conv(x: string, inC: number, outC: number, k: number, name: string, opts: { stride?: number; gain?: number } = {}): string {
    const { stride = 1, gain = 1 } = opts;
    const pad = (k - 1) >> 1;
    return this.in(name, () => {
      const fanIn = inC * k * k;
      const w = this.g.init(this.pname('weight'), [outC, inC, k, k], this.p.weight(this.pname('weight'), outC * fanIn, fanIn, gain));
      const b = this.g.init(this.pname('bias'), [outC], this.p.bias(this.pname('bias'), outC, fanIn));
      return this.g.op('Conv', [x, w, b], {
        dilations: A.ints([1, 1]),
        group: A.i(1),
        kernel_shape: A.ints([k, k]),
        pads: A.ints([pad, pad, pad, pad]),
        strides: A.ints([stride, stride]),
      });
    });
  }

  /** GroupNorm as torch.onnx exports it: Reshape [B,G,-1] → InstanceNormalization → Reshape back → Mul γ → Add β. */
  groupNorm(x: string, C: number, groups: number, eps: number, name: string): string {
    return this.in(name, () => {
      const g = this.g;
      const r = g.op('Reshape', [x, g.i64([0, groups, -1])]);
      const ones = g.f32(new Float32Array(groups).fill(1));
      const zeros = g.f32(new Float32Array(groups));
      const n = g.op('InstanceNormalization', [r, ones, zeros], { epsilon: A.f(eps) });
      const back = g.op('Reshape', [n, g.op('Shape', [x])]);
      const gamma = g.init(this.pname('weight'), [C, 1, 1], this.p.normWeight(this.pname('weight'), C));
      const beta = g.init(this.pname('bias'), [C, 1, 1], this.p.normBias(this.pname('bias'), C));
      return g.op('Add', [g.op('Mul', [back, gamma]), beta]);
    });
  }

  layerNorm(x: string, C: number, eps: number, name: string): string {
    return this.in(name, () => {
      const gamma = this.g.init(this.pname('weight'), [C], this.p.normWeight(this.pname('weight'), C));
      const beta = this.g.init(this.pname('bias'), [C], this.p.normBias(this.pname('bias'), C));
      return this.g.op('LayerNormalization', [x, gamma, beta], { axis: A.i(-1), epsilon: A.f(eps) });
    });
  }

  silu(x: string): string {
    return this.g.op('Mul', [x, this.g.op('Sigmoid', [x])]);
  }

  quickGelu(x: string): string {
    const s = this.g.op('Sigmoid', [this.g.op('Mul', [x, this.g.f32([1.702], [])])]);
    return this.g.op('Mul', [x, s]);
  }

  /** Exact GELU: x · 0.5 · (1 + erf(x / √2)). */
  gelu(x: string): string {
    const g = this.g;
    const e = g.op('Erf', [g.op('Div', [x, g.f32([Math.SQRT2], [])])]);
    return g.op('Mul', [g.op('Mul', [x, g.op('Add', [e, g.f32([1], [])])]), g.f32([0.5], [])]);
  }

  /** Nearest ×2 upsampling (F.interpolate(scale_factor=2, mode='nearest')). */
  upsample2x(x: string): string {
    return this.g.op('Resize', [x, '', this.g.f32([1, 1, 2, 2])], {
      coordinate_transformation_mode: A.s('asymmetric'),
      cubic_coeff_a: A.f(-0.75),
      mode: A.s('nearest'),
      nearest_mode: A.s('floor'),
    });
  }

  /** [B, N, H·dh] → [B, H, N, dh]. */
  splitHeads(x: string, heads: number, dh: number): string {
    const r = this.g.op('Reshape', [x, this.g.i64([0, -1, heads, dh])]);
    return this.g.op('Transpose', [r], { perm: A.ints([0, 2, 1, 3]) });
  }

  /** [B, H, N, dh] → [B, N, H·dh]. */
  mergeHeads(x: string, C: number): string {
    const t = this.g.op('Transpose', [x], { perm: A.ints([0, 2, 1, 3]) });
    return this.g.op('Reshape', [t, this.g.i64([0, -1, C])]);
  }

  /** softmax(q·kᵀ·scale + mask)·v on [B, H, N, dh] tensors. */
  sdpa(q: string, k: string, v: string, dh: number, mask?: string): string {
    const g = this.g;
    const kt = g.op('Transpose', [k], { perm: A.ints([0, 1, 3, 2]) });
    let s = g.op('Mul', [g.op('MatMul', [q, kt]), g.f32([1 / Math.sqrt(dh)], [])]);
    if (mask) s = g.op('Add', [s, mask]);
    return g.op('MatMul', [g.op('Softmax', [s], { axis: A.i(-1) }), v]);
  }
}
