// The generate form's size (src/ui/lib/form-size.ts): a kept size the model makes is used; one it does not make
// (another model's, from the gallery) gives way to the model's own size and is reported.
import { describe, expect, it } from 'vitest';
import { SD15_SIZES } from '../../src/shared/image-size';
import { formSize } from '../../src/ui/lib/form-size';

describe('the form\'s size', () => {
  const model = { width: 512, height: 512 };
  it('nothing kept: the model\'s own', () => expect(formSize(undefined, SD15_SIZES, model)).toEqual(model));
  it('a kept size the model makes is used', () => expect(formSize({ width: 768, height: 512 }, SD15_SIZES, model)).toEqual({ width: 768, height: 512 }));
  it('one it does not make gives way, and is named', () => {
    expect(formSize({ width: 96, height: 64 }, SD15_SIZES, model)).toEqual({ width: 512, height: 512, misfit: { width: 96, height: 64 } });
    expect(formSize({ width: 512, height: 1024 }, SD15_SIZES, model).misfit).toEqual({ width: 512, height: 1024 });
  });
});
