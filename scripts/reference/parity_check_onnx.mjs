// Runs each ONNX model of fixtures/parity/bundle with onnxruntime-node on the inputs saved by
// parity_fixture.py and compares with the PyTorch outputs (max abs diff must be <= tolerance).
//   node scripts/reference/parity_check_onnx.mjs [fixtures/parity]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.resolve(process.argv[2] ?? path.join(here, '..', '..', 'fixtures', 'parity'));

// Minimal .npy reader (little-endian, C order): float32 / int32 / int64.
function readNpy(file) {
  const buf = fs.readFileSync(file);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const off = (major === 1 ? 10 : 12) + hlen;
  const header = buf.subarray(major === 1 ? 10 : 12, off).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${file}: fortran order`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const bytes = buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + buf.length);
  const types = { '<f4': ['float32', Float32Array], '<i4': ['int32', Int32Array], '<i8': ['int64', BigInt64Array] };
  if (!types[descr]) throw new Error(`${file}: unsupported dtype ${descr}`);
  const [type, Arr] = types[descr];
  return new ort.Tensor(type, new Arr(bytes), shape);
}

const check = JSON.parse(fs.readFileSync(path.join(dir, 'onnx-check', 'check.json'), 'utf8'));
let ok = true;
for (const m of check.models) {
  const session = await ort.InferenceSession.create(path.join(dir, m.model));
  const feeds = {};
  for (const [name, f] of Object.entries(m.inputs)) feeds[name] = readNpy(path.join(dir, f));
  const sig = session.inputNames.map((n) => `${n}:${feeds[n]?.type}[${feeds[n]?.dims}]`).join(' ');
  const outs = await session.run(feeds);
  for (const [name, f] of Object.entries(m.outputs)) {
    const want = readNpy(path.join(dir, f));
    const got = outs[name];
    if (!got || got.dims.join() !== want.dims.join()) {
      console.log(`${m.model} ${name}: shape ${got?.dims} != ${want.dims}`);
      ok = false;
      continue;
    }
    let max = 0;
    for (let i = 0; i < want.data.length; i++) max = Math.max(max, Math.abs(got.data[i] - want.data[i]));
    const pass = max <= check.tolerance;
    ok &&= pass;
    console.log(`${pass ? 'ok  ' : 'FAIL'} ${m.model} (${sig}) -> ${name}[${got.dims}] max|onnx-torch| = ${max.toExponential(2)}`);
  }
}
if (!ok) {
  console.error(`ONNX outputs differ from torch by more than ${check.tolerance}`);
  process.exit(1);
}
