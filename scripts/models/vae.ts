// Tiny SD-shaped VAE decoder: latent_sample [B,4,h,w] → sample [B,3,8h,8w]. post_quant_conv 1×1, conv_in, a ResNet
// block (GroupNorm/SiLU/conv ×2 + skip), three up stages (nearest Resize ×2 + 3×3 conv), GroupNorm/SiLU/conv_out.
// No clamp at the end (real VAEs have none; the pipeline clamps); conv_out is scaled so typical outputs of unit-scale
// latents fall inside [-1, 1].
import { LATENT_CHANNELS } from '../../src/shared/contract';
import { GraphBuilder } from './onnx-builder';
import { Layers } from './layers';
import { Params } from './rng';

export interface VaeConfig {
  /** Channels: conv_in / mid, then after each of the three up stages. */
  channels: [number, number, number, number];
  groups: number;
  seed: number;
}

export const VAE_DEFAULTS: VaeConfig = { channels: [32, 32, 16, 16], groups: 8, seed: 1503 };

export function buildVaeDecoder(cfg: Partial<VaeConfig> = {}): Uint8Array {
  const c = { ...VAE_DEFAULTS, ...cfg };
  const g = new GraphBuilder('tiny_vae_decoder');
  const L = new Layers(g, new Params(c.seed));
  const z = g.input('latent_sample', 'float32', ['batch', LATENT_CHANNELS, 'latent_height', 'latent_width']);
  let h = L.conv(z, LATENT_CHANNELS, LATENT_CHANNELS, 1, 'post_quant_conv');
  const [C0] = c.channels;
  h = L.in('decoder', () => {
    let x = L.conv(h, LATENT_CHANNELS, C0, 3, 'conv_in');
    x = L.in('mid_block', () =>
      L.in('resnets.0', () => {
        let r = L.conv(L.silu(L.groupNorm(x, C0, c.groups, 1e-6, 'norm1')), C0, C0, 3, 'conv1');
        r = L.conv(L.silu(L.groupNorm(r, C0, c.groups, 1e-6, 'norm2')), C0, C0, 3, 'conv2');
        return g.op('Add', [x, r]);
      }),
    );
    for (let i = 0; i < 3; i++) {
      const inC = c.channels[i], outC = c.channels[i + 1];
      x = L.in(`up_blocks.${i}`, () => L.in('upsamplers.0', () => L.conv(L.upsample2x(x), inC, outC, 3, 'conv')));
    }
    const last = c.channels[3];
    x = L.silu(L.groupNorm(x, last, c.groups, 1e-6, 'conv_norm_out'));
    return L.conv(x, last, 3, 3, 'conv_out', { gain: 0.6 });
  });
  g.output(h, 'sample', 'float32', ['batch', 3, 'height', 'width']);
  return g.toBytes(`tiny SD-shaped VAE decoder (channels ${c.channels.join('/')}), seeded weights`);
}
