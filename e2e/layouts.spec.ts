// Public export layouts in the browser (issue 27 item 3): a plain Optimum/diffusers folder whose weights are in
// files named by each .onnx — `weights.pb` for the U-Net, a custom name for the VAE decoder (fixtures/layouts/named,
// made with python's onnx.save_model) — imports through the folder picker and generates a picture; the fp16 layout
// (an Optimum `--dtype fp16` export) is refused on WebGPU without shader-f16 (SwiftShader here) with an f16 error,
// never run into zeros, and runs on WASM (which computes float16 itself). Folders are assembled from the committed fixtures (tests/helpers/layouts.ts).
import { expect, test } from '@playwright/test';
import { assembleLayout, removeLayout } from '../tests/helpers/layouts';
import { chooseNoProfile, generateImage, pixelDiff, resultPixels, SLOW, watchConsole } from './helpers';
import { goTo } from './pages/screens';

const made: string[] = [];
test.afterAll(() => made.forEach(removeLayout));

test('a folder whose weights are weights.pb and a custom name imports and generates; fp16 is refused on WebGPU without shader-f16 and runs on WASM', async ({ page }) => {
  const problems = watchConsole(page);
  const named = assembleLayout('named', 'named-export');
  const fp16 = assembleLayout('fp16', 'fp16-export');
  made.push(named, fp16);
  await page.goto('/');
  await chooseNoProfile(page);
  await goTo(page, 'settings');
  await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });

  await page.getByTestId('bundle.import').setInputFiles(named);
  await expect(page.getByTestId('bundle.notice')).toContainText('(folder named-export) was imported and checked', { timeout: SLOW });
  const item = page.locator('[data-testid="bundle.item"][data-key^="import-named-export@sha-"]');
  await expect(item).toHaveAttribute('data-status', 'complete');
  await expect(item.getByTestId('bundle.use')).toHaveText('In use', { timeout: SLOW });
  await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });

  await generateImage(page, { seed: 3, steps: 2 });
  const px = await resultPixels(page);
  const rgb = px.filter((_, i) => i % 4 !== 3);
  expect(Math.max(...rgb) - Math.min(...rgb)).toBeGreaterThan(50); // a picture, not a flat fill

  // The fp16 export on WebGPU (SwiftShader: no shader-f16): the import's check refuses it by name, nothing is kept.
  await goTo(page, 'settings');
  await page.getByTestId('engine.backend-choice').selectOption('webgpu');
  await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
  await expect(page.getByTestId('engine.backend')).toHaveAttribute('data-backend', 'webgpu');
  await page.getByTestId('bundle.import').setInputFiles(fp16);
  await expect(page.getByTestId('bundle.error')).toContainText(/text_encoder\/model\.onnx is a float16 \(fp16\) model .* lacks shader-f16/, { timeout: SLOW });
  await expect(page.getByTestId('bundle.error')).toHaveAttribute('data-code', 'BACKEND_INIT_FAILED');
  await expect(page.locator('[data-testid="bundle.item"][data-key^="import-fp16-export@"]')).toHaveCount(0);

  // The same fp16 export on WASM, which computes float16 itself: imported, checked and generating.
  await page.getByTestId('engine.backend-choice').selectOption('wasm');
  await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
  await page.getByTestId('bundle.import').setInputFiles(fp16);
  await expect(page.getByTestId('bundle.notice')).toContainText('(folder fp16-export) was imported and checked', { timeout: SLOW });
  await expect(page.locator('[data-testid="bundle.item"][data-key^="import-fp16-export@"]').getByTestId('bundle.use')).toHaveText('In use', { timeout: SLOW });
  await generateImage(page, { seed: 3, steps: 2 });
  const halfPx = await resultPixels(page);
  const half = halfPx.filter((_, i) => i % 4 !== 3);
  expect(Math.max(...half) - Math.min(...half)).toBeGreaterThan(50);
  // Same weights in float16, same seed: close to the float32 picture (a misread float16 output gave a flat one).
  const d = pixelDiff(halfPx, px);
  console.log(`fp16 vs fp32 layout on WASM: max ${d.max}, mean ${d.mean.toFixed(2)}`);
  expect(d.mean).toBeLessThan(4);
  await expect(page.getByTestId('result.meta')).toContainText('wasm');
  expect(problems.problems.filter((p) => !/float16|shader-f16/.test(p))).toEqual([]);
});
