// Reads what `torch.save(obj, path)` writes (the zip format of PyTorch ≥ 1.6): `<root>/data.pkl` is a pickle whose
// tensors are `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`
// calls, each storage a persistent id ('storage', torch.<Type>Storage, key, location, numel) whose bytes are the
// entry `<root>/data/<key>` (little-endian, see `<root>/byteorder`). Returns the object with tensors materialized.
import { ConvertError } from './errors';
import { PyDict, PyGlobal, unpickle } from './pickle';
import { DTYPE_BYTES, materialize, type CheckpointDType, type Tensor } from './tensor';
import { ZipReader } from './zip';

const STORAGE_DTYPES: Record<string, CheckpointDType> = {
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  DoubleStorage: 'float64',
};

interface StorageRef {
  storage: true;
  dtype: CheckpointDType;
  bytes: Uint8Array;
}

export function readTorchCheckpoint(buf: Buffer, label: string): unknown {
  if (buf.length >= 2 && buf[0] === 0x80 && buf[1] === 0x02) {
    throw new ConvertError(`${label} is in PyTorch's legacy (pre-1.6) save format; re-save it with torch.save in PyTorch ≥ 1.6`);
  }
  if (buf.length < 4 || buf.readUInt32LE(0) !== 0x04034b50) throw new ConvertError(`${label} is not a torch.save archive (no zip signature)`);
  const zip = new ZipReader(buf, label);
  const pkl = zip.names().find((n) => n.endsWith('/data.pkl') && n.split('/').length === 2);
  if (!pkl) throw new ConvertError(`${label} is not a torch.save archive (no <name>/data.pkl entry)`);
  const root = pkl.slice(0, -'data.pkl'.length);
  const order = zip.entries.has(`${root}byteorder`) ? zip.read(`${root}byteorder`).toString().trim() : 'little';
  if (order !== 'little') throw new ConvertError(`${label} was saved on a ${order}-endian machine; only little-endian checkpoints are read`);

  const storages = new Map<string, StorageRef>();
  const value = unpickle(zip.read(pkl), {
    persistentLoad(pid) {
      if (!Array.isArray(pid) || pid[0] !== 'storage' || !(pid[1] instanceof PyGlobal)) throw new ConvertError(`${label}: unsupported persistent id in data.pkl`);
      const [, type, key, , numel] = pid as [string, PyGlobal, string, string, number];
      const dtype = STORAGE_DTYPES[type.name];
      if (!dtype) throw new ConvertError(`${label}: tensor storage ${type.qualified} is not float32/float16/bfloat16/float64`);
      const cached = storages.get(key);
      if (cached) return cached;
      const name = `${root}data/${key}`;
      if (!zip.entries.has(name)) throw new ConvertError(`${label} is truncated or corrupt: storage ${name} is missing`);
      const bytes = zip.read(name);
      if (bytes.length < numel * DTYPE_BYTES[dtype]) throw new ConvertError(`${label} is truncated: storage ${name} holds ${bytes.length} bytes, needs ${numel * DTYPE_BYTES[dtype]}`);
      const ref: StorageRef = { storage: true, dtype, bytes };
      storages.set(key, ref);
      return ref;
    },
    call(fn, args) {
      switch (fn.qualified) {
        case 'collections.OrderedDict':
          return new PyDict();
        case 'torch._utils._rebuild_tensor_v2': {
          const [st, offset, size, stride] = args as [StorageRef, number, number[], number[]];
          if (!st?.storage) throw new ConvertError(`${label}: malformed tensor record`);
          const n = size.reduce((a, b) => a * b, 1);
          const last = offset + size.reduce((a, s, d) => a + (s - 1) * stride[d], 0);
          if (n && last >= st.bytes.length / DTYPE_BYTES[st.dtype]) throw new ConvertError(`${label}: a tensor reads past the end of its storage`);
          const t: Tensor = { shape: [...size], dtype: st.dtype, data: materialize(st.bytes, st.dtype, offset, size, stride) };
          return t;
        }
        case 'torch._utils._rebuild_parameter':
          return args[0];
        default:
          throw new ConvertError(`${label}: refuses to call ${fn.qualified} (a torch.save state dict only needs tensors and dicts)`);
      }
    },
  }, label);
  return value;
}

export function isTensor(v: unknown): v is Tensor {
  return !!v && typeof v === 'object' && 'data' in v && (v as Tensor).data instanceof Float32Array;
}
