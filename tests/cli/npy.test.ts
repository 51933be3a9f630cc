// NumPy .npy reading/writing for --latents/--save-latents: round trip, float64 input, and clear refusals.
import { describe, expect, it } from 'vitest';
import { readNpy, writeNpy } from '../../scripts/lib/npy';

function npy(header: string, body: Uint8Array): Uint8Array {
  let h = header;
  while ((10 + h.length + 1) % 64) h += ' ';
  h += '\n';
  const out = new Uint8Array(10 + h.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, h.length, true);
  out.set(new TextEncoder().encode(h), 10);
  out.set(body, 10 + h.length);
  return out;
}

describe('npy', () => {
  it('round-trips float32 with a 64-byte aligned header', () => {
    const data = Float32Array.from({ length: 24 }, (_, i) => i / 7 - 1);
    const bytes = writeNpy({ shape: [1, 4, 2, 3], data });
    expect((bytes.length - data.length * 4) % 64).toBe(0);
    const back = readNpy(bytes);
    expect(back.shape).toEqual([1, 4, 2, 3]);
    expect(Array.from(back.data)).toEqual(Array.from(data));
  });
  it('reads float64 (numpy default) into float32', () => {
    const f64 = Float64Array.of(0.5, -1.25, 3);
    const r = readNpy(npy("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", new Uint8Array(f64.buffer)));
    expect(Array.from(r.data)).toEqual([0.5, -1.25, 3]);
  });
  it('refuses other dtypes, Fortran order, truncation and non-npy files by name', () => {
    const body = new Uint8Array(12);
    expect(() => readNpy(npy("{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", body), 'x.npy')).toThrow(/x\.npy has dtype <i4/);
    expect(() => readNpy(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }", body), 'x.npy')).toThrow(/Fortran order/);
    expect(() => readNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", body), 'x.npy')).toThrow(/truncated/);
    expect(() => readNpy(new TextEncoder().encode('hello world'), 'x.npy')).toThrow(/not a NumPy \.npy file/);
  });
});
