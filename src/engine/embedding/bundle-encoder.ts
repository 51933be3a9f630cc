// What a loaded bundle says about its profile encoder, found at load time without reading the (large) model:
// where its files are, its identity and the bundle's embedding template (the manifest's file, an older manifest's
// inline text, or PSA's own get_embeds.txt when the bundle names none).
import { AppError } from '../../shared/errors';
import { PSA_EMBEDDING_TEMPLATE } from '../../safety/embedding-text';
import { readText, type BundleReader } from '../bundle-reader';
import type { ResolvedBundle } from '../bundle-resolve';
import type { Runtime } from '../sessions';
import { bundleEncoder, bundleEncoderId, type EncoderSource } from './encoder-source';

export interface BundleEncoderInfo {
  source: EncoderSource;
  id: string;
  template: string;
  /** The model files are absent (removed by the user to save space): the identity stands, embedding is refused. */
  removed: boolean;
}

export async function embeddingTemplateOf(reader: BundleReader, bundle: ResolvedBundle): Promise<string> {
  const psa = bundle.psa;
  if (psa?.embeddingTemplate) {
    const text = await readText(reader, psa.embeddingTemplate.path);
    if (!text.trim()) throw new AppError('BUNDLE_INVALID', `${psa.embeddingTemplate.path} in ${reader.label} is empty`);
    return text;
  }
  return psa?.promptTemplate || PSA_EMBEDDING_TEMPLATE;
}

export async function describeBundleEncoder(reader: BundleReader, bundle: ResolvedBundle, backend: Runtime['backend'], shaderF16: boolean): Promise<BundleEncoderInfo | undefined> {
  const source = bundleEncoder(reader, bundle, backend, shaderF16);
  if (!source) return undefined;
  // Only the model's own files can be removed (the tokenizer stays); the identity needs just their manifest sha256s.
  let removed = false;
  for (const f of [source.model, ...(source.model.externalData ?? [])]) if (!(await reader.exists(f.path))) removed = true;
  const id = await bundleEncoderId(source);
  return { source: { ...source, id }, id, template: await embeddingTemplateOf(reader, bundle), removed };
}
