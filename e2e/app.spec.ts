// The app shell as a person meets it: it starts, says what it runs on (WebGPU adapter or WASM) and which model is
// active, generates a picture from the built-in demo bundle, and makes no request outside its own origin.
import { test, expect } from '@playwright/test';

test('shell shows backend and demo bundle, generates, and stays on its own origin', async ({ page, baseURL }) => {
  const foreign: string[] = [];
  page.context().on('request', (r) => {
    const u = r.url();
    if (!u.startsWith(baseURL!) && !u.startsWith('data:') && !u.startsWith('blob:')) foreign.push(u);
  });
  await page.goto('/');
  await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready');
  await expect(page.getByTestId('engine.backend')).toHaveAttribute('data-backend', 'webgpu');
  await expect(page.getByTestId('engine.backend')).toContainText(/WebGPU.*swiftshader.*fp32 only/i);
  await expect(page.getByTestId('bundle.name')).toHaveAttribute('data-bundle-id', /demo/);
  await expect(page.getByTestId('bundle.name')).toContainText('PSA');
  await page.getByTestId('generate.steps').fill('4');
  await page.getByTestId('generate.submit').click();
  await expect(page.getByTestId('result.image')).toHaveAttribute('data-has-image', 'yes');
  await expect(page.getByTestId('result.meta')).toContainText('webgpu');
  await expect(page.getByTestId('error')).toHaveCount(0);
  expect(foreign).toEqual([]);
});

test('Stop ends a generation early, says so, and the next one works', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready');
  await page.getByTestId('generate.steps').fill('40');
  await page.getByTestId('generate.submit').click();
  await expect(page.getByTestId('generate.progress')).toBeVisible();
  await expect.poll(async () => Number(await page.getByTestId('generate.progress').getAttribute('value'))).toBeGreaterThanOrEqual(1);
  await page.getByTestId('generate.cancel').click();
  await expect(page.getByTestId('notice')).toHaveText('Stopped.');
  await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready');
  await expect(page.getByTestId('result.image')).toHaveAttribute('data-has-image', 'no');
  await page.getByTestId('generate.steps').fill('2');
  await page.getByTestId('generate.submit').click();
  await expect(page.getByTestId('result.image')).toHaveAttribute('data-has-image', 'yes');
  await expect(page.getByTestId('notice')).toHaveCount(0);
});
