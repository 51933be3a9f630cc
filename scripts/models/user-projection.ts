// PSA user projection: user_embeds [B,E] → Linear(E → U·D) → Reshape [B,U,D] → LayerNorm(D) → user_tokens [B,U,D].
// The trained projection is zero-initialised and then learned; here the weights are seeded and non-zero.
import { A, GraphBuilder } from './onnx-builder';
import { Layers } from './layers';
import { Params } from './rng';

export interface UserProjectionConfig {
  embeddingSize: number;
  userTokens: number;
  hidden: number;
  seed: number;
}

export const USER_PROJECTION_DEFAULTS: UserProjectionConfig = { embeddingSize: 16, userTokens: 1, hidden: 32, seed: 1504 };

export function buildUserProjection(cfg: Partial<UserProjectionConfig> = {}): Uint8Array {
  const c = { ...USER_PROJECTION_DEFAULTS, ...cfg };
  const g = new GraphBuilder('tiny_psa_user_projection');
  const L = new Layers(g, new Params(c.seed));
  const x = g.input('user_embeds', 'float32', ['batch', c.embeddingSize]);
  const y = L.gemm(x, c.embeddingSize, c.userTokens * c.hidden, 'proj');
  const r = g.op('Reshape', [y, g.i64([-1, c.userTokens, c.hidden])], { allowzero: A.i(0) });
  const n = L.layerNorm(r, c.hidden, 1e-5, 'norm');
  g.output(n, 'user_tokens', 'float32', ['batch', c.userTokens, c.hidden]);
  return g.toBytes(`tiny PSA user projection (E=${c.embeddingSize} → U=${c.userTokens} × D=${c.hidden}), seeded weights`);
}
