// Which U-Net weight variants a conversion writes (`--quantize a,b,…`, default `none`): `none` → the manifest's
// `fp32` variant, `fp16`, `int8`, `q4` (float32 activations: WASM, or WebGPU without shader-f16) and `q4f16` (the
// same 4-bit weights with float16 activations: WebGPU with shader-f16). q4 and q4f16 fill the manifest's one `q4`
// slot, so a bundle holds one of them; q4f16's file says it needs shader-f16 (`requires`). The writers are in
// scripts/convert/quantize/.
import type { DeviceFeature, Variant } from '../../src/shared/bundle';
import { ConvertError } from './errors';

export type QuantizeOption = 'none' | 'fp16' | 'int8' | 'q4' | 'q4f16';
const KNOWN: readonly QuantizeOption[] = ['none', 'fp16', 'int8', 'q4', 'q4f16'];
export const VARIANT_OF: Record<QuantizeOption, Variant> = { none: 'fp32', fp16: 'fp16', int8: 'int8', q4: 'q4', q4f16: 'q4' };
/** Device features each option's file declares (manifest `requires`; absent = the variant's default). */
export const REQUIRES: Partial<Record<QuantizeOption, DeviceFeature[]>> = { q4f16: ['shader-f16'] };

/** Parses `--quantize a,b,…` (default `none`); `none` (the float32 source of the others) is always written first. */
/** Also parses `--encoder-quantize` (flag 'encoder-quantize', its own default): the profile encoder's variants, same names. */
export function parseQuantize(arg: string | undefined, flag = 'quantize', dflt: QuantizeOption = 'none'): QuantizeOption[] {
  const list = (arg ?? dflt).split(',').map((s) => s.trim()).filter(Boolean);
  if (!list.length) throw new ConvertError(`--${flag} needs at least one of none, fp16, int8, q4, q4f16`);
  for (const q of list) if (!KNOWN.includes(q as QuantizeOption)) throw new ConvertError(`--${flag} ${q}: unknown variant (none, fp16, int8, q4, q4f16)`);
  if (list.includes('q4') && list.includes('q4f16')) throw new ConvertError(`--${flag} q4 and q4f16 both fill the bundle's one q4 variant; choose one`);
  const set = [...new Set(list)] as QuantizeOption[];
  return set.includes('none') ? ['none', ...set.filter((q) => q !== 'none')] : set;
}
