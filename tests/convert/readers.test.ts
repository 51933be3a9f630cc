// PSA checkpoint readers: PyTorch's torch.save zip/pickle (fp32 and fp16 storages) and safetensors (fp32 and bf16,
// written by hand in the fixture script) give the same tensors, in PSAlign's layout (one processor per attn2,
// to_k_user.0 / to_v_user.0 [hidden, cross], user_proj Linear(E → U·D) + LayerNorm(D)).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPsaCheckpoint } from '../../scripts/convert/psa-checkpoint';
import { readTorchCheckpoint } from '../../scripts/convert/torch-checkpoint';
import { expected, FIX, maxAbsDiff } from './helpers';

describe('PSA checkpoint readers', () => {
  const files = ['psa_adapter.bin', 'psa_adapter.fp16.bin', 'psa_adapter.safetensors', 'psa_adapter.bf16.safetensors'];
  const cks = files.map((f) => loadPsaCheckpoint(path.join(FIX, f)));

  it('read PSAlign layout from torch.save and safetensors', () => {
    for (const ck of cks) {
      expect(ck.processors.map((p) => p.toV[0].shape)).toEqual(expected.psa.layers.map((l: { hidden: number }) => [l.hidden, 16]));
      expect(ck.processors.every((p) => p.toK.length === 1 && p.toV.length === 1)).toBe(true);
      expect([ck.embeddingSize, ck.userTokens, ck.crossDim]).toEqual([expected.psa.embeddingSize, 1, 16]);
    }
    expect(cks.map((c) => `${c.format}:${c.dtypes.join()}`)).toEqual(['torch:float32', 'torch:float16', 'safetensors:float32', 'safetensors:bfloat16']);
  });

  it('fp32, fp16 and bf16 files hold the same numbers (weights were rounded to bf16 before saving)', () => {
    const [a, ...rest] = cks;
    for (const b of rest) {
      a.processors.forEach((p, i) => {
        expect(maxAbsDiff(p.toK[0].data, b.processors[i].toK[0].data)).toBe(0);
        expect(maxAbsDiff(p.toV[0].data, b.processors[i].toV[0].data)).toBe(0);
      });
      for (const k of ['projWeight', 'projBias', 'normWeight', 'normBias'] as const) expect(maxAbsDiff(a.userProj[k].data, b.userProj[k].data)).toBe(0);
    }
    // and they are not trivially zero (PSA initialises to zero; the fixture must not)
    expect(Math.max(...a.processors[0].toV[0].data.map(Math.abs))).toBeGreaterThan(0.1);
  });

  it('refuses the legacy (pre-1.6) torch format and code-running pickles by name', () => {
    expect(() => readTorchCheckpoint(Buffer.from([0x80, 0x02, 0x8a, 0x0a]), 'old.bin')).toThrow(/legacy \(pre-1\.6\) save format/);
    expect(() => readTorchCheckpoint(Buffer.from('not a checkpoint'), 'x.bin')).toThrow(/x\.bin is not a torch\.save archive/);
  });
});
