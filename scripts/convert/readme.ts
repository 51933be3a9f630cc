// The README.md written into each converted bundle: what is inside, where it came from (input files and their
// SHA-256), how PSA was grafted, and the licenses that travel with the weights.
import { basename } from 'node:path';
import type { ConvertOptions } from './bundle';
import type { HashedFile } from './files';
import type { GraftReport } from './graft';
import type { PsaCheckpoint } from './psa-checkpoint';

export interface ReadmeInput {
  options: ConvertOptions;
  ck: PsaCheckpoint;
  graft: GraftReport;
  files: HashedFile[];
  profile: boolean;
  optional: string[];
  converterVersion: string;
  psaSha256: string;
}

const mb = (n: number) => (n / 1e6).toFixed(n < 1e6 ? 3 : 1);

export function bundleReadme(r: ReadmeInput): string {
  const { ck, graft } = r;
  const lines = [
    '# psa-web bundle: Stable Diffusion v1.5 + PSA (Personalized Safety Alignment)',
    '',
    `Made by psa-web's \`npm run convert\` ${r.converterVersion} from:`,
    `- SD1.5 ONNX export: \`${basename(r.options.sd15)}\` (Optimum/diffusers layout); copied unchanged: text_encoder/, vae_decoder/, tokenizer/, scheduler/, model_index.json${r.optional.map((f) => `, ${f}/`).join('')}.`,
    `- PSA adapter: \`${basename(ck.file)}\` (${ck.format}, ${ck.dtypes.join('/')}; sha256 ${r.psaSha256}) — ${ck.processors.length} PSA processors, user projection E=${ck.embeddingSize} → U=${ck.userTokens} × D=${ck.crossDim}.`,
    r.profile ? `- Profile encoder: \`${basename(r.options.profileEncoder ?? '')}\` cut into layer groups in profile_encoder/ (encoder_groups.json lists them in run order; embed_tokens.* is the CPU token-embedding table)${(r.options.encoderQuantize ?? 'int8') === 'none' ? '' : `; weight variants (--encoder-quantize ${r.options.encoderQuantize ?? 'int8'}): none in profile_encoder/ itself, each other in profile_encoder/<variant>/`}.` : '- No profile encoder: user embeddings must come from elsewhere (e.g. `npm run generate -- --user-embedding FILE`).',
    '',
    '## What changed in the U-Net',
    'PSA (arXiv 2508.01151; reference code github.com/M-E-AGI-Lab/PSAlign) adds, in every cross-attention layer (attn2),',
    '`psa_scale × Attention(q, to_k_user(u), to_v_user(u))` to the text attention before `to_out`. The U-Net now takes',
    `\`encoder_hidden_states\` [B, 77+${ck.userTokens}, ${ck.crossDim}] (text tokens then user tokens) and \`psa_scale\` [1] (0 = the plain U-Net).`,
    graft.form === 'broadcast'
      ? 'Grafted in the broadcast form: with one user token per group the softmax is over a single key (= 1), so the term is `to_v_user(u)` added to every query position; `to_k_user` is unused and not stored.'
      : 'Grafted in the attention form (the literal per-head attention over the user token).',
    'Layers, in PSA checkpoint order (diffusers `unet.attn_processors` order: down, up, mid):',
    ...graft.layers.map((l, i) => `${i}. \`${l.module}\` (width ${l.inner})`),
    '',
    '## Files',
    '| path | bytes | sha256 |',
    '|---|---:|---|',
    ...r.files.map((f) => `| ${f.path} | ${f.bytes} (${mb(f.bytes)} MB) | ${f.sha256} |`),
    '',
    '## Licenses',
    '- Stable Diffusion v1.5 weights (text encoder, U-Net, VAE, safety checker): CreativeML OpenRAIL-M — its use restrictions (Attachment A) apply to this bundle and to anything made with it.',
    '- PSA adapter weights and embedding template (`psa/embedding_template.txt`, PSAlign `data/user_data/num_1k/get_embeds.txt`): PSAlign, MIT License, Copyright (c) 2025 Torpedo2648.',
    r.profile ? '- Profile encoder: see its own license (Qwen2.5-7B-Instruct: Apache 2.0).' : '',
    '- The conversion code (psa-web): see the psa-web repository.',
    '',
  ];
  return lines.filter((l, i, a) => !(l === '' && a[i - 1] === '')).join('\n');
}

export const SD15_LICENSE_URL = 'https://huggingface.co/spaces/CompVis/stable-diffusion-license';

/** PSAlign's LICENSE file (the MIT license), verbatim. */
const PSALIGN_MIT = `Copyright (c) 2025 Torpedo2648

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated documentation files (the "Software"), to deal in the Software without restriction, including without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.`;

/** The manifest's license text: the SD1.5 weights' license by name and address (its full text is not shipped in
 * an Optimum export), then PSAlign's MIT license in full. */
export function licenseText(): string {
  return [
    'Stable Diffusion v1.5 weights (text encoder, U-Net, VAE, safety checker): CreativeML OpenRAIL-M.',
    `Full text: ${SD15_LICENSE_URL}. Its use-based restrictions (Attachment A) apply to this bundle and to its outputs.`,
    '',
    'PSA adapter weights (user projection, to_k_user / to_v_user) and the embedding template, from PSAlign:',
    '',
    PSALIGN_MIT,
  ].join('\n');
}
