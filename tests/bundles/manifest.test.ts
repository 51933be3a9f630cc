// Manifest format 2: the generator writes it, the validator checks it (and agrees with bundle.schema.json on the
// required fields), format-1 manifests migrate and still resolve, variant choice and the download file list.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  WASM_MODEL_BYTES, checkManifest, chooseVariants, filesToFetch, migrateManifest, restrictVariants, type BundleManifest, type BundleManifestV1, type DeviceFeature,
} from '../../src/shared/bundle';
import schema from '../../src/shared/bundle.schema.json';
import { resolveBundle } from '../../src/engine/bundle-resolve';
import { fsReader } from '../../src/engine/node-reader';
import { buildBundles } from '../../scripts/models/bundle';

let root: string;
let demo: BundleManifest;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'psa-manifest-'));
  buildBundles({ outDir: root, bundles: ['demo'] });
  demo = JSON.parse(readFileSync(join(root, 'demo', 'manifest.json'), 'utf8'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

/** Turns a format-2 manifest back into what format 1 looked like. */
function asV1(m: BundleManifest): BundleManifestV1 {
  const { files: _f, provenance: _p, license, ...rest } = clone(m);
  return { ...rest, formatVersion: 1, license: license.name };
}

describe('format 2', () => {
  it('the generator writes a format-2 manifest that passes and lists every file with size and hash', () => {
    expect(demo.formatVersion).toBe(2);
    expect(checkManifest(demo)).toEqual([]);
    expect(demo.license.text).toContain('MIT License');
    expect(demo.provenance.createdBy).toMatch(/scripts\/models/);
    const paths = demo.files.map((f) => f.path);
    expect(paths).not.toContain('manifest.json');
    for (const p of ['tokenizer/tokenizer.json', 'unet/model.onnx', 'unet/model.int8.onnx', 'psa/embedding_template.txt', 'model_index.json']) expect(paths).toContain(p);
    for (const f of demo.files) expect(readFileSync(join(root, 'demo', f.path)).length).toBe(f.bytes);
  });

  it('every field the schema requires is required by the validator too', () => {
    expect(schema.required.length).toBeGreaterThan(5);
    for (const key of schema.required) {
      const m = clone(demo) as unknown as Record<string, unknown>;
      delete m[key];
      expect(checkManifest(m).join('\n'), key).toMatch(new RegExp(key));
    }
  });

  it('names the field at fault: missing hash, bad hash, path escaping the bundle, unlisted model, unknown variant', () => {
    const noHash = clone(demo);
    delete noHash.files[0].sha256;
    expect(checkManifest(noHash).join()).toMatch(/manifest\.files\[0\]\.sha256 must be 64 lower-case hex/);
    const upper = clone(demo);
    upper.components.unet.variants.fp32!.sha256 = upper.components.unet.variants.fp32!.sha256!.toUpperCase();
    expect(checkManifest(upper).join()).toMatch(/variants\.fp32\.sha256/);
    const escape = clone(demo);
    escape.files[0].path = '../../etc/passwd';
    expect(checkManifest(escape).join()).toMatch(/relative path inside the bundle/);
    const unlisted = clone(demo);
    unlisted.files = unlisted.files.filter((f) => f.path !== 'unet/model.int8.onnx');
    expect(checkManifest(unlisted).join()).toMatch(/unet\/model\.int8\.onnx .* not listed in manifest\.files/);
    const variant = clone(demo) as unknown as { components: { unet: { variants: Record<string, unknown> } } };
    variant.components.unet.variants.bf16 = demo.components.unet.variants.fp32;
    expect(checkManifest(variant).join()).toMatch(/variants\.bf16: unknown variant/);
    const dims = clone(demo);
    dims.components.unet.staticDims = { batch_size: 0 };
    expect(checkManifest(dims).join()).toMatch(/staticDims/);
    const future = clone(demo) as unknown as { formatVersion: number };
    future.formatVersion = 3;
    expect(checkManifest(future).join()).toMatch(/formatVersion must be 1 or 2/);
  });
});

describe('format 1 → 2 migration', () => {
  it('a format-1 manifest passes the check and migrates: license name kept, model files inventoried with their hashes', () => {
    const v1 = asV1(demo);
    expect(checkManifest(v1)).toEqual([]);
    const m = migrateManifest(v1);
    expect(m.formatVersion).toBe(2);
    expect(m.license.name).toBe('MIT');
    expect(m.license.text).toMatch(/format-1/);
    expect(m.provenance.createdBy).toMatch(/format-1/);
    const models = Object.values(demo.components).flatMap((c) => Object.values(c!.variants).map((f) => f!.path));
    expect(models.length).toBeGreaterThanOrEqual(7);
    expect(m.files.map((f) => f.path).sort()).toEqual([...models, 'psa/embedding_template.txt'].sort());
    expect(m.files.find((f) => f.path === 'unet/model.onnx')?.sha256).toBe(demo.components.unet.variants.fp32!.sha256);
    expect(migrateManifest(demo)).toBe(demo);
  });

  it('a bundle folder with a format-1 manifest still resolves in the engine', async () => {
    const dir = join(root, 'v1');
    cpSync(join(root, 'demo'), dir, { recursive: true });
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(asV1(demo)));
    const r = await resolveBundle(fsReader(dir));
    expect(r.layout).toBe('manifest');
    expect(r.id).toBe(demo.id);
    expect(r.files.unet?.int8?.path).toBe('unet/model.int8.onnx');
    expect(r.psa?.userTokens).toBe(1);
  });
});

describe('variant choice and the download list', () => {
  const order = ['fp16', 'fp32', 'int8', 'q4'] as const;
  it('fp16 needs shader-f16; without it the next variant in order is chosen', () => {
    const m = clone(demo);
    m.components.unet.variants.fp16 = { ...m.components.unet.variants.fp32!, path: 'unet/model.fp16.onnx' };
    m.files.push({ path: 'unet/model.fp16.onnx', bytes: m.components.unet.variants.fp32!.bytes, sha256: m.components.unet.variants.fp32!.sha256 });
    expect(checkManifest(m)).toEqual([]);
    expect(chooseVariants(m, order, new Set<DeviceFeature>(['webgpu', 'shader-f16'])).unet).toBe('fp16');
    expect(chooseVariants(m, order, new Set<DeviceFeature>(['webgpu'])).unet).toBe('fp32');
    const onlyF16 = clone(m);
    onlyF16.components.unet.variants = { fp16: m.components.unet.variants.fp16 };
    expect(() => chooseVariants(onlyF16, order, new Set())).toThrow(/none of the unet variants \(fp16\)/);
  });

  it('on WASM a U-Net over WASM_MODEL_BYTES is passed over for one that fits; none fitting names the cap and the fix', () => {
    // SD1.5's sizes (measured at full size): fp32 3.44 GB in 4 external-data chunks, int8 0.86 GB.
    const m = clone(demo);
    const fp32 = m.components.unet.variants.fp32!;
    fp32.externalData = [0, 1, 2].map((i) => ({ path: `unet/model.onnx_data.${i}`, bytes: 1.1e9, sha256: 'a'.repeat(64) }));
    m.components.unet.variants.int8 = { ...m.components.unet.variants.int8!, bytes: 0.86e9 };
    const wasmOrder = ['fp32', 'int8', 'fp16', 'q4'] as const;
    expect(chooseVariants(m, wasmOrder, new Set()).unet).toBe('fp32'); // no cap: the order alone
    expect(chooseVariants(m, wasmOrder, new Set(), WASM_MODEL_BYTES).unet).toBe('int8');
    expect(chooseVariants(m, wasmOrder, new Set(), WASM_MODEL_BYTES).text_encoder).toBe('fp32'); // small models unchanged
    const onlyFp32 = clone(m);
    onlyFp32.components.unet.variants = { fp32 };
    expect(() => chooseVariants(onlyFp32, wasmOrder, new Set(), WASM_MODEL_BYTES))
      .toThrow(/larger than the 2 GiB .*fp32 3\.\d+ GB.*--quantize int8,q4/);
  });

  it('only the chosen variant\'s model files are fetched; everything else is', () => {
    const chosen = chooseVariants(demo, ['fp32', 'int8'], new Set());
    const list = filesToFetch(demo, chosen).map((f) => f.path);
    expect(list).toContain('unet/model.onnx');
    expect(list).not.toContain('unet/model.int8.onnx');
    expect(list).toContain('tokenizer/tokenizer.json');
    expect(list.length).toBe(demo.files.length - 1);
    const int8 = filesToFetch(demo, { ...chosen, unet: 'int8' }).map((f) => f.path);
    expect(int8).toContain('unet/model.int8.onnx');
    expect(int8).not.toContain('unet/model.onnx');
    const stored = restrictVariants(demo, chosen);
    expect(Object.keys(stored.components.unet.variants)).toEqual(['fp32']);
    expect(checkManifest(stored)).toEqual([]);
  });
});
