// Public API of the tiny-model generator (what tests and other scripts import): model builders, the bundle
// writer, the tokenizers, the int8 quantizer, defect builders and the ONNX helpers.
export { buildBundles, buildTinyModels, BUNDLE_NAMES, GENERATOR_VERSION, IMAGE_SIZE, EMBEDDING_TEMPLATE_PATH, PROFILE_ENCODER_DIR, SD15_SCHEDULER_CONFIG } from './bundle';
export type { BuiltBundle, BuiltFile, BundleName, TinyModels } from './bundle';
export { buildTextEncoder, TEXT_ENCODER_DEFAULTS } from './text-encoder';
export { buildUnet, PSA_LAYERS, UNET_DEFAULTS } from './unet';
export type { UnetConfig, UnetDefect } from './unet';
export { buildVaeDecoder, VAE_DEFAULTS } from './vae';
export { buildUserProjection, USER_PROJECTION_DEFAULTS } from './user-projection';
export { buildProfileEncoder, PROFILE_ENCODER_DEFAULTS } from './profile-encoder';
export { quantizeWeightsInt8 } from './quantize';
export { buildDefectiveModel, renameInput } from './defects';
export type { ModelDefect } from './defects';
export { clipBpe, writeClipTokenizer, CLIP_MERGE_COUNT } from './clip-tokenizer';
export { profileTokenizer, writeProfileTokenizer, CHATML_TEMPLATE, DEFAULT_SYSTEM_MESSAGE } from './profile-tokenizer';
export { writeVocabAndMerges, vocabJson, mergesTxt, byteAlphabet } from './bpe-files';
export { decodeModel, encodeModel, readFloatInit, IR_VERSION, OPSET } from './onnx-builder';
