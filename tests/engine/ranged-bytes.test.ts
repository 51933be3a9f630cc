// RangedBytes: external data read one tensor at a time. Its own contract (ranges, errors, progress), and the real
// thing it exists for: onnxruntime-web's wasm backend (run here in Node, same loader as in the browser) creates a
// session from it and computes exactly what the same session computes from the whole file in memory, while the
// reads it makes are per initializer, never the whole file.
import { describe, expect, it } from 'vitest';
import * as ortWeb from 'onnxruntime-web';
import { GraphBuilder, onnx, encodeModel } from '../../scripts/models/onnx-builder';
import { RangedBytes } from '../../src/engine/bundles/ranged-bytes';
import { sessionOptions } from '../../src/engine/sessions';

const fileOf = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 255);

describe('RangedBytes', () => {
  it('is a Uint8Array whose byteLength is the file size and whose subarray reads that range', () => {
    const file = fileOf(1000);
    const reads: [number, number][] = [];
    const progress: number[] = [];
    const r = new RangedBytes(file.length, (s, e) => (reads.push([s, e]), file.slice(s, e)), (served) => progress.push(served));
    expect(r).toBeInstanceOf(Uint8Array);
    expect(r.byteLength).toBe(1000);
    expect(Array.from(r.subarray(10, 20))).toEqual(Array.from(file.slice(10, 20)));
    expect(Array.from(r.subarray(-5))).toEqual(Array.from(file.slice(995)));
    expect(reads).toEqual([[10, 20], [995, 1000]]);
    expect(progress).toEqual([10, 15]);
  });
  it('frees each read when the next one comes, or on release(): the old array is detached, never reused', () => {
    // Node 20 has no ArrayBuffer.prototype.transfer (Chromium has): give each read's buffer one that detaches it the
    // way transfer(0) does, to see when RangedBytes calls it.
    const file = fileOf(1000);
    const freed: number[] = [];
    const read = (s: number, e: number) => {
      const out = file.slice(s, e);
      Object.assign(out.buffer, { transfer: () => (freed.push(s), structuredClone(out.buffer, { transfer: [out.buffer] })) });
      return out;
    };
    const r = new RangedBytes(file.length, read);
    const a = r.subarray(0, 100);
    expect(a.length).toBe(100);
    const b = r.subarray(100, 300);
    expect(freed).toEqual([0]);
    expect(a.length).toBe(0); // a view kept past the next read is empty, not someone else's bytes
    expect(Array.from(b)).toEqual(Array.from(file.slice(100, 300)));
    r.release();
    expect(freed).toEqual([0, 100]);
    expect(b.length).toBe(0);
    r.release(); // nothing left to free
    expect(freed).toEqual([0, 100]);
  });
  it('refuses ranges outside the file and short reads', () => {
    const r = new RangedBytes(100, (s, e) => new Uint8Array(e - s));
    expect(() => r.subarray(90, 101)).toThrow(/outside the file \(100 bytes\)/);
    expect(() => r.subarray(50, 40)).toThrow(/outside the file/);
    const short = new RangedBytes(100, () => new Uint8Array(3));
    expect(() => short.subarray(0, 10)).toThrow(/read 3 bytes for \[0, 10\)/);
    expect(() => new RangedBytes(-1, () => new Uint8Array())).toThrow(/size must be a byte count/);
  });
});

describe('onnxruntime-web fed with RangedBytes', () => {
  // y = (x · W1) · W2 with both weights in one external file (W2 at a 4 KiB-aligned offset).
  const E = 4, K = 3000, H = 8;
  const w1 = Float32Array.from({ length: E * K }, (_, i) => Math.sin(i) / 50);
  const w2 = Float32Array.from({ length: K * H }, (_, i) => Math.cos(i * 0.7) / 50);
  const w2Off = Math.ceil(w1.byteLength / 4096) * 4096;
  const data = new Uint8Array(w2Off + w2.byteLength);
  data.set(new Uint8Array(w1.buffer), 0);
  data.set(new Uint8Array(w2.buffer), w2Off);
  const ext = (name: string, dims: number[], offset: number, length: number) =>
    onnx.TensorProto.create({
      name, dims, dataType: onnx.TensorProto.DataType.FLOAT, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        onnx.StringStringEntryProto.create({ key: 'location', value: 'w.bin' }),
        onnx.StringStringEntryProto.create({ key: 'offset', value: String(offset) }),
        onnx.StringStringEntryProto.create({ key: 'length', value: String(length) }),
      ],
    });
  const g = new GraphBuilder('ranged');
  const x = g.input('x', 'float32', [1, E]);
  g.output(g.op('MatMul', [g.op('MatMul', [x, 'w1']), 'w2']), 'y', 'float32', [1, H]);
  const m = g.model();
  m.graph!.initializer!.push(ext('w1', [E, K], 0, w1.byteLength), ext('w2', [K, H], w2Off, w2.byteLength));
  const model = encodeModel(m);
  const feeds = { x: new ortWeb.Tensor('float32', Float32Array.from([1, -2, 0.5, 3]), [1, E]) };
  ortWeb.env.wasm.numThreads = 1;

  it('creates a session that computes what the whole-file session computes, reading per initializer', async () => {
    const whole = await ortWeb.InferenceSession.create(model, { executionProviders: ['wasm'], externalData: [{ path: 'w.bin', data }] });
    const expected = (await whole.run(feeds)).y.data as Float32Array;
    await whole.release();

    const reads: [number, number][] = [];
    const ranged = new RangedBytes(data.length, (s, e) => (reads.push([s, e]), data.slice(s, e)));
    const lazy = await ortWeb.InferenceSession.create(model, { executionProviders: ['wasm'], externalData: [{ path: 'w.bin', data: ranged }] });
    const got = (await lazy.run(feeds)).y.data as Float32Array;
    await lazy.release();

    expect(Array.from(got)).toEqual(Array.from(expected));
    expect(reads.sort((a, b) => a[0] - b[0])).toEqual([[0, w1.byteLength], [w2Off, w2Off + w2.byteLength]]);
  });

  it('fails session creation (never loads wrong weights) when the file is shorter than the model says', async () => {
    const ranged = new RangedBytes(w2Off, (s, e) => data.slice(s, e));
    await expect(ortWeb.InferenceSession.create(model, { executionProviders: ['wasm'], externalData: [{ path: 'w.bin', data: ranged }] })).rejects.toThrow();
  });
});

describe('RangedBytes and the onnxruntime-web build (engine/ort-web.ts chooses JSPI where the browser has it)', () => {
  const file = fileOf(64);
  const blob = new Blob([file]);
  const ranged = () => new RangedBytes(file.length, (s, e) => file.slice(s, e), undefined, blob);
  it('JSPI: ORT is handed the stored File itself (it reads the ranges); asyncify and Node: the RangedBytes', () => {
    const x = ranged();
    const jspi = sessionOptions({ backend: 'wasm', ortBuild: 'jspi' }, { externalData: [{ path: 'w.bin', data: x }] });
    expect(jspi.externalData![0]).toEqual({ path: 'w.bin', data: blob });
    const asyncify = sessionOptions({ backend: 'wasm', ortBuild: 'asyncify' }, { externalData: [{ path: 'w.bin', data: x }] });
    expect((asyncify.externalData![0] as { data: unknown }).data).toBe(x);
    const node = sessionOptions({ backend: 'wasm' }, { externalData: [{ path: 'w.bin', data: x }] });
    expect((node.externalData![0] as { data: unknown }).data).toBe(x);
    // Without a File behind it (read whole elsewhere) there is nothing to hand over: unchanged on JSPI too.
    const bare = new RangedBytes(file.length, (s, e) => file.slice(s, e));
    expect((sessionOptions({ backend: 'wasm', ortBuild: 'jspi' }, { externalData: [{ path: 'w.bin', data: bare }] }).externalData![0] as { data: unknown }).data).toBe(bare);
  });
  it('readBySource reports the whole file as read (progress when ORT read it without subarray)', () => {
    const seen: [number, number][] = [];
    const x = new RangedBytes(file.length, (s, e) => file.slice(s, e), (a, b) => seen.push([a, b]), blob);
    x.readBySource();
    expect(seen).toEqual([[64, 64]]);
  });
});
