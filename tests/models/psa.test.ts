// PSA behaviour of the generated U-Net: the user token and psa_scale move the output; psa_scale = 0 gives the plain
// U-Net (same seeded weights); and, through a debug build of the same graph that also outputs each attn2's PSA term,
// that term equals psa_scale × to_v_user(u) at every spatial position (U = 1 ⇒ softmax over one key = 1), checked
// against the to_v_user weights read back from the model file. Also the int8 variant's error and size.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildUnet, PSA_LAYERS } from '../../scripts/models/unet';
import { noise, relError, unetFeeds } from '../../scripts/models/feeds';
import { decodeModel, readFloatInit } from '../../scripts/models/onnx-builder';
import { buildIntoTemp, maxAbsDiff, run, session, sessionFromBytes, removeTemps } from './helpers';

let root = '';
const psaFile = () => join(root, 'demo/unet/model.onnx');
const plainFile = () => join(root, 'demo-plain/unet/model.onnx');
const int8File = () => join(root, 'demo/unet/model.int8.onnx');

beforeAll(() => {
  root = buildIntoTemp('psa').root;
});

afterAll(removeTemps);

const outOf = async (file: string, f: ReturnType<typeof unetFeeds>) => (await run(await session(file), f)).out_sample.data;
const outOf2 = async (file: string, f: ReturnType<typeof unetFeeds>, level: 'basic' | 'all') => (await run(await session(file, { graphOptimizationLevel: level }), f)).out_sample.data;

describe('PSA U-Net', () => {
  it('changing the user token changes the output (psa_scale = 1)', async () => {
    const a = await outOf(psaFile(), unetFeeds({ userTokens: 1 }));
    const b = await outOf(psaFile(), unetFeeds({ userTokens: 1, user: noise('other user', 64) }));
    expect(maxAbsDiff(a, b)).toBeGreaterThan(1e-2);
  });

  it('psa_scale changes the output', async () => {
    const a = await outOf(psaFile(), unetFeeds({ userTokens: 1, psaScale: 1 }));
    const b = await outOf(psaFile(), unetFeeds({ userTokens: 1, psaScale: 2 }));
    expect(maxAbsDiff(a, b)).toBeGreaterThan(1e-2);
  });

  it('psa_scale = 0 reproduces the plain U-Net (≤ 1e-5), whatever the user token', async () => {
    const plain = await outOf(plainFile(), unetFeeds({ userTokens: 0 }));
    for (const user of [undefined, noise('other user', 64)]) {
      const psa0 = await outOf(psaFile(), unetFeeds({ userTokens: 1, psaScale: 0, user }));
      expect(maxAbsDiff(psa0, plain)).toBeLessThanOrEqual(1e-5);
    }
    expect(Math.max(...Array.from(plain, Math.abs))).toBeGreaterThan(0.1);
  });

  it('each attn2 adds psa_scale × to_v_user(u) at every position (debug build of the same graph)', async () => {
    const debugBytes = buildUnet({ userTokens: 1, debugOutputs: true });
    const s = await sessionFromBytes(debugBytes);
    const m = decodeModel(debugBytes);
    // The debug build is the shipped graph plus Identity nodes for the extra outputs: same nodes, same weights.
    const shipped = decodeModel(readFileSync(psaFile())).graph!;
    const sig = (n: { opType?: string | null; input?: string[] | null; output?: string[] | null }) => `${n.opType}(${n.input!.join(',')})->${n.output!.join(',')}`;
    const extra = m.graph!.node!.filter((n) => n.output![0].startsWith('psa_term.'));
    expect(extra.map((n) => n.opType)).toEqual(PSA_LAYERS.map(() => 'Identity'));
    expect(m.graph!.node!.filter((n) => !extra.includes(n)).map(sig)).toEqual(shipped.node!.map(sig));
    expect(m.graph!.initializer!.map((t) => t.name)).toEqual(shipped.initializer!.map((t) => t.name));
    for (const scale of [0.5, 2]) {
      const f = unetFeeds({ userTokens: 1, psaScale: scale, latent: 8 });
      const out = await run(s, f);
      expect(maxAbsDiff(out.out_sample.data, await outOf(psaFile(), f))).toBe(0);
      const u = f.encoder_hidden_states.data; // [2, 78, 32]: the user token is row 77 of each batch item
      for (const layer of PSA_LAYERS) {
        const W = readFloatInit(m, `${layer}.transformer_blocks.0.attn2.to_v_user.weight`); // [32, C]
        const C = W.dims[1];
        const term = out[`psa_term.${layer}`];
        const hw = term.dims[1];
        expect(term.dims).toEqual([2, hw, C]);
        expect(hw).toBe(layer.startsWith('mid') ? 16 : 64);
        let worst = 0, peak = 0;
        for (let b = 0; b < 2; b++) {
          const ub = u.slice((b * 78 + 77) * 32, (b * 78 + 78) * 32);
          const expected = Array.from({ length: C }, (_, c) => scale * ub.reduce((acc, v, d) => acc + v * W.data[d * C + c], 0));
          for (let p = 0; p < hw; p++) {
            const got = term.data.slice((b * hw + p) * C, (b * hw + p + 1) * C);
            worst = Math.max(worst, maxAbsDiff(got, expected));
            peak = Math.max(peak, ...expected.map(Math.abs));
          }
        }
        expect(peak, layer).toBeGreaterThan(0.1);
        expect(worst / peak, layer).toBeLessThan(1e-5);
      }
    }
  });
});

describe('int8 weight-only U-Net', () => {
  it('stays close to fp32 and is much smaller', async () => {
    const f = unetFeeds({ userTokens: 1 });
    const fp = await outOf(psaFile(), f);
    const q = await outOf(int8File(), f);
    const err = relError(q, fp);
    // At its default level onnxruntime-node fuses DequantizeLinear+MatMul into com.microsoft MatMulNBits (8-bit);
    // 'basic' keeps exact dequantize-then-float math (what ORT-web's wasm and WebGPU EPs compute).
    const exact = relError(await outOf2(int8File(), f, 'basic'), fp);
    const ratio = statSync(int8File()).size / statSync(psaFile()).size;
    console.log(`int8 U-Net: relative error vs fp32 ${err.toExponential(3)} (ORT-node default), ${exact.toExponential(3)} (exact dequantization); size ${statSync(int8File()).size} / ${statSync(psaFile()).size} = ${ratio.toFixed(3)}`);
    expect(exact).toBeLessThan(0.03);
    expect(err).toBeGreaterThan(0); // really quantized
    expect(err).toBeLessThan(0.03);
    expect(ratio).toBeLessThan(0.4);
    // PSA still works in the int8 model
    const q0 = await outOf(int8File(), unetFeeds({ userTokens: 1, psaScale: 0 }));
    expect(maxAbsDiff(q, q0)).toBeGreaterThan(1e-2);
  });
});
