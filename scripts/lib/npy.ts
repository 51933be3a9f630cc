// NumPy .npy read/write (format 1.0/2.0, little-endian float32/float64, C order): the CLI's --latents and
// --save-latents, so noise can travel between psa-web and Python/diffusers unchanged.

export interface NpyArray {
  shape: number[];
  data: Float32Array;
}

export function readNpy(buf: Uint8Array, name = 'array'): NpyArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (buf.length < 10 || magic.some((b, i) => buf[i] !== b)) throw new Error(`${name} is not a NumPy .npy file`);
  const major = buf[6];
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const header = new TextDecoder('latin1').decode(buf.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new Error(`${name} has an unreadable .npy header`);
  if (fortran === 'True') throw new Error(`${name} is in Fortran order; save it C-contiguous (np.ascontiguousarray)`);
  const shape = shapeText.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const off = start + headerLen;
  const data = new Float32Array(count);
  if (descr === '<f4') {
    if (buf.length - off < count * 4) throw new Error(`${name} is truncated: ${count} float32 values declared`);
    for (let i = 0; i < count; i++) data[i] = dv.getFloat32(off + i * 4, true);
  } else if (descr === '<f8') {
    if (buf.length - off < count * 8) throw new Error(`${name} is truncated: ${count} float64 values declared`);
    for (let i = 0; i < count; i++) data[i] = dv.getFloat64(off + i * 8, true);
  } else {
    throw new Error(`${name} has dtype ${descr}; only float32 (<f4) and float64 (<f8) are accepted`);
  }
  return { shape, data };
}

export function writeNpy(a: NpyArray): Uint8Array {
  const shape = a.shape.length === 1 ? `(${a.shape[0]},)` : `(${a.shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`;
  // Pad so the data starts on a 64-byte boundary, header ends with '\n' (the format's rule).
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const out = new Uint8Array(10 + header.length + a.data.length * 4);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const dv = new DataView(out.buffer);
  dv.setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  for (let i = 0; i < a.data.length; i++) dv.setFloat32(10 + header.length + i * 4, a.data[i], true);
  return out;
}
