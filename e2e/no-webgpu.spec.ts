// Without a WebGPU adapter (Chromium without --enable-unsafe-webgpu has navigator.gpu but no adapter here), the
// app falls back to WASM, says why in plain words, and still generates.
import { test, expect } from '@playwright/test';
import { chooseNoProfile, SLOW, moreOptions } from './helpers';

test.use({
  launchOptions: {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  },
});

test('the shell falls back to WASM, says why, and still generates', async ({ page }) => {
  await page.goto('/');
  await chooseNoProfile(page);
  await expect(page.getByTestId('engine.status')).toHaveAttribute('data-status', 'ready', { timeout: SLOW });
  await expect(page.getByTestId('engine.backend')).toHaveAttribute('data-backend', 'wasm');
  await expect(page.getByTestId('engine.backend')).toContainText(/WASM.*no adapter/);
  await moreOptions(page);
  await page.getByTestId('generate.steps').fill('2');
  await page.getByTestId('generate.submit').click();
  await expect(page.getByTestId('result.meta')).toContainText('wasm', { timeout: SLOW });
});
