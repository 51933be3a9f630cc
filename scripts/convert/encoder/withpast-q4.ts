// Writes fixtures/profile-encoder-withpast/onnx/model_q4.onnx: the with-past fixture (made by
// scripts/reference/qwen2_withpast_fixture.py) with every MatMul weight as com.microsoft MatMulNBits (4-bit,
// block 32), lm_head included, weights inline — the shape of onnx-community's `model_q4.onnx`. Made by the project's
// own q4 writer (../quantize/index.ts), because onnxruntime's Python quantizer (MatMul4BitsQuantizer, what
// onnx-community used) is not installed here; the rounding is the same scheme (symmetric per block of 32, zero
// point 8), not necessarily the same bytes.
//   npx tsx scripts/convert/encoder/withpast-q4.ts
import path from 'node:path';
import { loadOnnx } from '../onnx-model';
import { writeQuantizedModel } from '../quantize/index';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
export const WITHPAST_FIXTURE = path.join(ROOT, 'fixtures', 'profile-encoder-withpast');

export function writeWithPastQ4(dir = WITHPAST_FIXTURE, fileName = 'model_q4.onnx'): { q4Weights: number } {
  const onnxDir = path.join(dir, 'onnx');
  const src = loadOnnx(path.join(onnxDir, 'model.onnx'), onnxDir, 'onnx/model.onnx');
  const { report } = writeQuantizedModel(src, 'q4', { dir: onnxDir, fileName, external: false, label: 'with-past fixture' });
  return { q4Weights: report.q4Weights };
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const r = writeWithPastQ4();
  console.log(`wrote ${path.join(WITHPAST_FIXTURE, 'onnx', 'model_q4.onnx')} (${r.q4Weights} MatMulNBits weights)`);
}
