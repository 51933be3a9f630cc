// The bundle `npm run convert` writes, in the app as a person would use it: the tiny fixtures (the diffusers-exported
// plain U-Net with external data, PSA's fixture adapter widened to the tiny profile encoder's width, that encoder cut
// into layer groups) are converted on the Node side, the output folder is imported through the Models panel's
// folder input, the engine's contract check accepts it and makes it the active model, a profile's PSA user token is
// computed on the device from the bundle's encoder, and a picture is generated for that profile — on the default
// backend (WASM over SwiftShader) and on forced WebGPU. The same seed with no profile gives another picture: the
// grafted user token really steers the U-Net. No console errors throughout.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { convert } from '../scripts/convert/bundle';
import { adapterWithE32 } from '../tests/convert/adapter-e32';
import { makeSd15, tmpDir } from '../tests/convert/helpers';
import { chooseNoProfile, createProfile, generateImage, pixelDiff, resultPixels, ROOT, SLOW, watchConsole, moreOptions } from './helpers';
import { goTo } from './pages/screens';

const ENCODER = path.join(ROOT, 'fixtures', 'profile-encoder');

let tmp: string;
let bundleDir: string;
let bundleKey: string;
test.beforeAll(() => {
  tmp = tmpDir('psa-convert-import-');
  const psa = path.join(tmp, 'psa_adapter.safetensors');
  adapterWithE32(psa);
  // Small external-data files, so the import also carries a U-Net and encoder groups split over several files.
  const r = convert({
    sd15: makeSd15(tmp, 'unet-external'),
    psa,
    out: path.join(tmp, 'psa-tiny'),
    profileEncoder: ENCODER,
    encoderGroupBytes: 20_000,
    chunkBytes: 64_000,
  });
  bundleDir = r.dir;
  bundleKey = `${r.manifest.id}@${r.manifest.version}`;
});
test.afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ready = (page: Page) => expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });

async function generate(page: Page): Promise<number[]> {
  await generateImage(page);
  return resultPixels(page);
}

test('a converted PSA bundle imports from its folder, embeds a profile on the device and generates with it (WASM and WebGPU)', async ({ page }) => {
  const console = watchConsole(page);
  await page.goto('/#settings'); // Models and engine: open (no lock), even before anyone is chosen
  await ready(page);

  await page.getByTestId('bundle.import').setInputFiles(bundleDir);
  await expect(page.getByTestId('bundle.notice')).toContainText('was imported and checked', { timeout: SLOW });
  const item = page.locator(`[data-testid="bundle.item"][data-key="${bundleKey}"]`);
  await expect(item).toHaveAttribute('data-status', 'complete');
  await expect(item.getByTestId('bundle.use')).toHaveText('In use');
  await ready(page);
  await expect(page.getByTestId('bundle.name')).toContainText('personalized safety (PSA)');

  // An adult profile (not protected: no PIN needed to switch away from it below).
  const id = await createProfile(page, 'adult', { name: 'Ada', protected: false });
  await page.getByTestId('profile.select').selectOption(id);
  await goTo(page, 'home');
  // 'ready', not 'unsupported': the bundle's own layer-group encoder computed the user token.
  await expect(page.getByTestId('generate.embedding')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });

  await page.getByTestId('generate.prompt').fill('a lighthouse at dusk');
  await moreOptions(page);
  await page.getByTestId('generate.seed').fill('7');
  await page.getByTestId('generate.steps').fill('3');
  const withProfile = await generate(page);
  await expect(page.getByTestId('result.meta')).toContainText('wasm');
  await expect(page.getByTestId('result.profile')).toHaveText('Made for Ada');

  // Same seed, no profile: the zero user token gives a different picture.
  await page.getByTestId('profile.select').selectOption('');
  await expect(page.getByTestId('generate.embedding')).toHaveAttribute('data-status', 'none');
  const without = await generate(page);
  await expect(page.getByTestId('result.profile')).toHaveText('Made with no profile');
  expect(without.length).toBe(withProfile.length);
  expect(pixelDiff(withProfile, without).max).toBeGreaterThan(0);

  // The same bundle on forced WebGPU (SwiftShader here), for the profile again (its token now from the cache).
  await goTo(page, 'settings');
  await page.getByTestId('engine.backend-choice').selectOption('webgpu');
  await ready(page);
  await expect(page.getByTestId('engine.backend')).toHaveAttribute('data-backend', 'webgpu');
  await goTo(page, 'home');
  await page.getByTestId('profile.select').selectOption(id);
  await expect(page.getByTestId('generate.embedding')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
  const onGpu = await generate(page);
  await expect(page.getByTestId('result.meta')).toContainText('webgpu');
  await expect(page.getByTestId('result.profile')).toHaveText('Made for Ada');
  // WebGPU and WASM run the same graph: the pictures agree to a level or two (float kernels differ slightly).
  expect(pixelDiff(onGpu, withProfile).max).toBeLessThanOrEqual(2);

  await expect(page.getByTestId('error')).toHaveCount(0);
  expect(console.problems).toEqual([]);
});

/** Opens the app's Models screen, imports the converted bundle into this context's OPFS and waits until it runs. */
async function importBundle(page: Page): Promise<void> {
  await page.goto('/#settings');
  await ready(page);
  await page.getByTestId('bundle.import').setInputFiles(bundleDir);
  await expect(page.getByTestId('bundle.notice')).toContainText('was imported and checked', { timeout: SLOW });
  await ready(page);
  await expect(page.getByTestId('bundle.name')).toContainText('personalized safety (PSA)');
  // Then Home, as a person with no profile (the first-run question answered).
  await page.goto('/');
  await chooseNoProfile(page);
  await ready(page);
}

test('onnxruntime-web build: JSPI where the browser has it (the OPFS File as external data), asyncify elsewhere (RangedBytes); the same picture from both', async ({ page, browser }) => {
  // This Chromium has JSPI, so the app runs ORT's JSPI build; external data (the U-Net's 64 kB chunks) is read by
  // ORT from the stored File. A browser without it runs the asyncify build: played here by naming the engine worker
  // "ort-asyncify" (engine/ort-web.ts), in a second context with its own storage.
  expect(await page.evaluate(() => typeof (WebAssembly as unknown as { Suspending?: unknown }).Suspending)).toBe('function');
  const problems = watchConsole(page);
  await importBundle(page);
  await expect(page.getByTestId('engine.backend')).toHaveAttribute('data-ort-build', 'jspi');
  await generateImage(page, { seed: 11, steps: 3 });
  const jspi = await resultPixels(page);

  const other = await browser.newContext({ baseURL: test.info().project.use.baseURL });
  try {
    const page2 = await other.newPage();
    await page2.addInitScript(() => {
      const W = window.Worker;
      window.Worker = class extends W {
        constructor(url: string | URL, opts?: WorkerOptions) {
          super(url, opts?.name === 'psa-engine' ? { ...opts, name: 'psa-engine ort-asyncify' } : opts);
        }
      };
    });
    const problems2 = watchConsole(page2);
    await importBundle(page2);
    await expect(page2.getByTestId('engine.backend')).toHaveAttribute('data-ort-build', 'asyncify');
    await generateImage(page2, { seed: 11, steps: 3 });
    const asyncify = await resultPixels(page2);
    expect(asyncify.length).toBe(jspi.length);
    // One ORT source, the same WASM kernels and thread count: the builds differ only in how they suspend.
    expect(pixelDiff(asyncify, jspi).max).toBe(0);
    expect(problems2.problems).toEqual([]);
  } finally {
    await other.close();
  }
  expect(problems.problems).toEqual([]);
});
