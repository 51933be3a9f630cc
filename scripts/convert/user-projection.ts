// PSA's user projection (PSAlign PSAProjection) as an ONNX graph from the checkpoint's `user_proj` weights:
// user_embeds [B,E] → Gemm(proj.weight [U·D,E], transB=1) + proj.bias → Reshape [B,U,D] → LayerNormalization(D,
// eps 1e-5, torch's default) → user_tokens [B,U,D]. Same I/O names as the tiny demo projection (src/shared/contract).
import { A, GraphBuilder } from '../models/onnx-builder';
import type { PsaCheckpoint } from './psa-checkpoint';

export const LAYER_NORM_EPS = 1e-5;

export function buildUserProjection(ck: PsaCheckpoint): Uint8Array {
  const { projWeight, projBias, normWeight, normBias } = ck.userProj;
  const E = ck.embeddingSize, U = ck.userTokens, D = ck.crossDim;
  const g = new GraphBuilder('psa_user_projection');
  const x = g.input('user_embeds', 'float32', ['batch', E]);
  const y = g.scope('proj', () => g.op('Gemm', [x, g.init('proj.weight', [U * D, E], projWeight.data), g.init('proj.bias', [U * D], projBias.data)], { transB: A.i(1) }));
  const r = g.op('Reshape', [y, g.i64([-1, U, D])], { allowzero: A.i(0) });
  const n = g.scope('norm', () => g.op('LayerNormalization', [r, g.init('norm.weight', [D], normWeight.data), g.init('norm.bias', [D], normBias.data)], { axis: A.i(-1), epsilon: A.f(LAYER_NORM_EPS) }));
  g.output(n, 'user_tokens', 'float32', ['batch', U, D]);
  return g.toBytes(`PSA user projection (E=${E} → U=${U} × D=${D}) from ${ck.file.split('/').pop()}`);
}
