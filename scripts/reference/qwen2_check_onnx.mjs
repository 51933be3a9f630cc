// Runs fixtures/profile-encoder/model.onnx with onnxruntime-node and compares it with the torch reference made by
// qwen2_fixture.py: (1) each user alone ([1, T], mask of ones): the masked mean of last_hidden_state vs the stored
// embedding; (2) all users in one left-padded batch: last_hidden_state at every unmasked position vs torch.
//   node scripts/reference/qwen2_check_onnx.mjs [fixtures/profile-encoder]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.resolve(process.argv[2] ?? path.join(here, '..', '..', 'fixtures', 'profile-encoder'));

// Minimal .npy reader (little-endian, C order): float32 / int64.
function readNpy(file) {
  const buf = fs.readFileSync(file);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const off = (major === 1 ? 10 : 12) + hlen;
  const header = buf.subarray(major === 1 ? 10 : 12, off).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const bytes = buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + buf.length);
  const types = { '<f4': ['float32', Float32Array], '<i8': ['int64', BigInt64Array] };
  if (!types[descr]) throw new Error(`${file}: unsupported dtype ${descr}`);
  const [type, Arr] = types[descr];
  return new ort.Tensor(type, new Arr(bytes), shape);
}

const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8'));
const tol = expected.tolerance.onnx_vs_torch_abs;
const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'));
console.log(`inputs ${session.inputNames.join(', ')} -> outputs ${session.outputNames.join(', ')}`);
let worst = 0;
for (const u of expected.users) {
  const T = u.input_ids.length;
  const ids = new ort.Tensor('int64', BigInt64Array.from(u.input_ids.map(BigInt)), [1, T]);
  const mask = new ort.Tensor('int64', new BigInt64Array(T).fill(1n), [1, T]);
  const { last_hidden_state: h } = await session.run({ input_ids: ids, attention_mask: mask });
  const E = h.dims[2];
  let max = 0;
  for (let e = 0; e < E; e++) {
    let sum = 0;
    for (let t = 0; t < T; t++) sum += h.data[t * E + e];
    max = Math.max(max, Math.abs(sum / T - u.embedding[e]));
  }
  worst = Math.max(worst, max);
  console.log(`user ${String(u.user_id).padStart(4)}: ${T} tokens, max |onnx - torch| embedding = ${max.toExponential(2)}`);
}
const feeds = {
  input_ids: readNpy(path.join(dir, 'onnx-check', 'batch_input_ids.npy')),
  attention_mask: readNpy(path.join(dir, 'onnx-check', 'batch_attention_mask.npy')),
};
const want = readNpy(path.join(dir, 'onnx-check', 'batch_last_hidden_state.npy'));
const { last_hidden_state: got } = await session.run(feeds);
if (got.dims.join() !== want.dims.join()) throw new Error(`batch shape ${got.dims} != ${want.dims}`);
const [B, T, E] = want.dims;
let maxBatch = 0;
for (let b = 0; b < B; b++)
  for (let t = 0; t < T; t++) {
    if (feeds.attention_mask.data[b * T + t] === 0n) continue; // padding rows are never pooled
    for (let e = 0; e < E; e++) {
      const i = (b * T + t) * E + e;
      maxBatch = Math.max(maxBatch, Math.abs(got.data[i] - want.data[i]));
    }
  }
worst = Math.max(worst, maxBatch);
console.log(`left-padded batch [${B}, ${T}]: max |onnx - torch| last_hidden_state (unmasked) = ${maxBatch.toExponential(2)}`);
if (!(worst <= tol)) {
  console.error(`ONNX differs from torch by ${worst} > ${tol}`);
  process.exit(1);
}
console.log(`ok: max |onnx - torch| = ${worst.toExponential(2)} <= ${tol}`);
