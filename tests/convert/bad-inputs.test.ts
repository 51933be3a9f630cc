// Bad inputs: each gives one specific line (naming the file, folder or first layer at fault) and writes nothing —
// neither --out nor a leftover temp folder next to it. Also run once through the real CLI (exit code, stderr).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convert, type ConvertOptions } from '../../scripts/convert/bundle';
import { ConvertError } from '../../scripts/convert/errors';
import { FIX, makeSd15, ROOT, tmpDir } from './helpers';

let tmp: string;
let sd15: string;
beforeAll(() => {
  tmp = tmpDir('convert-bad-');
  sd15 = makeSd15(tmp, 'unet-external');
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs convert in a fresh parent folder; returns the error message and checks nothing was written there. */
function fails(opts: Partial<ConvertOptions>): string {
  const parent = path.join(tmp, `case-${Math.random().toString(36).slice(2)}`);
  mkdirSync(parent);
  const out = path.join(parent, 'bundle');
  let err: unknown;
  try {
    convert({ sd15, psa: path.join(FIX, 'psa_adapter.bin'), out, ...opts });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConvertError);
  const msg = (err as Error).message;
  expect(msg.split('\n')).toHaveLength(1);
  expect(existsSync(out)).toBe(false);
  expect(readdirSync(parent)).toEqual([]);
  return msg;
}

describe('npm run convert refuses bad inputs', () => {
  it('a truncated .bin', () => {
    expect(fails({ psa: path.join(FIX, 'bad', 'truncated.bin') })).toBe('truncated.bin is truncated or not a zip archive (no end-of-central-directory record)');
  });

  it('an SDXL-shaped checkpoint, naming the first layer that differs', () => {
    expect(fails({ psa: path.join(FIX, 'bad', 'sdxl_shaped.bin') })).toBe(
      'sdxl_shaped.bin does not fit unet/model.onnx at layer 0 (down_blocks.0.attentions.0.transformer_blocks.0.attn2): to_v_user.0.weight is [24, 32], the layer needs [16, 16] (a checkpoint for another model, e.g. SDXL?)',
    );
  });

  it('a checkpoint whose width differs at a later layer, or with one layer too many', () => {
    expect(fails({ psa: path.join(FIX, 'bad', 'wrong_width.bin') })).toMatch(/^wrong_width\.bin does not fit unet\/model\.onnx at layer 2 \(up_blocks\.1\.attentions\.1\.transformer_blocks\.0\.attn2\): to_v_user\.0\.weight is \[24, 16\], the layer needs \[16, 16\]/);
    expect(fails({ psa: path.join(FIX, 'bad', 'extra_layer.bin') })).toMatch(/^extra_layer\.bin does not fit unet\/model\.onnx at layer 4: the checkpoint has 5 PSA processors, the U-Net only 4 cross-attention layers/);
  });

  it('a U-Net without cross-attention', () => {
    const noCross = makeSd15(tmp, 'unet-no-cross-attention');
    expect(fails({ sd15: noCross })).toMatch(/^unet\/model\.onnx has no cross-attention layers \(no …\/attn2\/to_out\.0 node\)/);
  });

  it('a missing component folder', () => {
    const missing = makeSd15(path.join(tmp, 'm'), 'unet', ['vae_decoder']);
    expect(fails({ sd15: missing })).toMatch(/^--sd15 .*: vae_decoder\/ is missing \(an Optimum SD1\.5 export has/);
  });

  it('external data that is gone or cut short', () => {
    const d = makeSd15(path.join(tmp, 'e'), 'unet-external');
    spawnSync('truncate', ['-s', '1000', path.join(d, 'unet', 'model.onnx_data')]);
    expect(fails({ sd15: d })).toMatch(/^unet\/model\.onnx: model\.onnx_data is truncated \(initializer .* ends at byte \d+ of 1000\)$/);
  });

  it('an unknown or conflicting --quantize list, and an existing --out', () => {
    expect(fails({ quantize: 'none,q4,q4f16' })).toBe('--quantize q4 and q4f16 both fill the bundle\'s one q4 variant; choose one');
    expect(fails({ quantize: 'q8' })).toBe('--quantize q8: unknown variant (none, fp16, int8, q4, q4f16)');
    expect(() => convert({ sd15, psa: path.join(FIX, 'psa_adapter.bin'), out: FIX })).toThrow(/already exists; choose a new folder/);
  });

  it('a profile encoder whose hidden size is not the adapter\'s embedding size', () => {
    const enc = path.join(ROOT, 'fixtures', 'profile-encoder'); // tiny Qwen2, hidden 32; the fixture adapter takes E = 20
    expect(fails({ profileEncoder: enc })).toBe(`--profile-encoder ${enc}: hidden_size 32 ≠ the adapter's embedding size 20`);
  });

  it('through the CLI: exit 1 and one "convert: …" line on stderr', () => {
    const out = path.join(tmp, 'cli-out');
    const r = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'scripts/convert.ts'), '--sd15', sd15, '--psa', path.join(FIX, 'bad', 'truncated.bin'), '--out', out], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe('convert: truncated.bin is truncated or not a zip archive (no end-of-central-directory record)');
    expect(existsSync(out)).toBe(false);
    const u = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), path.join(ROOT, 'scripts/convert.ts'), '--sd15', sd15], { cwd: ROOT, encoding: 'utf8' });
    expect(u.status).toBe(2);
    expect(u.stderr.split('\n')[0]).toBe('convert: --psa is required');
  });
});
