// `npm run convert -- --quantize …` on the tiny SD1.5 fixture: the fp16 / int8 / q4 (and q4f16) U-Nets run in
// onnxruntime-node (CPU), stay close to the float32 U-Net (relative error of out_sample, and of the final image
// through `npm run generate -- --variant`), are smaller by the expected factor, have the graph shape each scheme
// promises (DequantizeLinear on every conv weight, MatMulNBits where K is a multiple of 32, float32 I/O), and the
// q4 packing is exactly what ORT's MatMulNBits computes with.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkManifest, type ModelFile } from '../../src/shared/bundle';
import { convert, type ConvertResult } from '../../scripts/convert/bundle';
import { ConvertError } from '../../scripts/convert/errors';
import { loadOnnx, num, onnx, tensorBytes } from '../../scripts/convert/onnx-model';
import { dequantizeQ4, quantizeInt8, quantizeQ4 } from '../../scripts/convert/quantize/weights';
import { decodePng } from '../../scripts/lib/png';
import { runCli } from '../helpers/cli';
import { concatTokens, expected, FIX, makeSd15, ref, runUnet, session, tmpDir } from './helpers';

type V = 'fp32' | 'fp16' | 'int8' | 'q4';
const VARIANTS: V[] = ['fp32', 'fp16', 'int8', 'q4'];
let tmp: string;
let all: ConvertResult;
let q4f16: ConvertResult;
let ehs: ort.Tensor;
const out: Partial<Record<V | 'q4f16', { s1: Float32Array; s0: Float32Array }>> = {};

/** max|a − b| / max|b|. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

/** Bytes of every initializer of a variant (inline + external): the weights, without the graph. */
function weightBytes(dir: string, f: ModelFile): number {
  const m = loadOnnx(path.join(dir, f.path), path.dirname(path.join(dir, f.path)), f.path);
  return [...m.inits.values()].reduce((a, t) => a + tensorBytes(t), 0);
}
const fileBytes = (f: ModelFile) => f.bytes! + (f.externalData ?? []).reduce((a, x) => a + x.bytes!, 0);

beforeAll(async () => {
  tmp = tmpDir('convert-quantize-');
  all = convert({ sd15: makeSd15(tmp, 'unet-external'), psa: path.join(FIX, 'psa_adapter.bin'), out: path.join(tmp, 'all'), quantize: 'none,fp16,int8,q4' });
  q4f16 = convert({ sd15: makeSd15(tmp, 'unet'), psa: path.join(FIX, 'psa_adapter.bin'), out: path.join(tmp, 'q4f16'), quantize: 'q4f16' });
  const proj = await session(path.join(all.dir, 'user_projection', 'model.onnx'));
  const emb = ref('user_embeds');
  const user = (await proj.run({ user_embeds: new ort.Tensor('float32', emb.data, emb.shape) })).user_tokens;
  ehs = concatTokens(ref('encoder_hidden_states_text'), { shape: user.dims as number[], data: user.data as Float32Array });
  const run = async (dir: string, f: ModelFile) => {
    const s = await session(path.join(dir, f.path));
    return { s1: await runUnet(s, ehs, 1), s0: await runUnet(s, ehs, 0) };
  };
  for (const v of VARIANTS) out[v] = await run(all.dir, all.manifest.components.unet.variants[v]!);
  out.q4f16 = await run(q4f16.dir, q4f16.manifest.components.unet.variants.q4!);
}, 300_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('--quantize: the bundle', () => {
  it('lists every variant with its files, hashes and needs; q4f16 alone leaves no float32 U-Net behind', () => {
    expect(checkManifest(all.manifest)).toEqual([]);
    const v = all.manifest.components.unet.variants;
    expect(Object.keys(v).sort()).toEqual(['fp16', 'fp32', 'int8', 'q4']);
    expect(v.fp16!.path).toBe('unet/model.fp16.onnx');
    expect(v.q4!.requires).toBeUndefined(); // float32 activations: WASM and WebGPU without shader-f16
    for (const f of Object.values(v)) for (const x of [f!, ...(f!.externalData ?? [])]) expect(existsSync(path.join(all.dir, x.path)), x.path).toBe(true);
    expect(checkManifest(q4f16.manifest)).toEqual([]);
    expect(Object.keys(q4f16.manifest.components.unet.variants)).toEqual(['q4']);
    expect(q4f16.manifest.components.unet.variants.q4!.requires).toEqual(['shader-f16']);
    expect(existsSync(path.join(q4f16.dir, 'unet', 'model.onnx'))).toBe(false);
    expect(q4f16.manifest.files.some((f) => f.path === 'unet/model.onnx')).toBe(false);
  });

  it('bad --quantize lists are one-line errors and write nothing', () => {
    for (const [q, msg] of [['int4', /--quantize int4: unknown variant/], ['q4,q4f16', /one q4 variant; choose one/], [',', /at least one/]] as const) {
      const dest = path.join(tmp, `bad-${q.replace(/\W/g, '_')}`);
      expect(() => convert({ sd15: makeSd15(tmp, 'unet'), psa: path.join(FIX, 'psa_adapter.bin'), out: dest, quantize: q })).toThrow(ConvertError);
      expect(() => convert({ sd15: makeSd15(tmp, 'unet'), psa: path.join(FIX, 'psa_adapter.bin'), out: dest, quantize: q })).toThrow(msg);
      expect(existsSync(dest)).toBe(false);
    }
  });
});

describe('--quantize: graphs', () => {
  const graph = (v: V) => loadOnnx(path.join(all.dir, all.manifest.components.unet.variants[v]!.path), path.join(all.dir, 'unet'), v);

  it('int8: every Conv/MatMul/Gemm weight comes through a per-channel DequantizeLinear; no float weight is left', () => {
    const m = graph('int8');
    const dq = new Map(m.model.graph!.node!.filter((n) => n.opType === 'DequantizeLinear').map((n) => [n.output![0], n]));
    const weightOps = m.model.graph!.node!.filter((n) => ['Conv', 'MatMul', 'Gemm'].includes(n.opType!) && !!n.input![1] && (m.inits.has(n.input![1]) || dq.has(n.input![1])));
    expect(weightOps.length).toBeGreaterThan(50);
    for (const n of weightOps) {
      const d = dq.get(n.input![1]);
      expect(d, `${n.name} reads a dequantized weight`).toBeDefined();
      const q = m.inits.get(d!.input![0])!;
      expect(q.dataType).toBe(3); // int8
      expect(num(m.inits.get(d!.input![1])!.dims![0])).toBe(num(q.dims![Number(d!.attribute!.find((a) => a.name === 'axis')!.i)]));
    }
  });

  it('q4: MatMulNBits (bits 4, block 32) wherever K is a multiple of 32, int8 elsewhere', () => {
    const m = graph('q4');
    const nbits = m.model.graph!.node!.filter((n) => n.opType === 'MatMulNBits');
    expect(nbits.length).toBeGreaterThan(5);
    for (const n of nbits) {
      const a = Object.fromEntries(n.attribute!.map((x) => [x.name, Number(x.i)]));
      expect(n.domain).toBe('com.microsoft');
      expect([a.bits, a.block_size, a.K % 32]).toEqual([4, 32, 0]);
      expect(m.inits.get(n.input![1])!.dims!.map(num)).toEqual([a.N, a.K / 32, 16]);
      expect(m.inits.get(n.input![2])!.dims!.map(num)).toEqual([a.N * (a.K / 32)]);
    }
    // the fixture's K = 16 / 24 projections fall back to int8; nothing float remains on a weight input
    expect(m.model.graph!.node!.filter((n) => n.opType === 'DequantizeLinear').length).toBeGreaterThan(10);
    for (const n of m.model.graph!.node!) if (['Conv', 'MatMul', 'Gemm'].includes(n.opType!)) expect(m.inits.get(n.input![1])?.dataType, n.name!).not.toBe(1);
  });

  it('fp16: float32 only at the boundary and in the timestep embedding', () => {
    const m = graph('fp16');
    const g = m.model.graph!;
    expect(g.input!.map((i) => i.type!.tensorType!.elemType)).toEqual([1, 7, 1, 1]); // sample, timestep, ehs, psa_scale
    expect(g.output!.map((i) => i.type!.tensorType!.elemType)).toEqual([1]);
    const inits = [...m.inits.values()];
    const f32 = inits.filter((t) => t.dataType === 1);
    expect(inits.filter((t) => t.dataType === 10).length).toBeGreaterThan(100);
    expect(f32.length).toBeLessThan(4); // the sinusoid frequencies, at most
    expect(g.node!.some((n) => n.opType === 'Sin' || n.opType === 'Cos')).toBe(true);
  });
});

describe('--quantize: accuracy and size (onnxruntime-node, CPU)', () => {
  it('U-Net out_sample stays close to float32 for psa_scale 1 and 0; errors rank fp16 < int8 ≤ q4', () => {
    const e = Object.fromEntries((['fp16', 'int8', 'q4', 'q4f16'] as const).map((v) => [v, Math.max(relErr(out[v]!.s1, out.fp32!.s1), relErr(out[v]!.s0, out.fp32!.s0))]));
    console.log(`U-Net relative error vs fp32 (max over psa_scale 1, 0): ${Object.entries(e).map(([k, x]) => `${k} ${x.toExponential(2)}`).join(', ')}`);
    expect(e.fp16).toBeGreaterThan(0);
    expect(e.fp16).toBeLessThan(3e-3);
    expect(e.int8).toBeLessThan(3e-2);
    expect(e.q4).toBeLessThan(5e-2);
    expect(e.q4f16).toBeLessThan(5e-2);
    expect(e.fp16).toBeLessThan(e.int8);
    expect(e.int8).toBeLessThanOrEqual(e.q4 * 1.5);
    // psa_scale still steers every variant (the graft survives quantization)
    for (const v of ['fp16', 'int8', 'q4', 'q4f16'] as const) expect(relErr(out[v]!.s1, out[v]!.s0), v).toBeGreaterThan(10 * e[v]);
  });

  it('weights shrink by the expected factor', () => {
    const v = all.manifest.components.unet.variants;
    const w = Object.fromEntries(VARIANTS.map((k) => [k, weightBytes(all.dir, v[k]!)]));
    const r = (k: V) => w[k] / w.fp32;
    console.log(`U-Net weight bytes: ${VARIANTS.map((k) => `${k} ${w[k]} (${r(k).toFixed(3)})`).join(', ')}; files: ${VARIANTS.map((k) => `${k} ${fileBytes(v[k]!)}`).join(', ')}`);
    expect(r('fp16')).toBeGreaterThan(0.49);
    expect(r('fp16')).toBeLessThan(0.51);
    expect(r('int8')).toBeGreaterThan(0.25);
    expect(r('int8')).toBeLessThan(0.35);
    expect(r('q4')).toBeLessThan(r('int8'));
  });
});

describe('--quantize: q4 arithmetic', () => {
  it('packs codes low nibble first with zero point 8, scale = peak / −8 (the peak is exact)', () => {
    const K = 32, N = 2;
    const w = new Float32Array(K * N); // [K, N]
    for (let k = 0; k < K; k++) {
      w[k * N] = (k - 16) / 4; // column 0: −4 … 3.75, peak −4
      w[k * N + 1] = k === 5 ? 2 : 0; // column 1: one value
    }
    const { packed, scales } = quantizeQ4(w, K, N, true);
    expect(Array.from(scales)).toEqual([0.5, -0.25]);
    expect(packed[0]).toBe(0 | (1 << 4)); // −4 / 0.5 = −8 → code 0; −3.75 / 0.5 = −7.5 → −7 (round half up) → 1
    expect(packed[16 + 2] >> 4).toBe(0); // column 1, k = 5 (high nibble of byte 2): 2 / −0.25 = −8 → 0
    expect(packed[16 + 0]).toBe(8 | (8 << 4)); // zeros → code 8
    const back = dequantizeQ4(packed, scales, K, N);
    for (let i = 0; i < w.length; i++) expect(Math.abs(back[i] - w[i])).toBeLessThanOrEqual(0.25 + 1e-7);
    expect(back[0]).toBe(-4);
    expect(back[5 * N + 1]).toBe(2);
  });

  it('ORT MatMulNBits computes A · dequantize(B) with this layout ([N,K] Gemm weights too)', async () => {
    const K = 64, N = 5, M = 3;
    const w = Float32Array.from({ length: K * N }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 7)));
    const a = Float32Array.from({ length: M * K }, (_, i) => Math.cos(i * 0.3));
    const wT = new Float32Array(N * K); // the same weight stored [N, K]
    for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) wT[n * K + k] = w[k * N + n];
    const q = quantizeQ4(w, K, N, true);
    const qT = quantizeQ4(wT, K, N, false);
    expect(qT.packed).toEqual(q.packed);
    const deq = dequantizeQ4(q.packed, q.scales, K, N);
    const want = new Float32Array(M * N);
    for (let i = 0; i < M; i++) for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) want[i * N + n] += a[i * K + k] * deq[k * N + n];
    const t = (name: string, dataType: number, dims: number[], b: ArrayBufferView) => onnx.TensorProto.create({ name, dataType, dims, rawData: new Uint8Array(b.buffer, b.byteOffset, b.byteLength) });
    const vi = (name: string, dims: number[]) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
    const model = onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }],
      graph: {
        name: 'nbits',
        node: [{ opType: 'MatMulNBits', domain: 'com.microsoft', input: ['A', 'B', 'S'], output: ['Y'], attribute: ['K', 'N', 'bits', 'block_size'].map((name, i) => ({ name, type: 2, i: [K, N, 4, 32][i] })) }],
        initializer: [t('B', 2, [N, K / 32, 16], q.packed), t('S', 1, [N * (K / 32)], q.scales)],
        input: [vi('A', [M, K])],
        output: [vi('Y', [M, N])],
      },
    });
    const file = path.join(tmp, 'nbits.onnx');
    writeFileSync(file, onnx.ModelProto.encode(model).finish());
    const s = await ort.InferenceSession.create(file);
    const y = (await s.run({ A: new ort.Tensor('float32', a, [M, K]) })).Y.data as Float32Array;
    expect(relErr(y, want)).toBeLessThan(1e-5);
  });

  it('int8 is per output channel and symmetric', () => {
    const w = Float32Array.from([1, -2, 0.5, 4, 0, 0]); // [3 out, 2 in] (Gemm transB = 1: axis 0)
    const { q, scale } = quantizeInt8(w, [3, 2], 0);
    expect(Array.from(scale)).toEqual([Math.fround(2 / 127), Math.fround(4 / 127), 1]);
    expect(Array.from(q)).toEqual([64, -127, 16, 127, 0, 0]);
  });
});

describe('--quantize: images through npm run generate -- --variant', () => {
  it('each variant generates; its image stays close to the float32 one', () => {
    const emb = path.join(tmp, 'user.json');
    writeFileSync(emb, JSON.stringify(Array.from({ length: expected.psa.embeddingSize }, (_, i) => Math.sin(i + 1))));
    const img: Partial<Record<V, Uint8Array>> = {};
    for (const v of VARIANTS) {
      const f = path.join(tmp, `img-${v}.png`);
      const r = runCli(['--bundle', all.dir, '--variant', v, '--prompt', 'a photo of a cat', '--seed', '5', '--steps', '4', '--user-embedding', emb, '--out', f, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).variant).toBe(v);
      img[v] = decodePng(readFileSync(f)).rgba;
    }
    const diff = (v: V) => {
      let max = 0, sum = 0;
      for (let i = 0; i < img.fp32!.length; i++) {
        const d = Math.abs(img[v]![i] - img.fp32![i]);
        max = Math.max(max, d);
        sum += d;
      }
      return { max, mean: sum / img.fp32!.length, rel: relErr(img[v]!, img.fp32!) };
    };
    const d = Object.fromEntries((['fp16', 'int8', 'q4'] as const).map((v) => [v, diff(v)]));
    console.log(`image vs fp32 (levels of 255): ${Object.entries(d).map(([k, x]) => `${k} max ${x.max} mean ${x.mean.toFixed(3)} rel ${x.rel.toExponential(2)}`).join('; ')}`);
    expect(d.fp16.max).toBeLessThanOrEqual(3);
    expect(d.int8.mean).toBeLessThan(1.5);
    expect(d.q4.mean).toBeLessThan(2);
    expect(d.fp16.mean).toBeLessThan(d.int8.mean);
    const bad = runCli(['--bundle', all.dir, '--variant', 'int4', '--prompt', 'x', '--out', path.join(tmp, 'x.png')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--variant must be one of fp32, fp16, int8, q4/);
  }, 600_000); // four CLI processes (tsx + ORT each): generous for a slow, busy machine
});
