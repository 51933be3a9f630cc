// Where the profile encoder's graph is in a `--profile-encoder DIR` and how it is read: an Optimum feature-extraction
// export (`model.onnx`, as before) or a public causal-LM export (onnx-community / transformers.js layout: `onnx/model.onnx`
// with `model.onnx_data` chunks, `onnx/model_q4.onnx`, …, or Optimum's older `decoder_model_merged.onnx`), which is
// rewritten in memory into the feature-extraction form (with-past.ts) before the cut. `--encoder-model FILE` picks a
// file inside DIR (e.g. onnx/model_q4.onnx) when the folder holds several.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConvertError } from '../errors';
import { loadOnnx, type LoadedModel } from '../onnx-model';
import { asFeatureExtraction, isCausalLmExport, type WithPastEdit } from './with-past';

/** Looked for in this order when no file is named. */
export const MODEL_CANDIDATES = ['onnx/model.onnx', 'model.onnx', 'onnx/decoder_model_merged.onnx', 'decoder_model_merged.onnx'];

export function findEncoderModel(dir: string, model?: string): string {
  if (model) {
    if (model.includes('..') || model.startsWith('/')) throw new ConvertError(`--encoder-model ${model}: give a path inside the --profile-encoder folder`);
    if (!existsSync(join(dir, model))) throw new ConvertError(`--encoder-model ${model} is not in ${dir}`);
    return model;
  }
  const found = MODEL_CANDIDATES.find((f) => existsSync(join(dir, f)));
  if (!found) throw new ConvertError(`--profile-encoder ${dir}: no model found (looked for ${MODEL_CANDIDATES.join(', ')}; expected an Optimum feature-extraction export or a transformers.js / Optimum causal-LM export; --encoder-model names another file)`);
  return found;
}

export interface EncoderSource {
  model: LoadedModel;
  /** Set when the file was a causal-LM export rewritten into the feature-extraction form. */
  edit?: WithPastEdit;
}

/** Weight ops of other published quantizations (onnx-community's model_int8 / model_uint8 / model_quantized,
 *  model_bnb4, quantized tables): neither float32 weights the variants could quantize, nor the q4 MatMulNBits that
 *  pass through, so they are refused rather than written under a wrong variant name. */
const OTHER_QUANTIZED = ['MatMulInteger', 'DynamicQuantizeLinear', 'MatMulIntegerToFloat', 'DynamicQuantizeMatMul', 'MatMulBnb4', 'GatherBlockQuantized', 'QLinearMatMul'];

/** Reads the graph (weights stay on disk) and, for a causal-LM export, rewrites it as feature extraction. */
export function loadEncoderSource(dir: string, model: string): EncoderSource {
  const label = `--profile-encoder ${model}`;
  const m = loadOnnx(join(dir, model), join(dir, dirname(model)), label);
  const other = (m.model.graph!.node ?? []).find((n) => OTHER_QUANTIZED.includes(n.opType ?? ''));
  if (other) throw new ConvertError(`${label} holds ${other.opType} (node ${other.name}): its weights are quantized in a form this converter does not read; use the float32 export (model.onnx) or the 4-bit MatMulNBits one (model_q4.onnx)`);
  return isCausalLmExport(m) ? { model: m, edit: asFeatureExtraction(m, label) } : { model: m };
}

/** The export's weights are already 4-bit (com.microsoft MatMulNBits), as onnx-community's model_q4.onnx. */
export function isPreQuantized(m: LoadedModel): boolean {
  return (m.model.graph!.node ?? []).some((n) => n.opType === 'MatMulNBits');
}
