// A full-depth synthetic profile encoder — Qwen2.5-7B's real shapes (28 layers, hidden 3584, intermediate 18944,
// 28 query / 4 KV heads of 128, q/k/v biases, vocab 152 064), random weights — converted by the converter itself
// into a bundle, for the browser measurement e2e/measure/encoder-depth.spec.ts:
//   npx tsx scripts/convert/encoder/deep-synthetic.ts OUT [--encoder-quantize q4] [--layers N --hidden H …]
// writes OUT/source (the "export": model.onnx + a sparse model.onnx_data + config and the tiny fixture's tokenizer)
// and OUT/bundle (`convert()`: the tiny SD1.5 fixture, the fixture adapter widened to 3584, and --profile-encoder
// OUT/source with the chosen --encoder-quantize: profile_encoder/q4/encoder_groups.json, group_K.onnx + external
// data ≤ 1 GiB, the int8 table, the manifest) — exactly what `npm run convert` writes for a real export.
// Why not a real fp32 export: at these shapes it is ~30 GB (more than this 24 GB machine may hold; torch would need
// it in memory). So the source graph is the tiny-model builder's Qwen2 (scripts/models/profile-encoder.ts: transformers'
// module paths and ops, which the converter's cut reads as it reads an Optimum export) with every parameter as
// external data in model.onnx_data, a sparse file of the full 30 GB length that occupies no disk. The converter
// reads a source's external data only through fs.readSync at (fd, offset) (quantize/stream.ts, encoder/table.ts), so
// this script answers reads of that one file with seeded uniform values computed from the byte position
// (PyTorch-default bounds, the tiny builder's: weights U(±1/√fan_in), biases the same, norms U(1 ± 0.1), the table
// U(±1)). The converter then streams one weight at a time as always (largest: 18944 × 3584 fp32, 272 MB), so the
// process stays well under 2 GB; the 30 GB fp32 model never exists in memory or on disk.
// Tokenizer: the tiny fixture's (vocab 659, Qwen's chat template), so a PSA profile text is ~190 tokens as with
// Qwen's; its ids are rows of the full 152 064-row table.
import fs, { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import path from 'node:path';
import { adapterWithE } from '../../../tests/convert/adapter-e32';
import { makeSd15 } from '../../../tests/convert/helpers';
import { encodeModel, GraphBuilder, onnx, type TensorData } from '../../models/onnx-builder';
import { emitProfileEncoder, type ProfileEncoderConfig } from '../../models/profile-encoder';
import { Params } from '../../models/rng';
import { convert } from '../bundle';
import { EXTERNAL } from '../onnx-model';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
const DATA = 'model.onnx_data';

/** Qwen2.5-7B-Instruct's shapes (its config.json). */
export const QWEN25_7B: ProfileEncoderConfig & { vocabSize: number } = {
  vocabSize: 152_064,
  hidden: 3584,
  heads: 28,
  kvHeads: 4,
  layers: 28,
  intermediate: 18_944,
  ropeTheta: 1_000_000,
  rmsEps: 1e-6,
  seed: 7007,
};

/** One parameter's place in the virtual data file and how its values are drawn. */
export interface Region { start: number; bytes: number; seed: number; bound: number; center: number }

/** Parameters drawn lazily: each call notes how, and returns no values (the builder below places them). */
class LazyParams extends Params {
  pending?: { bound: number; center: number };
  private note(bound: number, center = 0): Float32Array {
    this.pending = { bound, center };
    return new Float32Array(0);
  }
  override weight(_: string, __: number, fanIn: number, gain = 1) { return this.note(gain / Math.sqrt(fanIn)); }
  override bias(_: string, __: number, fanIn: number) { return this.note(1 / Math.sqrt(fanIn)); }
  override normWeight() { return this.note(0.1, 1); }
  override normBias() { return this.note(0.05); }
  override embedding(_: string, __: number, bound: number) { return this.note(bound); }
}

/** Constants stay inline; a lazy parameter becomes an external reference into the virtual data file. */
class VirtualBuilder extends GraphBuilder {
  readonly regions: Region[] = [];
  end = 0;
  constructor(name: string, private readonly params: LazyParams) { super(name); }
  /**
   * Literal constants (shapes, eps, rotary exponents) as Constant nodes, as torch exports them: the converter puts
   * every initializer of a group in external data, and ORT cannot read a Reshape's shape from there.
   */
  override const(dims: number[], data: TensorData): string {
    const dtype = data instanceof BigInt64Array ? 'int64' : data instanceof Float32Array ? 'float32' : undefined;
    if (!dtype) throw new Error(`deep-synthetic: no Constant form for ${data.constructor.name}`);
    return this.op('Constant', [], { value: { t: 'tensor', v: { dtype, dims, data } } });
  }
  override init(name: string, dims: number[], data: TensorData): string {
    const n = dims.reduce((a, b) => a * b, 1);
    const how = this.params.pending;
    if (data.length || !n || !how) return super.init(name, dims, data);
    this.params.pending = undefined;
    super.init(name, [0], new Float32Array(0)); // name bookkeeping; replaced just below
    const bytes = n * 4;
    this.regions.push({ start: this.end, bytes, seed: seedOf(name), ...how });
    this.initializers[this.initializers.length - 1] = onnx.TensorProto.create({
      name, dims, dataType: 1, dataLocation: EXTERNAL,
      externalData: [
        onnx.StringStringEntryProto.create({ key: 'location', value: DATA }),
        onnx.StringStringEntryProto.create({ key: 'offset', value: String(this.end) }),
        onnx.StringStringEntryProto.create({ key: 'length', value: String(bytes) }),
      ],
    });
    this.end += bytes;
    return name;
  }
}

function seedOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Uniform in [0, 1) from (seed, element index): a counter-based hash, so any byte range can be made on demand. */
function unit(seed: number, i: number): number {
  let x = (seed ^ Math.imul(i, 0x9e3779b1)) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  x = Math.imul(x ^ seed, 0x27d4eb2f);
  x ^= x >>> 15;
  return (x >>> 0) / 4294967296;
}

/** Fills `out` with the float32 bytes [pos, pos + out.length) of the virtual data file. */
function fillRange(regions: Region[], out: Uint8Array, pos: number): void {
  if (pos % 4 || out.length % 4) throw new Error(`deep-synthetic: unaligned read of ${out.length} bytes at ${pos}`);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let r = regions.findIndex((x) => pos < x.start + x.bytes);
  for (let o = 0; o < out.length && r >= 0 && r < regions.length; r++) {
    const g = regions[r];
    const e0 = (pos + o - g.start) / 4;
    const n = Math.min((g.bytes - (pos + o - g.start)) / 4, (out.length - o) / 4);
    for (let i = 0; i < n; i++) dv.setFloat32(o + i * 4, g.center + (2 * unit(g.seed, e0 + i) - 1) * g.bound, true);
    o += n * 4;
  }
}

/** Answers fs.readSync on the virtual data file from `regions` (see the header); other files read as usual. */
export function serveVirtualFile(file: string, regions: Region[]): () => void {
  const target = path.resolve(file);
  const fds = new Set<number>();
  const orig = { openSync: fs.openSync, readSync: fs.readSync, closeSync: fs.closeSync };
  const f = fs as unknown as Record<string, unknown>;
  f.openSync = (p: fs.PathLike, ...rest: unknown[]) => {
    const fd = (orig.openSync as (...a: unknown[]) => number)(p, ...rest);
    if (path.resolve(String(p)) === target) fds.add(fd);
    return fd;
  };
  f.readSync = (fd: number, buf: Uint8Array, ...rest: unknown[]) => {
    if (!fds.has(fd)) return (orig.readSync as (...a: unknown[]) => number)(fd, buf, ...rest);
    const [offset, length, position] = rest as [number, number, number];
    if (typeof offset !== 'number' || typeof length !== 'number' || typeof position !== 'number') throw new Error('deep-synthetic: the virtual data file is read only positionally (fd, buffer, offset, length, position)');
    fillRange(regions, buf.subarray(offset, offset + length), position);
    return length;
  };
  f.closeSync = (fd: number) => {
    fds.delete(fd);
    return orig.closeSync(fd);
  };
  syncBuiltinESMExports(); // the converter's `import { readSync } from 'node:fs'` bindings see the wrappers
  return () => {
    Object.assign(f, orig);
    syncBuiltinESMExports();
  };
}

/** Writes the virtual data file's bytes for real (small shapes only: tests compare the served bytes with these). */
export function materialize(dir: string, regions: Region[]): void {
  const end = regions.reduce((n, r) => Math.max(n, r.start + r.bytes), 0);
  if (end > 1 << 30) throw new Error(`deep-synthetic: ${end} bytes is too large to materialize`);
  const bytes = new Uint8Array(end);
  fillRange(regions, bytes, 0);
  writeFileSync(path.join(dir, DATA), bytes);
}

/** Writes the source folder; returns the data regions for the virtual file. */
export function writeSource(dir: string, cfg: ProfileEncoderConfig & { vocabSize: number }): Region[] {
  mkdirSync(dir, { recursive: true });
  const p = new LazyParams(cfg.seed);
  const g = new VirtualBuilder('qwen2_full_depth_synthetic', p);
  emitProfileEncoder(g, p, { ...cfg, lengthFromEmbeds: true });
  writeFileSync(path.join(dir, 'model.onnx'), encodeModel(g.model(`full-depth synthetic Qwen2 (vocab ${cfg.vocabSize}, hidden ${cfg.hidden}, ${cfg.layers} layers, ${cfg.heads}/${cfg.kvHeads} heads, intermediate ${cfg.intermediate}), seeded uniform weights served on read`)));
  const data = path.join(dir, DATA);
  writeFileSync(data, '');
  fs.truncateSync(data, g.end); // sparse: the right length for the converter's checks, no blocks on disk
  const fix = path.join(ROOT, 'fixtures', 'profile-encoder');
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt']) if (existsSync(path.join(fix, f))) copyFileSync(path.join(fix, f), path.join(dir, f));
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({
    architectures: ['Qwen2Model'], model_type: 'qwen2', hidden_size: cfg.hidden, intermediate_size: cfg.intermediate,
    num_attention_heads: cfg.heads, num_key_value_heads: cfg.kvHeads, num_hidden_layers: cfg.layers, hidden_act: 'silu',
    rms_norm_eps: cfg.rmsEps, rope_theta: cfg.ropeTheta, vocab_size: cfg.vocabSize, tie_word_embeddings: false, torch_dtype: 'float32',
  }, null, 2));
  return g.regions;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const args = process.argv.slice(2);
  const opt = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const out = path.resolve(args[0] ?? '');
  if (!args[0] || args[0].startsWith('--')) throw new Error('usage: deep-synthetic.ts OUT [--encoder-quantize q4] [--layers N] [--hidden H] [--intermediate I] [--heads Q] [--kv-heads K] [--vocab V] [--groups N]');
  const num = (k: string, d: number) => (opt(k) ? Number(opt(k)) : d);
  const cfg = {
    ...QWEN25_7B,
    layers: num('layers', QWEN25_7B.layers), hidden: num('hidden', QWEN25_7B.hidden), intermediate: num('intermediate', QWEN25_7B.intermediate),
    heads: num('heads', QWEN25_7B.heads), kvHeads: num('kv-heads', QWEN25_7B.kvHeads), vocabSize: num('vocab', QWEN25_7B.vocabSize),
  };
  const t0 = performance.now();
  const source = path.join(out, 'source');
  rmSync(out, { recursive: true, force: true });
  const regions = writeSource(source, cfg);
  const last = regions.at(-1)!;
  console.log(`source: ${regions.length} parameters, ${((last.start + last.bytes) / 2 ** 30).toFixed(2)} GiB fp32 (virtual)`);
  const restore = serveVirtualFile(path.join(source, DATA), regions);
  try {
    const work = path.join(out, 'work');
    mkdirSync(work, { recursive: true });
    const psa = path.join(work, `adapter-e${cfg.hidden}.safetensors`);
    adapterWithE(psa, cfg.hidden);
    const b = convert({
      sd15: makeSd15(work), psa, out: path.join(out, 'bundle'), profileEncoder: source,
      encoderQuantize: opt('encoder-quantize') ?? 'q4', encoderGroups: opt('groups') ? Number(opt('groups')) : undefined,
      id: 'deep-synthetic', name: `Full-depth synthetic encoder (${cfg.layers} layers, hidden ${cfg.hidden})`,
      log: (l) => console.log(`${((performance.now() - t0) / 1000).toFixed(0)} s: ${l}`),
    });
    rmSync(work, { recursive: true, force: true });
    const enc = b.files.filter((f) => f.path.startsWith('profile_encoder/'));
    console.log(`bundle ${b.dir}: ${b.files.length} files; profile encoder ${enc.length} files, ${(enc.reduce((n, f) => n + f.bytes, 0) / 2 ** 30).toFixed(2)} GiB; ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  } finally {
    restore();
  }
}
