// The contract validator on hand-written session metadata (the real-model cases live in tests/models), the
// error mapping that crosses the worker, and the protocol's terminal events.
import { describe, expect, it } from 'vitest';
import { validateModelIO } from '../../src/shared/contract';
import { AppError, toErrorInfo } from '../../src/shared/errors';
import { isTerminal } from '../../src/shared/protocol';

const unet = {
  inputs: [
    { name: 'sample', isTensor: true, type: 'float32', shape: ['batch', 4, 'h', 'w'] },
    { name: 'timestep', isTensor: true, type: 'int64', shape: ['steps'] },
    { name: 'encoder_hidden_states', isTensor: true, type: 'float32', shape: ['batch', 77, 768] },
  ],
  outputs: [{ name: 'out_sample', isTensor: true, type: 'float32', shape: ['batch', 4, 'h', 'w'] }],
};

describe('validateModelIO', () => {
  it('accepts an Optimum-style SD1.5 U-Net (psa_scale optional)', () => {
    expect(validateModelIO('unet', unet)).toEqual([]);
  });
  it('names role, file, tensor and expectation for each kind of mismatch', () => {
    const wrongType = { ...unet, inputs: unet.inputs.map((i) => (i.name === 'timestep' ? { ...i, type: 'int32' } : i)) };
    expect(validateModelIO('unet', wrongType, 'unet/model.onnx')[0].message).toBe('unet (unet/model.onnx) input `timestep` has type int32; expected int64 or float32 or float16');
    const wrongChannels = { ...unet, inputs: unet.inputs.map((i) => (i.name === 'sample' ? { ...i, shape: ['b', 9, 'h', 'w'] } : i)) };
    expect(validateModelIO('unet', wrongChannels)[0].message).toMatch(/input `sample` has size 9 on axis 1; expected 4/);
    const extra = { ...unet, inputs: [...unet.inputs, { name: 'controlnet_cond', isTensor: true, type: 'float32', shape: [1] }] };
    expect(validateModelIO('unet', extra)[0].message).toMatch(/unexpected input `controlnet_cond`/);
    const noOut = { ...unet, outputs: [] };
    expect(validateModelIO('unet', noOut)[0].message).toMatch(/has no output `out_sample`/);
    const ids = { inputs: [{ name: 'input_ids', isTensor: true, type: 'int64', shape: ['batch', 64] }], outputs: [{ name: 'last_hidden_state', isTensor: true, type: 'float32', shape: ['b', 64, 768] }] };
    expect(validateModelIO('text_encoder', ids)[0].message).toMatch(/input `input_ids` has size 64 on axis 1; expected 77/);
  });
});

describe('errors across the worker', () => {
  it('keeps codes of AppErrors and of plain {code,message} objects, classifies the rest', () => {
    expect(toErrorInfo(new AppError('BUSY', 'x'))).toEqual({ code: 'BUSY', message: 'x' });
    expect(toErrorInfo({ code: 'CANCELLED', message: 'stop' })).toEqual({ code: 'CANCELLED', message: 'stop' });
    expect(toErrorInfo(new Error("Failed to execute 'mapAsync' on 'GPUBuffer': The Device was lost")).code).toBe('DEVICE_LOST');
    expect(toErrorInfo(new RangeError('Array buffer allocation failed')).code).toBe('OUT_OF_MEMORY');
    expect(toErrorInfo('weird')).toEqual({ code: 'INTERNAL', message: 'weird' });
  });
  it('marks exactly the terminal events', () => {
    expect(isTerminal({ type: 'step', id: 'a', info: { step: 1, total: 2, elapsedMs: 0 } })).toBe(false);
    expect(isTerminal({ type: 'load-progress', id: 'a', file: 'f', loaded: 1, total: 2 })).toBe(false);
    expect(isTerminal({ type: 'notice', id: 'a', code: 'X', message: 'y' })).toBe(false);
    for (const t of ['cancelled', 'done'] as const) expect(isTerminal({ type: t, id: 'a' })).toBe(true);
    expect(isTerminal({ type: 'error', id: 'a', error: { code: 'INTERNAL', message: '' } })).toBe(true);
  });
});
