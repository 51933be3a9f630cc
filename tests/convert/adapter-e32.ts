// The committed PSA fixture adapter (embedding size E = 20) rewritten for the tiny profile encoder
// (fixtures/profile-encoder, Qwen2 hidden size 32): only user_proj.proj.weight is widened, so a bundle converted
// with `--profile-encoder` computes a real user token on the device. Shared by the converter's Node tests and the
// browser test that imports such a bundle into the app (e2e/convert-import.spec.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const FIX = path.resolve(import.meta.dirname, '..', '..', 'fixtures', 'convert');

/** Writes the fixture adapter with user_proj.proj.weight widened to E = 32 to `dst` (a .safetensors file). */
export function adapterWithE32(dst: string): void {
  adapterWithE(dst, 32);
}

/** The same for any embedding size E (the deeper synthetic encoder of scripts/convert/encoder/accuracy.ts: 896). */
export function adapterWithE(dst: string, E: number): void {
  const buf = readFileSync(path.join(FIX, 'psa_adapter.safetensors'));
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const data = buf.subarray(8 + n);
  const parts: Buffer[] = [];
  const out: Record<string, unknown> = {};
  let off = 0;
  for (const [k, v] of Object.entries(header)) {
    if (k === '__metadata__') continue;
    let bytes = data.subarray(v.data_offsets[0], v.data_offsets[1]);
    let shape = v.shape;
    if (k === 'user_proj.proj.weight') {
      shape = [v.shape[0], E];
      const f = new Float32Array(shape[0] * E).map((_, i) => Math.sin(i * 0.37) * 0.1);
      bytes = Buffer.from(f.buffer);
    }
    out[k] = { dtype: v.dtype, shape, data_offsets: [off, off + bytes.length] };
    parts.push(bytes);
    off += bytes.length;
  }
  const h = Buffer.from(JSON.stringify(out));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  writeFileSync(dst, Buffer.concat([len, h, ...parts]));
}
