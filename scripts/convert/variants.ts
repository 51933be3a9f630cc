// Which U-Net weight variants a conversion writes. Today only the full-precision graph (`--quantize none` → the
// manifest's `fp32` variant). Seam for the quantize step (issue 18, item 3): add 'fp16' | 'int8' | 'q4' to
// QUANTIZE_READY and a writer per variant in bundle.ts `writeUnetVariants`; the manifest already maps
// variant → file, and the engine picks by device feature.
import type { Variant } from '../../src/shared/bundle';
import { ConvertError } from './errors';

export type QuantizeOption = 'none' | 'fp16' | 'int8' | 'q4';
const KNOWN: readonly QuantizeOption[] = ['none', 'fp16', 'int8', 'q4'];
const QUANTIZE_READY: readonly QuantizeOption[] = ['none'];
export const VARIANT_OF: Record<QuantizeOption, Variant> = { none: 'fp32', fp16: 'fp16', int8: 'int8', q4: 'q4' };

/** Parses `--quantize a,b,…` (default `none`). */
export function parseQuantize(arg: string | undefined): QuantizeOption[] {
  const list = (arg ?? 'none').split(',').map((s) => s.trim()).filter(Boolean);
  if (!list.length) throw new ConvertError('--quantize needs at least one of none, fp16, int8, q4');
  for (const q of list) {
    if (!KNOWN.includes(q as QuantizeOption)) throw new ConvertError(`--quantize ${q}: unknown variant (none, fp16, int8, q4)`);
    if (!QUANTIZE_READY.includes(q as QuantizeOption)) throw new ConvertError(`--quantize ${q}: not yet — the fp16/int8/q4 variants come with the quantize step; use --quantize none`);
  }
  return [...new Set(list)] as QuantizeOption[];
}
