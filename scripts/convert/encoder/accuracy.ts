// What each profile-encoder weight variant (`--encoder-quantize`) does to the PSA user embedding and, downstream, to
// the PSA U-Net: the source export is cut into layer groups once per variant, every user of the source's
// expected.json is embedded by the engine's own group runner (onnxruntime-node, CPU), and each variant's embedding
// is compared with the float32 groups' (cosine, max |Δ| / max |fp32|) and with transformers' fp32 reference. The
// downstream effect: the embedding goes through a converted PSA bundle's user projection (the committed fixture
// adapter widened to the encoder's width) into the tiny PSA U-Net at psa_scale 1; its out_sample change is reported
// against the fp32 embedding's, and against the whole PSA effect (psa_scale 1 vs 0) for scale.
// Used by tests/convert/encoder-quantize.test.ts (tiny fixture, with bounds) and, for the README's table, on the
// deeper synthetic encoder of scripts/reference/qwen2_deep_encoder.py:
//   npx tsx scripts/convert/encoder/accuracy.ts SOURCE_DIR [--groups N] [--users N] [--variants q4,int8,…] [--json FILE]
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { computeEmbedding } from '../../../src/engine/embedding/compute';
import { folderEncoder } from '../../../src/engine/embedding/encoder-source';
import { nodeRuntime } from '../../../src/engine/node-host';
import { fsReader } from '../../../src/engine/node-reader';
import { adapterWithE } from '../../../tests/convert/adapter-e32';
import { concatTokens, makeSd15, ref, runUnet } from '../../../tests/convert/helpers';
import { convert } from '../bundle';
import type { QuantizeOption } from '../variants';
import { writeLayerGroups, type GroupOptions } from './index';

export const ALL_VARIANTS: QuantizeOption[] = ['none', 'fp16', 'int8', 'q4', 'q4f16'];

export interface Reference {
  /** `embedding`: transformers' fp32 reference, when the source has one (the deep encoder's is optional). */
  users: { user_id: number; text: string; embedding?: number[] }[];
}

export interface VariantResult {
  variant: QuantizeOption;
  /** Bytes of the groups (graphs + external data) and of the table: what a device downloads. */
  groupBytes: number;
  tableBytes: number;
  /** Worst over the users: vs the float32 groups' embedding, and vs transformers' fp32 reference (NaN without one). */
  cosVsFp32: number;
  relVsFp32: number;
  cosVsTorch: number;
  relVsTorch: number;
  /**
   * Whether each user's embedding in this variant is still nearer (cosine) to that user's float32 embedding than to
   * any other user's: the margin min_i [cos(e_i, f_i) − max_{j≠i} cos(e_i, f_j)] (> 0: profiles stay apart).
   */
  ownMargin: number;
  /** PSA U-Net out_sample at psa_scale 1: max |Δ| / max |fp32-embedding output|, and Δ / (the PSA effect, scale 1 vs 0). */
  unetRel?: number;
  unetOfPsaEffect?: number;
  /** Seconds to write this variant and to embed one user (this machine, CPU). */
  writeSeconds: number;
  embedSeconds: number;
  embeddings: Float32Array[];
}

/** max |a − b| / max |b|. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < b.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return dot / Math.sqrt(na * nb);
}

const sizeOf = (dir: string, names: string[]) => names.reduce((n, f) => n + statSync(path.join(dir, f)).size, 0);

/** Writes and embeds every variant (float32 first: the others are compared with it). `work` is a scratch folder. */
export async function measureVariants(source: string, refs: Reference, work: string, o: { variants?: QuantizeOption[]; users?: number; group?: GroupOptions; log?: (l: string) => void } = {}): Promise<VariantResult[]> {
  const rt = nodeRuntime();
  const users = refs.users.slice(0, o.users ?? refs.users.length);
  const variants = ['none' as const, ...(o.variants ?? ALL_VARIANTS).filter((v) => v !== 'none')];
  const results: VariantResult[] = [];
  for (const q of variants) {
    const dir = path.join(work, q);
    const t0 = performance.now();
    const w = writeLayerGroups(source, dir, { ...o.group, quantize: q });
    const writeSeconds = (performance.now() - t0) / 1000;
    const src = await folderEncoder(fsReader(dir));
    const embeddings: Float32Array[] = [];
    const t1 = performance.now();
    for (const u of users) embeddings.push(Float32Array.from((await computeEmbedding(rt, src, u.text)).embedding));
    const embedSeconds = (performance.now() - t1) / 1000 / users.length;
    const fp32 = results[0]?.embeddings ?? embeddings;
    const worst = (f: (a: Float32Array, i: number) => number, pick: (x: number, y: number) => number) => embeddings.map(f).reduce((a, b) => pick(a, b));
    results.push({
      variant: q,
      groupBytes: w.groups.reduce((n, g) => n + g.model.bytes + g.externalData.reduce((m, x) => m + x.bytes, 0), 0),
      tableBytes: sizeOf(dir, [w.table.name]),
      cosVsFp32: worst((e, i) => cosine(e, fp32[i]), Math.min),
      relVsFp32: worst((e, i) => relErr(e, fp32[i]), Math.max),
      cosVsTorch: users.every((u) => u.embedding) ? worst((e, i) => cosine(e, users[i].embedding!), Math.min) : NaN,
      relVsTorch: users.every((u) => u.embedding) ? worst((e, i) => relErr(e, users[i].embedding!), Math.max) : NaN,
      ownMargin: Math.min(...embeddings.map((e, i) => cosine(e, fp32[i]) - Math.max(-1, ...fp32.filter((_, j) => j !== i).map((f) => cosine(e, f))))),
      writeSeconds,
      embedSeconds,
      embeddings,
    });
    const r = results.at(-1)!;
    o.log?.(`${q}: cos ${r.cosVsFp32.toFixed(6)} rel ${r.relVsFp32.toExponential(2)} vs fp32, own-user margin ${r.ownMargin.toFixed(4)}; vs transformers cos ${r.cosVsTorch.toFixed(6)} rel ${r.relVsTorch.toExponential(2)}; ${(r.groupBytes / 2 ** 20).toFixed(1)} MiB groups + ${(r.tableBytes / 2 ** 20).toFixed(2)} MiB table; write ${writeSeconds.toFixed(1)} s, embed ${embedSeconds.toFixed(2)} s/user`);
  }
  return results;
}

/**
 * The PSA U-Net's out_sample at psa_scale 1 for each variant's embeddings against the float32 embeddings' (worst
 * user): a bundle is converted from the tiny SD1.5 fixture and the fixture adapter widened to E (no encoder in it:
 * only the user projection and U-Net are used).
 */
export async function downstream(results: VariantResult[], E: number, work: string): Promise<void> {
  const psa = path.join(work, `adapter-e${E}.safetensors`);
  adapterWithE(psa, E);
  const b = convert({ sd15: makeSd15(work), psa, out: path.join(work, `bundle-e${E}`) });
  const proj = await ort.InferenceSession.create(path.join(b.dir, 'user_projection', 'model.onnx'), { logSeverityLevel: 3 });
  const unet = await ort.InferenceSession.create(path.join(b.dir, b.manifest.components.unet.variants.fp32!.path), { logSeverityLevel: 3 });
  const text = ref('encoder_hidden_states_text');
  const out = async (e: Float32Array, scale: number) => {
    const user = (await proj.run({ user_embeds: new ort.Tensor('float32', e, [1, E]) })).user_tokens;
    return runUnet(unet, concatTokens(text, { shape: user.dims as number[], data: user.data as Float32Array }), scale);
  };
  const base = await Promise.all(results[0].embeddings.map((e) => out(e, 1)));
  const off = await out(results[0].embeddings[0], 0); // psa_scale 0: the user token has no effect
  for (const r of results) {
    let rel = 0, ofEffect = 0;
    for (let i = 0; i < r.embeddings.length; i++) {
      const y = await out(r.embeddings[i], 1);
      rel = Math.max(rel, relErr(y, base[i]));
      let d = 0, eff = 0;
      for (let k = 0; k < y.length; k++) {
        d = Math.max(d, Math.abs(y[k] - base[i][k]));
        eff = Math.max(eff, Math.abs(base[i][k] - off[k]));
      }
      ofEffect = Math.max(ofEffect, d / eff);
    }
    Object.assign(r, { unetRel: rel, unetOfPsaEffect: ofEffect });
  }
  await proj.release();
  await unet.release();
}

/** The README's table rows. */
export function table(results: VariantResult[]): string {
  const torch = (x: number, f: (x: number) => string) => (Number.isNaN(x) ? '–' : f(x));
  const rows = results.map((r) => `| ${r.variant} | ${((r.groupBytes + r.tableBytes) / 2 ** 20).toFixed(1)} MiB | ${r.cosVsFp32.toFixed(6)} | ${r.relVsFp32.toExponential(2)} | ${torch(r.cosVsTorch, (x) => x.toFixed(6))} | ${torch(r.relVsTorch, (x) => x.toExponential(2))} | ${r.ownMargin.toFixed(4)} | ${r.unetRel?.toExponential(2) ?? '–'} | ${r.unetOfPsaEffect?.toExponential(2) ?? '–'} |`);
  return ['| variant | download | cos vs fp32 | max rel vs fp32 | cos vs transformers | max rel vs transformers | own-user margin | U-Net Δ (rel) | U-Net Δ / PSA effect |', '|---|---|---|---|---|---|---|---|---|', ...rows].join('\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const args = process.argv.slice(2);
  const opt = (name: string) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const source = path.resolve(args[0] ?? '');
  const refs = JSON.parse(readFileSync(path.join(source, 'expected.json'), 'utf8')) as Reference;
  const cfg = JSON.parse(readFileSync(path.join(source, 'config.json'), 'utf8')) as { hidden_size: number };
  const work = mkdtempSync(path.join(tmpdir(), 'encoder-accuracy-'));
  try {
    const results = await measureVariants(source, refs, work, {
      users: opt('users') ? Number(opt('users')) : undefined,
      variants: opt('variants')?.split(',') as QuantizeOption[] | undefined,
      group: { groups: opt('groups') ? Number(opt('groups')) : undefined },
      log: (l) => console.log(l),
    });
    await downstream(results, cfg.hidden_size, work);
    console.log(table(results));
    const json = opt('json');
    if (json) writeFileSync(json, JSON.stringify(results.map(({ embeddings: _, ...r }) => r), null, 1));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
