// The profile encoder read by range from a stored bundle (a reader with externalBytes, as the OPFS reader is): the
// layer-group encoder's table gives only the rows of the prompt's tokens, every group's external data goes to ORT one
// initializer at a time, and the embedding is exactly the one computed from whole files — also for the int8 / q4
// variants (DequantizeLinear / MatMulNBits groups, int8 table rows read one by one). onnxruntime-web's wasm
// backend runs here in Node (the browser's loader; onnxruntime-node reads external data its own way).
import { cpSync, openSync, readSync, closeSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ortWeb from 'onnxruntime-web';
import { writeLayerGroups } from '../../scripts/convert/encoder/index';
import { loadOnnx } from '../../scripts/convert/onnx-model';
import { writeModel } from '../../scripts/convert/write-model';
import { computeEmbedding } from '../../src/engine/embedding/compute';
import { folderEncoder } from '../../src/engine/embedding/encoder-source';
import { RangedBytes } from '../../src/engine/bundles/ranged-bytes';
import { fsReader } from '../../src/engine/node-reader';
import { directSerial, type Runtime } from '../../src/engine/sessions';
import type { BundleReader } from '../../src/engine/bundle-reader';
import type { OrtLike } from '../../src/engine/ort-types';
import { ROOT, tmpDir } from '../convert/helpers';

const FIXTURE = path.join(ROOT, 'fixtures', 'profile-encoder');
ortWeb.env.wasm.numThreads = 1;
const rt: Runtime = { ort: ortWeb as unknown as OrtLike, backend: 'wasm', serial: directSerial };

/** fsReader plus externalBytes by range (what the OPFS reader does with FileReaderSync), logging every call. */
function rangedReader(dir: string, log: { whole: string[]; ranges: Map<string, [number, number][]> }): BundleReader {
  const base = fsReader(dir);
  return {
    ...base,
    async bytes(p, cb) {
      log.whole.push(p);
      return base.bytes(p, cb);
    },
    async externalBytes(p, cb) {
      const file = path.join(dir, ...p.split('/'));
      const ranges: [number, number][] = [];
      log.ranges.set(p, ranges);
      return new RangedBytes(statSync(file).size, (s, e) => {
        ranges.push([s, e]);
        const out = new Uint8Array(e - s);
        const fd = openSync(file, 'r');
        try {
          readSync(fd, out, 0, out.length, s);
        } finally {
          closeSync(fd);
        }
        return out;
      }, cb);
    },
  };
}

let dir: string;
let single: string;
let singleExternal: string[];
beforeAll(() => {
  dir = tmpDir('encoder-ranged-');
  writeLayerGroups(FIXTURE, dir, { groupBytes: 20_000, tableDtype: 'float32' });
  // The single graph with its weights in external files (as an Optimum export of a real encoder has them).
  single = tmpDir('encoder-ranged-single-');
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt']) cpSync(path.join(FIXTURE, f), path.join(single, f));
  const w = writeModel(loadOnnx(path.join(FIXTURE, 'model.onnx'), FIXTURE, 'model.onnx'), { dir: single, fileName: 'model.onnx', external: true, minExternalBytes: 1024, chunkBytes: 60_000 });
  singleExternal = w.externalData.map((f) => f.name);
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  rmSync(single, { recursive: true, force: true });
});

describe('profile encoder from a stored bundle (ranged reads)', () => {
  it('layer groups: only the prompt rows of the table, external data per initializer, the same embedding', async () => {
    const text = 'a 9-year-old girl who loves drawing horses';
    const whole = await folderEncoder(fsReader(dir));
    const ref = await computeEmbedding(rt, whole, text, { details: true });

    const log = { whole: [] as string[], ranges: new Map<string, [number, number][]>() };
    // With the id known (a manifest with sha256s) nothing needs whole files.
    const src = { ...whole, reader: rangedReader(dir, log), id: ref.encoderId };
    const got = await computeEmbedding(rt, src, text, { details: true });
    expect(Array.from(got.embedding)).toEqual(Array.from(ref.embedding));

    const index = JSON.parse(new TextDecoder().decode(await fsReader(dir).bytes('encoder_groups.json')));
    const table = JSON.parse(new TextDecoder().decode(await fsReader(dir).bytes(index.table)));
    const rowBytes = table.shape[1] * 4;
    const tableReads = log.ranges.get(table.file)!;
    expect(tableReads.length).toBe(got.details!.ids.length);
    for (const [s, e] of tableReads) {
      expect(e - s).toBe(rowBytes);
      expect(s % rowBytes).toBe(0);
    }
    expect(log.whole).not.toContain(table.file);
    // Every group's external file went by range, none read whole.
    const external = index.groups.flatMap((g: { externalData: string[] }) => g.externalData) as string[];
    expect(external.length).toBeGreaterThan(3);
    for (const x of external) {
      expect(log.whole, x).not.toContain(x);
      expect(log.ranges.get(x)?.length, x).toBeGreaterThan(0);
    }
  });

  it('int8 (the default) and q4 groups with the int8 table, on onnxruntime-web: one [scale, codes] row per token read, the same embedding as whole files, near float32', async () => {
    const text = 'a 9-year-old girl who loves drawing horses';
    const fp32 = (await computeEmbedding(rt, await folderEncoder(fsReader(dir)), text)).embedding;
    for (const quantize of ['int8', 'q4'] as const) {
      const vdir = tmpDir(`encoder-ranged-${quantize}-`);
      try {
        writeLayerGroups(FIXTURE, vdir, { groupBytes: 20_000, quantize });
        const whole = await folderEncoder(fsReader(vdir));
        const ref = await computeEmbedding(rt, whole, text, { details: true });
        const log = { whole: [] as string[], ranges: new Map<string, [number, number][]>() };
        const got = await computeEmbedding(rt, { ...whole, reader: rangedReader(vdir, log), id: ref.encoderId }, text, { details: true });
        expect(Array.from(got.embedding)).toEqual(Array.from(ref.embedding));
        const reads = log.ranges.get('embed_tokens.i8')!;
        expect(reads.length).toBe(got.details!.ids.length);
        for (const [s, e] of reads) {
          expect(e - s).toBe(32 + 4);
          expect(s % 36).toBe(0);
        }
        // Near float32 (the bounds of tests/convert/encoder-quantize.test.ts), on the browser's runtime too.
        let dot = 0, na = 0, nb = 0;
        for (let i = 0; i < fp32.length; i++) [dot, na, nb] = [dot + got.embedding[i] * fp32[i], na + got.embedding[i] ** 2, nb + fp32[i] ** 2];
        expect(dot / Math.sqrt(na * nb), quantize).toBeGreaterThan(quantize === 'int8' ? 0.9995 : 0.94);
      } finally {
        rmSync(vdir, { recursive: true, force: true });
      }
    }
  });

  it('single graph: external data per initializer, the same embedding', async () => {
    const text = 'a 72-year-old man with anxiety';
    const whole = await folderEncoder(fsReader(single));
    expect(whole.model.externalData?.map((x) => x.path)).toEqual(singleExternal);
    expect(singleExternal.length).toBeGreaterThan(1);
    const ref = await computeEmbedding(rt, whole, text);
    const log = { whole: [] as string[], ranges: new Map<string, [number, number][]>() };
    const got = await computeEmbedding(rt, { ...whole, reader: rangedReader(single, log), id: ref.encoderId }, text);
    expect(Array.from(got.embedding)).toEqual(Array.from(ref.embedding));
    // One read per initializer (a file may hold a single big one), never through bytes().
    for (const x of singleExternal) {
      expect(log.whole, x).not.toContain(x);
      expect(log.ranges.get(x)?.length, x).toBeGreaterThan(0);
    }
    const reads = singleExternal.flatMap((x) => log.ranges.get(x)!);
    expect(reads.length).toBeGreaterThan(singleExternal.length * 2);
  });

  it('without the id (no manifest sha256s) every file is read whole, to hash it', async () => {
    const log = { whole: [] as string[], ranges: new Map<string, [number, number][]>() };
    const src = await folderEncoder(rangedReader(dir, log));
    await computeEmbedding(rt, { ...src, id: undefined }, 'hello');
    expect(log.ranges.size).toBe(0);
  });
});
