// Reads a .safetensors file: an 8-byte little-endian header length, a JSON header {name: {dtype, shape,
// data_offsets: [begin, end]}, "__metadata__"?: {...}} and the raw little-endian tensor bytes after it.
import { ConvertError } from './errors';
import { DTYPE_BYTES, materialize, type CheckpointDType, type Tensor } from './tensor';

const DTYPES: Record<string, CheckpointDType> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16', F64: 'float64' };

export function readSafetensors(buf: Buffer, label: string): Map<string, Tensor> {
  if (buf.length < 8) throw new ConvertError(`${label} is truncated (shorter than a safetensors header)`);
  const hlen = Number(buf.readBigUInt64LE(0));
  if (hlen > buf.length - 8 || hlen > 100_000_000) throw new ConvertError(`${label} is truncated or not a safetensors file (header length ${hlen})`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(buf.toString('utf8', 8, 8 + hlen));
  } catch {
    throw new ConvertError(`${label} is not a safetensors file (its header is not JSON)`);
  }
  const data = buf.subarray(8 + hlen);
  const out = new Map<string, Tensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const dtype = DTYPES[info.dtype];
    if (!dtype) throw new ConvertError(`${label}: tensor ${name} is ${info.dtype}; only F32, F16, BF16 and F64 are read`);
    const [b, e] = info.data_offsets;
    const n = info.shape.reduce((a, x) => a * x, 1);
    if (e > data.length) throw new ConvertError(`${label} is truncated: tensor ${name} ends at byte ${e} of ${data.length}`);
    if (e - b !== n * DTYPE_BYTES[dtype]) throw new ConvertError(`${label}: tensor ${name} has ${e - b} bytes for shape [${info.shape}]`);
    const stride = info.shape.map((_, d) => info.shape.slice(d + 1).reduce((a, x) => a * x, 1));
    out.set(name, { shape: info.shape, dtype, data: materialize(data.subarray(b, e), dtype, 0, info.shape, stride) });
  }
  return out;
}
