// The U-Net variants of a bundle: the grafted float32 U-Net is written first (it is the source every quantized
// variant streams from), then each requested variant next to it as `model.<variant>.onnx` (+ `_data` chunks); the
// float32 files are removed again when `none` was not asked for. Every written file's hash goes to the ledger.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ComponentEntry } from '../../../src/shared/bundle';
import type { HashLedger } from '../files';
import type { LoadedModel } from '../onnx-model';
import { REQUIRES, VARIANT_OF, type QuantizeOption } from '../variants';
import { writeModel, type WrittenModel } from '../write-model';
import { writeQuantizedUnet, type QuantizeReport } from './index';

export interface UnetVariantOptions {
  /** The bundle's unet/ folder (exists). */
  dir: string;
  external: boolean;
  chunkBytes?: number;
  quantize: QuantizeOption[];
  ledger: HashLedger;
  log?: (line: string) => void;
}

export function writeUnetVariants(unet: LoadedModel, o: UnetVariantOptions): { variants: ComponentEntry['variants']; reports: QuantizeReport[] } {
  const variants: ComponentEntry['variants'] = {};
  const reports: QuantizeReport[] = [];
  const entry = (w: WrittenModel, q: QuantizeOption) => {
    for (const f of [w.model, ...w.externalData]) o.ledger.record(join(o.dir, f.name), f);
    variants[VARIANT_OF[q]] = {
      path: `unet/${w.model.name}`,
      bytes: w.model.bytes,
      sha256: w.model.sha256,
      ...(w.externalData.length ? { externalData: w.externalData.map((f) => ({ path: `unet/${f.name}`, bytes: f.bytes, sha256: f.sha256 })) } : {}),
      ...(REQUIRES[q] ? { requires: REQUIRES[q] } : {}),
    };
  };
  const fp32 = writeModel(unet, { dir: o.dir, fileName: 'model.onnx', external: o.external, chunkBytes: o.chunkBytes });
  if (o.quantize.includes('none')) entry(fp32, 'none');
  for (const q of o.quantize) {
    if (q === 'none') continue;
    o.log?.(`writing the ${q} U-Net`);
    const { written, report } = writeQuantizedUnet(join(o.dir, 'model.onnx'), o.dir, q, { dir: o.dir, fileName: `model.${q}.onnx`, external: o.external, chunkBytes: o.chunkBytes });
    entry(written, q);
    reports.push(report);
    const parts = [
      report.q4Weights ? `${report.q4Weights} MatMulNBits` : '',
      report.int8Weights ? `${report.int8Weights} int8 weights${report.q4Fallbacks.length ? ` (${report.q4Fallbacks.length} linear layers with K % 32 ≠ 0)` : ''}` : '',
      report.halfInitializers ? `${report.halfInitializers} float16 initializers, ${report.keptFloat32Nodes} float32 timestep nodes, ${report.casts} casts` : '',
    ];
    o.log?.(`  ${q}: ${parts.filter(Boolean).join(', ')}`);
  }
  if (!o.quantize.includes('none')) for (const f of [fp32.model, ...fp32.externalData]) rmSync(join(o.dir, f.name));
  return { variants, reports };
}
