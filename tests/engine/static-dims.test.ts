// The manifest's static dimensions (component `staticDims`) reach ORT as `freeDimensionOverrides`: the pure options
// builder, and the whole path manifest → resolveBundle → loadModels → InferenceSession.create on a copy of the demo
// bundle. onnxruntime-node does not apply freeDimensionOverrides (its binding ignores the option; onnxruntime-web
// does), so the loading test checks the options ORT is handed, through a recording wrapper around the real ORT.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveBundle } from '../../src/engine/bundle-resolve';
import { loadModels, releaseModels } from '../../src/engine/models';
import { fsReader } from '../../src/engine/node-reader';
import type { InferenceSession, OrtLike } from '../../src/engine/ort-types';
import { directSerial, sessionOptions, type Runtime } from '../../src/engine/sessions';
import type { BundleManifest } from '../../src/shared/bundle';
import { DEMO, ensureDemoBundles } from '../helpers/bundles';

describe('sessionOptions', () => {
  it('passes static dims as freeDimensionOverrides', () => {
    const o = sessionOptions({ backend: 'webgpu' }, { staticDims: { batch: 2, height: 64, width: 64 } });
    expect(o.freeDimensionOverrides).toEqual({ batch: 2, height: 64, width: 64 });
    expect(o.executionProviders).toEqual(['webgpu']);
  });
  it('sets no overrides when the manifest declares none', () => {
    expect(sessionOptions({ backend: 'wasm' }, {}).freeDimensionOverrides).toBeUndefined();
    expect(sessionOptions({ backend: 'wasm' }, { staticDims: {} }).freeDimensionOverrides).toBeUndefined();
  });
  it("lets the runtime's own overrides win for the same dimension", () => {
    const o = sessionOptions({ backend: 'cpu', sessionOptions: { freeDimensionOverrides: { batch: 1 } } }, { staticDims: { batch: 2, steps: 1 } });
    expect(o.freeDimensionOverrides).toEqual({ batch: 1, steps: 1 });
  });
});

describe('loading a bundle whose manifest declares static dims', () => {
  let dir: string;
  const created: { file: string; options?: InferenceSession.SessionOptions }[] = [];
  beforeAll(async () => {
    await ensureDemoBundles();
    dir = mkdtempSync(path.join(os.tmpdir(), 'psa-static-dims-'));
    cpSync(DEMO, dir, { recursive: true });
    const m = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as BundleManifest;
    // The demo renders 64×64 (latents 8×8) with CFG (batch 2); the demo U-Net names those dims batch/height/width.
    m.components.unet!.staticDims = { batch: 2, height: 8, width: 8 };
    m.components.text_encoder!.staticDims = { batch: 2 };
    writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(m));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates each session with its own component’s overrides and none for the others', async () => {
    const recording: OrtLike = {
      ...(ort as unknown as OrtLike),
      InferenceSession: {
        create: async (bytes: Uint8Array, options?: InferenceSession.SessionOptions) => {
          const s = await (ort as unknown as OrtLike).InferenceSession.create(bytes, options);
          created.push({ file: s.inputNames.join(','), options });
          return s;
        },
      } as unknown as OrtLike['InferenceSession'],
    };
    const rt: Runtime = { ort: recording, backend: 'cpu', serial: directSerial };
    const reader = fsReader(dir);
    const bundle = await resolveBundle(reader);
    expect(bundle.staticDims).toEqual({ unet: { batch: 2, height: 8, width: 8 }, text_encoder: { batch: 2 } });
    const models = await loadModels(rt, reader, bundle);
    try {
      const byInputs = (name: string) => created.find((c) => c.file.split(',').includes(name))?.options;
      expect(byInputs('sample')?.freeDimensionOverrides).toEqual({ batch: 2, height: 8, width: 8 });
      expect(byInputs('input_ids')?.freeDimensionOverrides).toEqual({ batch: 2 });
      expect(byInputs('latent_sample')).toBeDefined();
      expect(byInputs('latent_sample')?.freeDimensionOverrides).toBeUndefined();
      expect(byInputs('user_embeds')?.freeDimensionOverrides).toBeUndefined();
    } finally {
      await releaseModels(models);
    }
  });
});
